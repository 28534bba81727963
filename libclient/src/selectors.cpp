#include "axon/client/selectors.h"

#include <algorithm>
#include <optional>

#include "axon/base/strings.h"

namespace axon::client {
namespace {

const Json* field(const Json& o, const char* key) {
  if (!o.is_object()) return nullptr;
  auto it = o.find(key);
  return it == o.end() ? nullptr : &*it;
}

}  // namespace

std::string label_selector_mismatch(const Json& selector, const Json& labels) {
  auto label = [&](const std::string& k) -> std::optional<std::string> {
    if (!labels.is_object() || !labels.contains(k) || !labels[k].is_string()) return std::nullopt;
    return labels[k].get<std::string>();
  };
  if (const Json* ml = field(selector, "matchLabels"); ml != nullptr && ml->is_object()) {
    for (const auto& [k, v] : ml->items()) {
      if (!v.is_string()) continue;
      auto have = label(k);
      if (!have) return k + ": " + v.get<std::string>() + " is missing";
      if (*have != v.get<std::string>())
        return k + " is \"" + *have + "\", the selector wants \"" + v.get<std::string>() + "\"";
    }
  }
  if (const Json* me = field(selector, "matchExpressions"); me != nullptr && me->is_array()) {
    for (const auto& e : *me) {
      if (!e.is_object()) continue;
      const std::string key = e.value("key", "");
      const std::string op = e.value("operator", "");
      std::vector<std::string> values;
      if (e.contains("values") && e["values"].is_array()) {
        for (const auto& v : e["values"])
          if (v.is_string()) values.push_back(v.get<std::string>());
      }
      auto have = label(key);
      bool in = have && std::find(values.begin(), values.end(), *have) != values.end();
      if (op == "In" && !in) return key + " is not in (" + join(values, ", ") + ")";
      if (op == "NotIn" && in) return key + " is in (" + join(values, ", ") + ")";
      if (op == "Exists" && !have) return key + " does not exist";
      if (op == "DoesNotExist" && have) return key + " exists";
    }
  }
  return "";
}

bool label_selector_matches(const Json& selector, const Json& labels) {
  return label_selector_mismatch(selector, labels).empty();
}

}  // namespace axon::client
