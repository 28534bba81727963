// Status conditions (metav1.Condition) as controllers keep them.
#pragma once

#include <string>

#include "axon/client/yaml.h"

namespace axon::client {

// conditions with `c` in place of the condition of its type; the transition
// time moves only when the status does.
inline Json with_condition(const Json& conditions, Json c, const std::string& now) {
  Json out = Json::array();
  bool placed = false;
  for (const auto& old : conditions.is_array() ? conditions : Json::array()) {
    if (!old.is_object() || old.value("type", "") != c["type"]) {
      out.push_back(old);
      continue;
    }
    c["lastTransitionTime"] = old.value("status", "") == c["status"]
                                  ? old.value("lastTransitionTime", now)
                                  : now;
    out.push_back(c);
    placed = true;
  }
  if (!placed) {
    c["lastTransitionTime"] = now;
    out.push_back(c);
  }
  return out;
}

inline Json without_condition(const Json& conditions, const std::string& type) {
  Json out = Json::array();
  for (const auto& c : conditions.is_array() ? conditions : Json::array()) {
    if (!c.is_object() || c.value("type", "") != type) out.push_back(c);
  }
  return out;
}

}  // namespace axon::client
