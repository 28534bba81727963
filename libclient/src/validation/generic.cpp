// What every object must be: apiVersion and kind served, metadata, names.
#include "validation/checker.h"

#include <algorithm>

namespace axon::client::validation {

// ---------------------------------------------------------------------------
// Generic checks

const std::vector<std::string> kMetadataFields = {"name",
                                                  "generateName",
                                                  "namespace",
                                                  "labels",
                                                  "annotations",
                                                  "uid",
                                                  "resourceVersion",
                                                  "generation",
                                                  "creationTimestamp",
                                                  "deletionTimestamp",
                                                  "deletionGracePeriodSeconds",
                                                  "ownerReferences",
                                                  "finalizers",
                                                  "managedFields",
                                                  "selfLink"};

// Top-level fields each kind has besides apiVersion, kind and metadata.
std::vector<std::string> top_level_fields(const std::string& kind) {
  std::vector<std::string> base = {"apiVersion", "kind", "metadata"};
  std::vector<std::string> extra;
  if (kind == "ConfigMap") {
    extra = {"data", "binaryData", "immutable"};
  } else if (kind == "Secret") {
    extra = {"data", "stringData", "type", "immutable"};
  } else if (kind == "ServiceAccount") {
    extra = {"secrets", "imagePullSecrets", "automountServiceAccountToken"};
  } else if (kind == "Endpoints") {
    extra = {"subsets"};
  } else if (kind == "EndpointSlice") {
    extra = {"addressType", "endpoints", "ports"};
  } else if (kind == "ClusterRole") {
    extra = {"rules", "aggregationRule"};
  } else if (kind == "Role") {
    extra = {"rules"};
  } else if (kind == "ClusterRoleBinding" || kind == "RoleBinding") {
    extra = {"subjects", "roleRef"};
  } else if (kind == "CiliumNetworkPolicy" || kind == "CiliumClusterwideNetworkPolicy") {
    extra = {"spec", "specs", "status"};
  } else if (kind == "CiliumIdentity") {
    extra = {"security-labels"};
  } else {
    extra = {"spec", "status"};
  }
  base.insert(base.end(), extra.begin(), extra.end());
  return base;
}

bool rbac_kind(const std::string& kind) {
  return kind == "ClusterRole" || kind == "ClusterRoleBinding" || kind == "Role" ||
         kind == "RoleBinding";
}

void check_name(Checker& c, const ResourceInfo& r, const std::string& name) {
  std::string problem;
  bool label = r.kind == "Namespace" || r.kind == "Service";
  if (rbac_kind(r.kind)) {
    if (name == "." || name == ".." || name.find_first_of("/%") != std::string::npos)
      problem = "may not be '.' or '..' and may not contain '/' or '%'";
  } else {
    problem = label ? check_dns1123_label(name) : check_dns1123_subdomain(name);
  }
  if (problem.empty()) return;
  c.error("metadata.name", "invalid name \"" + name + "\": " + problem,
          rbac_kind(r.kind) ? "" : "use a name like \"" + suggest_dns_name(name, !label) + "\"");
}

void check_metadata(Checker& c, const ResourceInfo& r, const Json& o) {
  const Json* meta = field(o, "metadata");
  if (meta == nullptr) {
    c.error("metadata", "missing: every object needs metadata.name",
            "add metadata: {name: <name>}");
    return;
  }
  if (!c.object(*meta, "metadata")) return;
  c.known_keys(*meta, "metadata", kMetadataFields);
  const Json* name = field(*meta, "name");
  if (name == nullptr || name->is_null() ||
      (name->is_string() && name->get<std::string>().empty())) {
    c.error("metadata.name", "missing: every object applied needs a name",
            field(*meta, "generateName") != nullptr
                ? "apply needs a fixed name: replace generateName with name"
                : "add metadata.name");
  } else if (c.string(*name, "metadata.name")) {
    check_name(c, r, name->get<std::string>());
  }
  if (const Json* ns = field(*meta, "namespace"); ns != nullptr && !ns->is_null()) {
    if (!r.namespaced) {
      c.error("metadata.namespace",
              r.kind + " is cluster-scoped: it belongs to no namespace, so it cannot have one",
              "remove metadata.namespace");
    } else if (c.string(*ns, "metadata.namespace")) {
      std::string problem = check_dns1123_label(ns->get<std::string>());
      if (!problem.empty()) {
        c.error("metadata.namespace",
                "invalid namespace \"" + ns->get<std::string>() + "\": " + problem,
                "use a namespace like \"" + suggest_dns_name(ns->get<std::string>(), false) + "\"");
      }
    }
  }
  if (const Json* labels = field(*meta, "labels"); labels != nullptr && !labels->is_null()) {
    if (c.string_map(*labels, "metadata.labels")) {
      for (const auto& [k, v] : labels->items()) {
        std::string path = child_path("metadata.labels", k);
        if (auto p = check_label_key(k); !p.empty()) c.error(path, "invalid label key: " + p);
        if (auto p = check_label_value(v.get<std::string>()); !p.empty())
          c.error(path, "invalid label value " + shown(v) + ": " + p);
      }
    }
  }
  if (const Json* ann = field(*meta, "annotations"); ann != nullptr && !ann->is_null()) {
    c.string_map(*ann, "metadata.annotations");
  }
}

// Returns the kind's resource when the object is one axon knows.
std::optional<ResourceInfo> check_type(Checker& c, const Json& o) {
  const Json* api = field(o, "apiVersion");
  const Json* kind = field(o, "kind");
  if (kind == nullptr || !kind->is_string() || kind->get<std::string>().empty()) {
    c.error("kind", "missing: every object needs apiVersion and kind",
            "add kind: (e.g. Service, Deployment, CiliumNetworkPolicy)");
    return std::nullopt;
  }
  const std::string k = kind->get<std::string>();
  auto known = find_kind(k);
  if (!known) {
    std::vector<std::string> kinds;
    for (const auto& r : known_resources()) kinds.push_back(r.kind);
    std::string fix;
    for (const auto& candidate : kinds) {
      if (to_lower(candidate) == to_lower(k))
        fix = "write kind: " + candidate + " (kinds are case-sensitive)";
    }
    if (fix.empty()) {
      if (auto hint = closest_match(k, kinds)) fix = "did you mean kind: " + *hint + "?";
    }
    std::sort(kinds.begin(), kinds.end());
    c.error("kind", "unknown kind \"" + k + "\"; axon serves " + join(kinds, ", "), fix);
    return std::nullopt;
  }
  if (api == nullptr || !api->is_string() || api->get<std::string>().empty()) {
    c.error("apiVersion", "missing: every object needs apiVersion and kind",
            "add apiVersion: " + known->api_version());
    return std::nullopt;
  }
  auto r = find_resource(api->get<std::string>(), k);
  if (!r) {
    c.error("apiVersion",
            k + " is not served at " + api->get<std::string>() + "; axon serves it at " +
                known->api_version(),
            "write apiVersion: " + known->api_version());
    return std::nullopt;
  }
  return r;
}

}  // namespace axon::client::validation
