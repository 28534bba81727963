// The validator registry: the generic checks every object gets, then those
// registered for its kind (the hook the policy engine plugs into).
#include "validation/checker.h"

#include <algorithm>

namespace axon::client {

using namespace validation;

// ---------------------------------------------------------------------------
// Where things are

SourceLocation ManifestObject::where(const std::string& path) const {
  if (!source) return SourceLocation{file, 0};
  std::string full = base_path;
  if (!path.empty()) full = full.empty() ? path : full + "." + path;
  SourceLocation loc = source->where(full);
  if (loc.file.empty()) loc.file = file;
  return loc;
}

std::string ManifestObject::describe() const {
  ObjectRef ref = ObjectRef::of(object);
  if (ref.kind.empty() && ref.name.empty()) return "";
  std::string kind = ref.kind.empty() ? "object" : ref.kind;
  std::string name = ref.name.empty() ? "(no name)" : ref.name;
  return kind + " " + (ref.namespace_.empty() ? name : ref.namespace_ + "/" + name);
}

// ---------------------------------------------------------------------------
// The registry

void ValidatorRegistry::add(const std::vector<GroupKind>& kinds, ObjectValidator validator) {
  for (const auto& k : kinds) validators_[k].push_back(validator);
}

std::vector<Diagnostic> ValidatorRegistry::validate(const ManifestObject& m) const {
  Checker c;
  std::vector<Diagnostic> out;
  if (!m.object.is_object()) {
    c.error("",
            "a manifest document must be a mapping (an object with apiVersion, kind and "
            "metadata), not " +
                type_word(m.object));
    out = c.take();
  } else if (auto r = check_type(c, m.object)) {
    c.known_keys(m.object, "", top_level_fields(r->kind));
    check_metadata(c, *r, m.object);
    out = c.take();
    auto it = validators_.find(GroupKind{r->group, r->kind});
    if (it != validators_.end()) {
      for (const auto& v : it->second) {
        auto more = v(m);
        out.insert(out.end(), std::make_move_iterator(more.begin()),
                   std::make_move_iterator(more.end()));
      }
    }
  } else {
    out = c.take();
  }
  const std::string object = m.describe();
  for (auto& d : out) {
    if (d.location.file.empty()) d.location = m.where(d.path);
    if (d.document == 0) d.document = m.document;
    if (d.object.empty()) d.object = object;
  }
  // In the order a reader meets them in the file.
  std::stable_sort(out.begin(), out.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return a.location.line < b.location.line;  // one object: one file
  });
  return out;
}

std::vector<Diagnostic> check_identity(const ManifestObject& m) {
  Checker c;
  if (!m.object.is_object()) {
    c.error("", "a manifest document must be a mapping, not " + type_word(m.object));
  } else if (auto r = check_type(c, m.object)) {
    ObjectRef ref = ObjectRef::of(m.object);
    if (ref.name.empty()) c.error("metadata.name", "missing: which object to delete?");
    if (!r->namespaced && !ref.namespace_.empty())
      c.error("metadata.namespace", r->kind + " is cluster-scoped: it has no namespace",
              "remove metadata.namespace");
  }
  auto out = c.take();
  for (auto& d : out) {
    d.location = m.where(d.path);
    d.document = m.document;
    d.object = m.describe();
  }
  return out;
}

std::vector<GroupKind> policy_kinds() {
  return {{"cilium.io", "CiliumNetworkPolicy"},
          {"cilium.io", "CiliumClusterwideNetworkPolicy"},
          {"networking.k8s.io", "NetworkPolicy"}};
}

namespace {

ObjectValidator with_checker(void (*check)(Checker&, const ManifestObject&)) {
  return [check](const ManifestObject& m) {
    Checker c;
    check(c, m);
    return c.take();
  };
}

}  // namespace

ValidatorRegistry builtin_validators() {
  ValidatorRegistry r;
  r.add({{"", "Service"}}, with_checker(check_service));
  r.add({{"", "Pod"}}, with_checker(check_pod));
  r.add({{"apps", "Deployment"}, {"apps", "DaemonSet"}}, with_checker(check_workload));
  r.add({{"", "ConfigMap"}, {"", "Secret"}}, with_checker(check_config_data));
  r.add({{"apiextensions.k8s.io", "CustomResourceDefinition"}}, with_checker(check_crd));
  r.add({{"cilium.io", "CiliumLoadBalancerIPPool"}}, with_checker(check_ip_pool));
  r.add({{"cilium.io", "CiliumL2AnnouncementPolicy"}}, with_checker(check_l2_policy));
  r.add({{"gateway.networking.k8s.io", "Gateway"}}, with_checker(check_gateway));
  r.add({{"gateway.networking.k8s.io", "HTTPRoute"}}, with_checker(check_http_route));
  r.add({{"gateway.networking.k8s.io", "GatewayClass"}}, with_checker(check_gateway_class));
  r.add(policy_kinds(), validate_policy_object);  // the policy engine's strict checks
  return r;
}

}  // namespace axon::client
