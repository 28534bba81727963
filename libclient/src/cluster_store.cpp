#include "axon/client/cluster_store.h"

#include "axon/client/apply.h"

namespace axon::client {

Result<ApplyOutcome> ClusterStore::dry_run_apply(const Json& object) {
  return preview_apply(*this, object);
}

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

namespace {

Json merge(const Json& live, const Json& last, const Json& desired) {
  if (!desired.is_object() || !live.is_object()) return desired;
  Json out = live;
  if (last.is_object()) {
    for (const auto& [k, _] : last.items()) {
      if (!desired.contains(k)) out.erase(k);
    }
  }
  for (const auto& [k, v] : desired.items()) {
    const Json none;
    const Json& l = live.contains(k) ? live[k] : none;
    const Json& p = last.is_object() && last.contains(k) ? last[k] : none;
    out[k] = merge(l, p, v);
  }
  return out;
}

// A null field in a manifest means the field is not set (kubectl's
// `create --dry-run -o yaml` writes creationTimestamp: null).
void drop_nulls(Json& j) {
  if (!j.is_object()) return;
  for (auto it = j.begin(); it != j.end();) {
    if (it->is_null()) {
      it = j.erase(it);
    } else {
      drop_nulls(*it);
      ++it;
    }
  }
}

}  // namespace

Json applied_configuration(const Json& desired) {
  Json c = desired;
  drop_nulls(c);
  if (c.contains("metadata") && c["metadata"].is_object()) {
    auto& m = c["metadata"];
    m.erase("resourceVersion");
    if (m.contains("annotations") && m["annotations"].is_object()) {
      m["annotations"].erase(kLastAppliedAnnotation);
      if (m["annotations"].empty()) m.erase("annotations");
    }
  }
  return c;
}

Json last_applied(const Json& live) {
  if (!live.contains("metadata") || !live["metadata"].is_object()) return nullptr;
  const auto& m = live["metadata"];
  if (!m.contains("annotations") || !m["annotations"].is_object() ||
      !m["annotations"].contains(kLastAppliedAnnotation) ||
      !m["annotations"][kLastAppliedAnnotation].is_string())
    return nullptr;
  Json j = Json::parse(m["annotations"][kLastAppliedAnnotation].get<std::string>(), nullptr, false);
  return j.is_discarded() ? Json(nullptr) : j;
}

ApplyOutcome apply_outcome(const Json& live, const Json& desired) {
  const Json config = applied_configuration(desired);
  if (!contains_fields(live, config)) return ApplyOutcome::configured;
  const Json last = last_applied(live);
  if (last.is_null()) return ApplyOutcome::unchanged;
  // A manifest that changed is applied (kubectl's patch then carries at
  // least the new last-applied configuration): a field dropped inside a
  // list item is in neither side's fields check (lists are replaced whole).
  return last == config ? ApplyOutcome::unchanged : ApplyOutcome::configured;
}

Json three_way_merge(const Json& live, const Json& last, const Json& desired) {
  const Json config = applied_configuration(desired);
  Json out = merge(live, last, config);
  out["metadata"]["annotations"][kLastAppliedAnnotation] = config.dump();
  return out;
}

}  // namespace axon::client
