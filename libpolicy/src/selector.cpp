#include "axon/policy/selector.h"

#include <algorithm>
#include <tuple>

#include "axon/base/strings.h"

namespace axon::policy {

std::string_view operator_name(Operator op) {
  switch (op) {
    case Operator::in:
      return "In";
    case Operator::not_in:
      return "NotIn";
    case Operator::exists:
      return "Exists";
    case Operator::does_not_exist:
      return "DoesNotExist";
  }
  return "?";
}

bool matches(const Requirement& r, const LabelSet& labels) {
  switch (r.op) {
    case Operator::exists:
      return labels.has(r.source, r.key);
    case Operator::does_not_exist:
      return !labels.has(r.source, r.key);
    case Operator::in:
      for (const Label* l : labels.find(r.source, r.key)) {
        if (std::binary_search(r.values.begin(), r.values.end(), l->value)) return true;
      }
      return false;
    case Operator::not_in:
      for (const Label* l : labels.find(r.source, r.key)) {
        if (std::binary_search(r.values.begin(), r.values.end(), l->value)) return false;
      }
      return true;
  }
  return false;
}

bool matches(const Selector& s, const LabelSet& labels) {
  for (const auto& r : s.requirements) {
    if (!matches(r, labels)) return false;
  }
  return true;
}

void add_requirement(Selector& s, Requirement r) {
  std::sort(r.values.begin(), r.values.end());
  r.values.erase(std::unique(r.values.begin(), r.values.end()), r.values.end());
  auto less = [](const Requirement& a, const Requirement& b) {
    return std::tie(a.key, a.source, a.op, a.values) < std::tie(b.key, b.source, b.op, b.values);
  };
  auto it = std::lower_bound(s.requirements.begin(), s.requirements.end(), r, less);
  if (it != s.requirements.end() && *it == r) return;
  s.requirements.insert(it, std::move(r));
}

Requirement equals(std::string source, std::string key, std::string value) {
  return Requirement{std::move(source), std::move(key), Operator::in, {std::move(value)}};
}

Requirement exists(std::string source, std::string key) {
  return Requirement{std::move(source), std::move(key), Operator::exists, {}};
}

bool mentions(const Selector& s, std::string_view source, std::string_view key) {
  for (const auto& r : s.requirements) {
    if (r.key != key) continue;
    if (source == kSourceAny || r.source == source || r.source == kSourceAny) return true;
  }
  return false;
}

bool mentions_prefix(const Selector& s, std::string_view key_prefix) {
  return std::any_of(s.requirements.begin(), s.requirements.end(),
                     [&](const Requirement& r) { return r.key.starts_with(key_prefix); });
}

bool mentions_source(const Selector& s, std::string_view source) {
  return std::any_of(s.requirements.begin(), s.requirements.end(),
                     [&](const Requirement& r) { return r.source == source; });
}

std::string to_string(const Requirement& r) {
  std::string key = r.source == kSourceAny ? r.key : r.source + ":" + r.key;
  switch (r.op) {
    case Operator::exists:
      return key;
    case Operator::does_not_exist:
      return "!" + key;
    case Operator::in:
      if (r.values.size() == 1) return key + "=" + r.values.front();
      return key + " in (" + join(r.values, ", ") + ")";
    case Operator::not_in:
      return key + " notin (" + join(r.values, ", ") + ")";
  }
  return key;
}

std::string to_string(const Selector& s) {
  if (s.requirements.empty()) return "{}";
  std::vector<std::string> parts;
  for (const auto& r : s.requirements) parts.push_back(to_string(r));
  return join(parts, ", ");
}

}  // namespace axon::policy
