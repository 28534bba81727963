#include "axon/client/resources.h"

#include <cctype>

namespace axon::client {

const std::vector<ResourceInfo>& known_resources() {
  static const std::vector<ResourceInfo> r = {
      {"", "v1", "Namespace", "namespaces", false},
      {"", "v1", "Node", "nodes", false},
      {"", "v1", "Pod", "pods", true},
      {"", "v1", "Service", "services", true},
      {"", "v1", "ServiceAccount", "serviceaccounts", true},
      {"", "v1", "ConfigMap", "configmaps", true},
      {"", "v1", "Secret", "secrets", true},
      {"", "v1", "Endpoints", "endpoints", true},
      {"apps", "v1", "DaemonSet", "daemonsets", true},
      {"apps", "v1", "Deployment", "deployments", true},
      {"rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", false},
      {"rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", false},
      {"rbac.authorization.k8s.io", "v1", "Role", "roles", true},
      {"rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", true},
      {"apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions",
       false},
      {"coordination.k8s.io", "v1", "Lease", "leases", true},
      {"discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", true},
      {"networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true},
      {"cilium.io", "v2", "CiliumNetworkPolicy", "ciliumnetworkpolicies", true},
      {"cilium.io", "v2", "CiliumClusterwideNetworkPolicy", "ciliumclusterwidenetworkpolicies",
       false},
      {"cilium.io", "v2", "CiliumLoadBalancerIPPool", "ciliumloadbalancerippools", false},
      {"cilium.io", "v2alpha1", "CiliumL2AnnouncementPolicy", "ciliuml2announcementpolicies",
       false},
      {"cilium.io", "v2", "CiliumIdentity", "ciliumidentities", false},
      {"cilium.io", "v2", "CiliumEndpoint", "ciliumendpoints", true},
      {"cilium.io", "v2", "CiliumNode", "ciliumnodes", false},
      {"gateway.networking.k8s.io", "v1", "GatewayClass", "gatewayclasses", false},
      {"gateway.networking.k8s.io", "v1", "Gateway", "gateways", true},
      {"gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes", true},
  };
  return r;
}

std::optional<ResourceInfo> find_resource(const std::string& api_version, const std::string& kind) {
  for (const auto& r : known_resources()) {
    if (r.kind == kind && r.api_version() == api_version) return r;
  }
  return std::nullopt;
}

ObjectRef ObjectRef::of(const Json& o) {
  ObjectRef ref;
  ref.api_version = o.value("apiVersion", "");
  ref.kind = o.value("kind", "");
  if (o.contains("metadata") && o["metadata"].is_object()) {
    ref.namespace_ = o["metadata"].value("namespace", "");
    ref.name = o["metadata"].value("name", "");
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

}  // namespace axon::client
