#include "axon/client/resources.h"

#include <algorithm>
#include <cctype>

#include "axon/base/strings.h"
#include "axon/base/suggest.h"

namespace axon::client {

const std::vector<ResourceInfo>& known_resources() {
  // One row per kind: group, version, kind, plural, namespaced, kubectl's short names.
  // clang-format off
  static const std::vector<ResourceInfo> r = {
      {"", "v1", "Namespace", "namespaces", false, {"ns"}},
      {"", "v1", "Node", "nodes", false, {"no"}},
      {"", "v1", "Pod", "pods", true, {"po"}},
      {"", "v1", "Service", "services", true, {"svc"}},
      {"", "v1", "ServiceAccount", "serviceaccounts", true, {"sa"}},
      {"", "v1", "ConfigMap", "configmaps", true, {"cm"}},
      {"", "v1", "Secret", "secrets", true},
      {"", "v1", "Endpoints", "endpoints", true, {"ep"}},
      {"apps", "v1", "DaemonSet", "daemonsets", true, {"ds"}},
      {"apps", "v1", "Deployment", "deployments", true, {"deploy"}},
      {"rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", false},
      {"rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", false},
      {"rbac.authorization.k8s.io", "v1", "Role", "roles", true},
      {"rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", true},
      {"apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions",
       false, {"crd", "crds"}},
      {"coordination.k8s.io", "v1", "Lease", "leases", true},
      {"discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", true},
      {"networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true, {"netpol"}},
      {"cilium.io", "v2", "CiliumNetworkPolicy", "ciliumnetworkpolicies", true,
       {"cnp", "ciliumnp"}},
      {"cilium.io", "v2", "CiliumClusterwideNetworkPolicy", "ciliumclusterwidenetworkpolicies",
       false, {"ccnp"}},
      {"cilium.io", "v2", "CiliumLoadBalancerIPPool", "ciliumloadbalancerippools", false,
       {"ippools", "ippool", "lbippool", "lbippools"}},
      // The older version Cilium's CRD still serves (the same schema).
      {"cilium.io", "v2alpha1", "CiliumLoadBalancerIPPool", "ciliumloadbalancerippools", false},
      {"cilium.io", "v2alpha1", "CiliumL2AnnouncementPolicy", "ciliuml2announcementpolicies",
       false, {"l2announcement"}},
      {"cilium.io", "v2", "CiliumIdentity", "ciliumidentities", false, {"ciliumid"}},
      {"cilium.io", "v2", "CiliumEndpoint", "ciliumendpoints", true, {"cep", "ciliumep"}},
      {"cilium.io", "v2", "CiliumNode", "ciliumnodes", false, {"cn", "ciliumn"}},
      {"gateway.networking.k8s.io", "v1", "GatewayClass", "gatewayclasses", false, {"gc"}},
      {"gateway.networking.k8s.io", "v1", "Gateway", "gateways", true, {"gtw"}},
      {"gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes", true},
      {"gateway.networking.k8s.io", "v1", "GRPCRoute", "grpcroutes", true},
      {"gateway.networking.k8s.io", "v1alpha2", "GRPCRoute", "grpcroutes", true},
      {"gateway.networking.k8s.io", "v1alpha2", "TCPRoute", "tcproutes", true},
      {"gateway.networking.k8s.io", "v1alpha2", "TLSRoute", "tlsroutes", true},
      {"gateway.networking.k8s.io", "v1beta1", "ReferenceGrant", "referencegrants", true, {"refgrant"}},
  };
  // clang-format on
  return r;
}

std::string ResourceInfo::singular() const {
  return to_lower(kind);
}

std::string ResourceInfo::qualified_singular() const {
  return group.empty() ? singular() : singular() + "." + group;
}

std::string ResourceInfo::qualified_plural() const {
  return group.empty() ? plural : plural + "." + group;
}

std::optional<ResourceInfo> find_resource(const std::string& api_version, const std::string& kind) {
  for (const auto& r : known_resources()) {
    if (r.kind == kind && r.api_version() == api_version) return r;
  }
  return std::nullopt;
}

std::optional<ResourceInfo> find_kind(const std::string& kind) {
  for (const auto& r : known_resources()) {
    if (r.kind == kind) return r;
  }
  return std::nullopt;
}

namespace {

bool names_match(const ResourceInfo& r, const std::string& word) {
  if (word == r.plural || word == r.singular()) return true;
  return std::find(r.short_names.begin(), r.short_names.end(), word) != r.short_names.end();
}

// "apps", "v1.apps", "cilium.io", "v2.cilium.io"; "v1" for the core group.
bool qualifier_matches(const ResourceInfo& r, const std::string& q) {
  if (q.empty()) return true;
  if (r.group.empty()) return q == r.version;
  return q == r.group || q == r.version + "." + r.group;
}

}  // namespace

Result<ResourceInfo> resolve_resource(const std::string& typed) {
  const std::string word = to_lower(typed);
  const auto dot = word.find('.');
  const std::string head = word.substr(0, dot);
  const std::string qualifier = dot == std::string::npos ? "" : word.substr(dot + 1);
  for (const auto& r : known_resources()) {
    if (names_match(r, head) && qualifier_matches(r, qualifier)) return r;
  }
  std::vector<std::string> candidates, listing;
  for (const auto& r : known_resources()) {
    candidates.push_back(r.plural);
    candidates.push_back(r.singular());
    for (const auto& s : r.short_names) candidates.push_back(s);
  }
  std::string msg = "the server doesn't have a resource type \"" + typed + "\"";
  if (auto hint = closest_match(head, candidates)) {
    // Keep the qualifier the user typed when the word itself was the typo.
    std::string suggestion = *hint + (qualifier.empty() ? "" : "." + qualifier);
    msg += " (did you mean \"" + suggestion + "\"?)";
  }
  for (const auto& r : known_resources()) {
    listing.push_back(r.short_names.empty() ? r.plural
                                            : r.plural + " (" + join(r.short_names, ", ") + ")");
  }
  std::sort(listing.begin(), listing.end());
  listing.erase(std::unique(listing.begin(), listing.end()), listing.end());
  return Error{msg + "; axon serves: " + join(listing, ", ")};
}

std::vector<std::string> resource_plurals() {
  std::vector<std::string> out;
  for (const auto& r : known_resources()) out.push_back(r.plural);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());  // a kind served in two versions
  return out;
}

ObjectRef ObjectRef::of(const Json& o) {
  ObjectRef ref;
  if (!o.is_object()) return ref;
  if (o.contains("apiVersion") && o["apiVersion"].is_string()) ref.api_version = o["apiVersion"];
  if (o.contains("kind") && o["kind"].is_string()) ref.kind = o["kind"];
  if (o.contains("metadata") && o["metadata"].is_object()) {
    const auto& m = o["metadata"];
    if (m.contains("namespace") && m["namespace"].is_string()) ref.namespace_ = m["namespace"];
    if (m.contains("name") && m["name"].is_string()) ref.name = m["name"];
  }
  return ref;
}

std::string ObjectRef::str() const {
  return kind + " " + (namespace_.empty() ? name : namespace_ + "/" + name);
}

std::string api_path(const ResourceInfo& r, const std::string& ns, const std::string& name) {
  std::string p = r.group.empty() ? "/api/" + r.version : "/apis/" + r.group + "/" + r.version;
  if (r.namespaced && !ns.empty()) p += "/namespaces/" + ns;
  p += "/" + r.plural;
  if (!name.empty()) p += "/" + name;
  return p;
}

}  // namespace axon::client

namespace axon::client {

std::string kubectl_name(const ObjectRef& ref) {
  std::string kind;
  for (char c : ref.kind) kind += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto slash = ref.api_version.find('/');
  std::string group = slash == std::string::npos ? "" : ref.api_version.substr(0, slash);
  return kind + (group.empty() ? "" : "." + group) + "/" + ref.name;
}

std::string not_found_message(const ResourceInfo& r, const std::string& name,
                              const std::string& file, const std::string& verb) {
  std::string where = file.empty() ? "" : "error when " + verb + " \"" + file + "\": ";
  return "Error from server (NotFound): " + where + r.qualified_plural() + " \"" + name +
         "\" not found";
}

}  // namespace axon::client
