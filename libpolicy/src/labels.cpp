#include "axon/policy/labels.h"

#include <algorithm>
#include <tuple>

#include "axon/base/strings.h"

namespace axon::policy {
namespace {

bool label_less(const Label& a, const Label& b) {
  return std::tie(a.key, a.source, a.value) < std::tie(b.key, b.source, b.value);
}

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// A DNS-1123 subdomain: lower-case alphanumerics, '-' and '.', starting and
// ending alphanumeric, at most 253 characters.
bool is_dns_subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  if (!is_alnum(s.front()) || !is_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
}

// A label name or value part: alphanumerics, '-', '_', '.', starting and
// ending alphanumeric, at most 63 characters.
bool is_label_name(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!is_alnum(s.front()) || !is_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; });
}

}  // namespace

const std::vector<std::string>& label_sources() {
  static const std::vector<std::string> kSources = {
      "k8s", "reserved", "any", "cidr", "fqdn", "container", "unspec", "kvstore",
      "cilium-generated"};
  return kSources;
}

std::string to_string(const Label& label) {
  std::string out = label.source + ":" + label.key;
  if (!label.value.empty()) out += "=" + label.value;
  return out;
}

LabelSet::LabelSet(std::vector<Label> labels) : labels_(std::move(labels)) {
  std::sort(labels_.begin(), labels_.end(), label_less);
  labels_.erase(std::unique(labels_.begin(), labels_.end()), labels_.end());
}

void LabelSet::add(Label label) {
  auto it = std::lower_bound(labels_.begin(), labels_.end(), label, label_less);
  if (it != labels_.end() && *it == label) return;
  labels_.insert(it, std::move(label));
}

std::vector<const Label*> LabelSet::find(std::string_view source, std::string_view key) const {
  std::vector<const Label*> out;
  auto it = std::lower_bound(labels_.begin(), labels_.end(), key,
                             [](const Label& l, std::string_view k) { return l.key < k; });
  for (; it != labels_.end() && it->key == key; ++it) {
    if (source == kSourceAny || it->source == source) out.push_back(&*it);
  }
  return out;
}

const Label* LabelSet::first(std::string_view source, std::string_view key) const {
  auto it = std::lower_bound(labels_.begin(), labels_.end(), key,
                             [](const Label& l, std::string_view k) { return l.key < k; });
  for (; it != labels_.end() && it->key == key; ++it) {
    if (source == kSourceAny || it->source == source) return &*it;
  }
  return nullptr;
}

bool LabelSet::operator<(const LabelSet& other) const {
  return std::lexicographical_compare(labels_.begin(), labels_.end(), other.labels_.begin(),
                                      other.labels_.end(), label_less);
}

std::string to_string(const LabelSet& labels, std::string_view separator) {
  std::vector<std::string> parts;
  parts.reserve(labels.size());
  for (const auto& l : labels.labels()) parts.push_back(to_string(l));
  return join(parts, separator);
}

void split_source(std::string_view text, std::string_view default_source, std::string& source,
                  std::string& key) {
  auto colon = text.find(':');
  if (colon != std::string_view::npos) {
    std::string prefix(text.substr(0, colon));
    const auto& sources = label_sources();
    if (std::find(sources.begin(), sources.end(), prefix) != sources.end()) {
      source = prefix;
      key = std::string(text.substr(colon + 1));
      return;
    }
  }
  source = std::string(default_source);
  key = std::string(text);
}

Result<Label> parse_label(std::string_view text, std::string_view default_source) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) return Error{"empty label"};
  Label label;
  std::string_view key_part = text;
  auto eq = text.find('=');
  if (eq != std::string_view::npos) {
    key_part = text.substr(0, eq);
    label.value = std::string(text.substr(eq + 1));
  }
  // A colon before any '=' separates the source; "cidr:10.0.0.0/8" keeps
  // its address whole because its source is known.
  auto colon = key_part.find(':');
  if (colon != std::string_view::npos) {
    std::string prefix(key_part.substr(0, colon));
    const auto& sources = label_sources();
    if (std::find(sources.begin(), sources.end(), prefix) == sources.end()) {
      return Error{"label \"" + std::string(text) + "\": unknown source \"" + prefix +
                   "\"; valid sources: " + join(sources, ", ")};
    }
    label.source = prefix;
    label.key = std::string(key_part.substr(colon + 1));
  } else {
    label.source = std::string(default_source);
    label.key = std::string(key_part);
  }
  if (label.source == kSourceAny) {
    return Error{"label \"" + std::string(text) +
                 "\": \"any\" is a selector source, not one an endpoint label can have"};
  }
  if (label.key.empty()) return Error{"label \"" + std::string(text) + "\": empty key"};
  return label;
}

Result<LabelSet> parse_labels(std::string_view text, std::string_view default_source) {
  LabelSet set;
  size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    auto part = text.substr(start, comma == std::string_view::npos ? std::string_view::npos
                                                                     : comma - start);
    auto label = parse_label(part, default_source);
    if (!label) return label.error();
    set.add(std::move(*label));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return set;
}

std::string check_label_key(std::string_view key) {
  if (key.empty()) return "empty label key";
  std::string_view name = key;
  auto slash = key.rfind('/');
  if (slash != std::string_view::npos) {
    auto prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (!is_dns_subdomain(prefix)) {
      return "label key \"" + std::string(key) + "\": prefix \"" + std::string(prefix) +
             "\" must be a DNS subdomain (lower-case letters, digits, '-' and '.')";
    }
  }
  if (!is_label_name(name)) {
    return "label key \"" + std::string(key) +
           "\": name must be 1-63 letters, digits, '-', '_' or '.', starting and ending with a "
           "letter or digit";
  }
  return {};
}

std::string check_label_value(std::string_view value) {
  if (value.empty()) return {};
  if (!is_label_name(value)) {
    return "label value \"" + std::string(value) +
           "\" must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a "
           "letter or digit";
  }
  return {};
}

}  // namespace axon::policy
