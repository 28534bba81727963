// CustomResourceDefinitions.
#include "validation/checker.h"

namespace axon::client::validation {

void check_crd(Checker& c, const ManifestObject& m) {
  const Json* spec = field(m.object, "spec");
  if (spec == nullptr || !c.object(*spec, "spec")) {
    if (spec == nullptr) c.error("spec", "missing: a CustomResourceDefinition needs spec");
    return;
  }
  const Json* group = field(*spec, "group");
  const Json* names = field(*spec, "names");
  std::string plural;
  if (group == nullptr || !group->is_string()) c.error("spec.group", "required");
  if (names == nullptr || !c.object(*names, "spec.names")) {
    if (names == nullptr) c.error("spec.names", "required (plural, singular, kind)");
  } else {
    const Json* p = field(*names, "plural");
    if (p == nullptr || !p->is_string()) {
      c.error("spec.names.plural", "required");
    } else {
      plural = p->get<std::string>();
    }
    if (field(*names, "kind") == nullptr) c.error("spec.names.kind", "required");
  }
  if (const Json* scope = field(*spec, "scope")) {
    c.one_of(*scope, "spec.scope", {"Namespaced", "Cluster"});
  } else {
    c.error("spec.scope", "required: Namespaced or Cluster");
  }
  if (group != nullptr && group->is_string() && !plural.empty()) {
    std::string want = plural + "." + group->get<std::string>();
    ObjectRef ref = ObjectRef::of(m.object);
    if (!ref.name.empty() && ref.name != want)
      c.error("metadata.name", "must be spec.names.plural + \".\" + spec.group: \"" + want + "\"",
              "write name: " + want);
  }
  const Json* versions = field(*spec, "versions");
  if (versions == nullptr || !versions->is_array() || versions->empty()) {
    c.error("spec.versions", "required: at least one version");
    return;
  }
  int storage = 0;
  for (const auto& v : *versions) storage += v.is_object() && v.value("storage", false) ? 1 : 0;
  if (storage != 1)
    c.error("spec.versions",
            "exactly one version must have storage: true (found " + std::to_string(storage) + ")");
}

}  // namespace axon::client::validation
