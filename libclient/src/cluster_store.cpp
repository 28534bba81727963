#include "axon/client/cluster_store.h"

namespace axon::client {

std::string to_string(ApplyOutcome o) {
  switch (o) {
    case ApplyOutcome::created:
      return "created";
    case ApplyOutcome::configured:
      return "configured";
    case ApplyOutcome::unchanged:
      return "unchanged";
  }
  return "?";
}

bool contains_fields(const Json& live, const Json& desired) {
  if (desired.is_object()) {
    if (!live.is_object()) return false;
    for (const auto& [k, v] : desired.items()) {
      if (!live.contains(k) || !contains_fields(live[k], v)) return false;
    }
    return true;
  }
  if (desired.is_array()) {
    if (!live.is_array() || live.size() != desired.size()) return false;
    for (size_t i = 0; i < desired.size(); ++i) {
      if (!contains_fields(live[i], desired[i])) return false;
    }
    return true;
  }
  if (desired.is_number() && live.is_number()) return desired.get<double>() == live.get<double>();
  return live == desired;
}

}  // namespace axon::client
