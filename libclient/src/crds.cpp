// CustomResourceDefinitions of the kinds axon serves, with structural
// schemas (every node typed), so the API server prunes or rejects fields
// that are not part of a kind, e.g. a Kubernetes NetworkPolicy `from:` inside
// a CiliumNetworkPolicy.
#include <string>
#include <tuple>
#include <vector>

#include "axon/client/manifests.h"

namespace axon::client {
namespace {

constexpr const char* kGatewayGroup = "gateway.networking.k8s.io";

Json str() {
  return {{"type", "string"}};
}
Json integer() {
  return {{"type", "integer"}};
}
Json boolean() {
  return {{"type", "boolean"}};
}
Json int_or_string() {
  return {{"x-kubernetes-int-or-string", true}};
}
Json arr(Json items) {
  return {{"type", "array"}, {"items", std::move(items)}};
}
Json map_of(Json value) {
  return {{"type", "object"}, {"additionalProperties", std::move(value)}};
}
Json preserve() {
  return {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}};
}
Json enum_str(std::vector<std::string> values) {
  return {{"type", "string"}, {"enum", values}};
}
Json obj(std::vector<std::pair<std::string, Json>> props) {
  Json p = Json::object();
  for (auto& [k, v] : props) p[k] = std::move(v);
  return {{"type", "object"}, {"properties", std::move(p)}};
}

Json label_selector() {
  return obj({{"matchLabels", map_of(str())},
              {"matchExpressions",
               arr(obj({{"key", str()},
                        {"operator", enum_str({"In", "NotIn", "Exists", "DoesNotExist"})},
                        {"values", arr(str())}}))}});
}

Json port_rule(bool with_l7) {
  std::vector<std::pair<std::string, Json>> props = {
      {"ports", arr(obj({{"port", str()},
                         {"endPort", integer()},
                         {"protocol", enum_str({"TCP", "UDP", "SCTP", "ANY"})}}))}};
  if (with_l7) {
    props.push_back(
        {"rules",
         obj({{"http",
               arr(obj({{"method", str()},
                        {"path", str()},
                        {"host", str()},
                        {"headers", arr(str())},
                        {"headerMatches", arr(obj({{"name", str()},
                                                   {"value", str()},
                                                   {"mismatch", enum_str({"LOG", "ADD", "DELETE",
                                                                          "REPLACE"})}}))}}))},
              {"dns", arr(obj({{"matchName", str()}, {"matchPattern", str()}}))},
              {"l7proto", str()},
              {"l7", arr(map_of(str()))}})});
    props.push_back({"serverNames", arr(str())});
  }
  return obj(std::move(props));
}

Json cidr_rule() {
  return obj({{"cidr", str()}, {"except", arr(str())}, {"cidrGroupRef", str()}});
}

Json icmp_rule() {
  return obj(
      {{"fields", arr(obj({{"family", enum_str({"IPv4", "IPv6"})}, {"type", int_or_string()}}))}});
}

Json entities() {
  return arr(enum_str({"all", "world", "world-ipv4", "world-ipv6", "cluster", "host", "remote-node",
                       "kube-apiserver", "ingress", "init", "health", "unmanaged", "none"}));
}

Json peer_rule(bool ingress, bool deny) {
  const std::string dir = ingress ? "from" : "to";
  std::vector<std::pair<std::string, Json>> props = {
      {dir + "Endpoints", arr(label_selector())},
      {dir + "Requires", arr(label_selector())},
      {dir + "CIDR", arr(str())},
      {dir + "CIDRSet", arr(cidr_rule())},
      {dir + "Entities", entities()},
      {dir + "Nodes", arr(label_selector())},
      {"toPorts", arr(port_rule(!deny))},
      {"icmps", arr(icmp_rule())},
  };
  if (!ingress && !deny) {
    props.push_back(
        {"toServices", arr(obj({{"k8sService", obj({{"serviceName", str()}, {"namespace", str()}})},
                                {"k8sServiceSelector",
                                 obj({{"selector", label_selector()}, {"namespace", str()}})}}))});
    props.push_back({"toFQDNs", arr(obj({{"matchName", str()}, {"matchPattern", str()}}))});
  }
  return obj(std::move(props));
}

Json policy_rule() {
  return obj({
      {"endpointSelector", label_selector()},
      {"nodeSelector", label_selector()},
      {"ingress", arr(peer_rule(true, false))},
      {"ingressDeny", arr(peer_rule(true, true))},
      {"egress", arr(peer_rule(false, false))},
      {"egressDeny", arr(peer_rule(false, true))},
      {"enableDefaultDeny", obj({{"ingress", boolean()}, {"egress", boolean()}})},
      {"labels", arr(obj({{"key", str()}, {"value", str()}, {"source", str()}}))},
      {"description", str()},
      {"log", obj({{"value", str()}})},
  });
}

struct Kind {
  std::string group, version, kind, plural, singular, scope;
  std::vector<std::string> short_names;
  Json schema;  // openAPIV3Schema of the object
  bool status = true;
  std::vector<std::string> older_versions = {};  // served too (same schema), not stored
  bool experimental = false;  // Gateway API's experimental channel (TCPRoute, TLSRoute)
};

Json crd(const Kind& k) {
  Json names = {{"kind", k.kind},
                {"listKind", k.kind + "List"},
                {"plural", k.plural},
                {"singular", k.singular}};
  if (!k.short_names.empty()) names["shortNames"] = k.short_names;
  Json version = {{"name", k.version},
                  {"served", true},
                  {"storage", true},
                  {"schema", {{"openAPIV3Schema", k.schema}}}};
  if (k.status) version["subresources"] = {{"status", Json::object()}};
  Json versions = Json::array({version});
  for (const auto& v : k.older_versions) {
    Json older = version;
    older["name"] = v;
    older["storage"] = false;
    versions.push_back(older);
  }
  Json metadata = {{"name", k.plural + "." + k.group},
                   {"labels", {{kPartOfLabel, kPartOfValue}}}};
  if (k.group == kGatewayGroup) {
    // The API server refuses a CRD of a protected group (*.k8s.io,
    // *.kubernetes.io) without the approval annotation; these are the
    // annotations Gateway API v1.0.0's own CRDs carry.
    metadata["annotations"] = {
        {"api-approved.kubernetes.io", "https://github.com/kubernetes-sigs/gateway-api/pull/2466"},
        {"gateway.networking.k8s.io/bundle-version", "v1.1.0"},
        {"gateway.networking.k8s.io/channel", k.experimental ? "experimental" : "standard"}};
  }
  return {
      {"apiVersion", "apiextensions.k8s.io/v1"},
      {"kind", "CustomResourceDefinition"},
      {"metadata", metadata},
      {"spec",
       {{"group", k.group},
        {"scope", k.scope},
        {"names", names},
        {"versions", versions}}},
  };
}

// apiVersion, kind, metadata plus the given properties.
Json object_schema(std::vector<std::pair<std::string, Json>> props) {
  std::vector<std::pair<std::string, Json>> all = {
      {"apiVersion", str()}, {"kind", str()}, {"metadata", {{"type", "object"}}}};
  for (auto& p : props) all.push_back(std::move(p));
  return obj(std::move(all));
}

}  // namespace

std::vector<Json> custom_resource_definitions(bool gateway_api) {
  const Json policy_schema = object_schema(
      {{"spec", policy_rule()}, {"specs", arr(policy_rule())}, {"status", preserve()}});
  std::vector<Kind> kinds = {
      {"cilium.io",
       "v2",
       "CiliumNetworkPolicy",
       "ciliumnetworkpolicies",
       "ciliumnetworkpolicy",
       "Namespaced",
       {"cnp", "ciliumnp"},
       policy_schema},
      {"cilium.io",
       "v2",
       "CiliumClusterwideNetworkPolicy",
       "ciliumclusterwidenetworkpolicies",
       "ciliumclusterwidenetworkpolicy",
       "Cluster",
       {"ccnp"},
       policy_schema},
      {"cilium.io",
       "v2",
       "CiliumLoadBalancerIPPool",
       "ciliumloadbalancerippools",
       "ciliumloadbalancerippool",
       "Cluster",
       {"ippools", "ippool", "lbippool", "lbippools"},
       object_schema(
           {{"spec",
             obj({{"blocks", arr(obj({{"cidr", str()}, {"start", str()}, {"stop", str()}}))},
                  {"serviceSelector", label_selector()},
                  {"disabled", boolean()},
                  {"allowFirstLastIPs", enum_str({"Yes", "No"})}})},
            {"status", preserve()}}),
       true,
       {"v2alpha1"}},
      {"cilium.io",
       "v2alpha1",
       "CiliumL2AnnouncementPolicy",
       "ciliuml2announcementpolicies",
       "ciliuml2announcementpolicy",
       "Cluster",
       {"l2announcement"},
       object_schema({{"spec", obj({{"serviceSelector", label_selector()},
                                    {"nodeSelector", label_selector()},
                                    {"interfaces", arr(str())},
                                    {"externalIPs", boolean()},
                                    {"loadBalancerIPs", boolean()}})},
                      {"status", preserve()}})},
      {"cilium.io",
       "v2",
       "CiliumIdentity",
       "ciliumidentities",
       "ciliumidentity",
       "Cluster",
       {"ciliumid"},
       object_schema({{"security-labels", map_of(str())}}),
       false},
      {"cilium.io",
       "v2",
       "CiliumEndpoint",
       "ciliumendpoints",
       "ciliumendpoint",
       "Namespaced",
       {"cep", "ciliumep"},
       // As Cilium's: no status subresource, the agent writes status itself.
       object_schema({{"status", preserve()}}),
       false},
      {"cilium.io",
       "v2",
       "CiliumNode",
       "ciliumnodes",
       "ciliumnode",
       "Cluster",
       {"cn", "ciliumn"},
       object_schema({{"spec", preserve()}, {"status", preserve()}})},
  };
  if (gateway_api) {
    const std::string gw = kGatewayGroup;
    Json parent_ref = obj({{"group", str()},
                           {"kind", str()},
                           {"namespace", str()},
                           {"name", str()},
                           {"sectionName", str()},
                           {"port", integer()}});
    kinds.push_back({gw,
                     "v1",
                     "GatewayClass",
                     "gatewayclasses",
                     "gatewayclass",
                     "Cluster",
                     {"gc"},
                     object_schema({{"spec", obj({{"controllerName", str()},
                                                  {"description", str()},
                                                  {"parametersRef", obj({{"group", str()},
                                                                         {"kind", str()},
                                                                         {"name", str()},
                                                                         {"namespace", str()}})}})},
                                    {"status", preserve()}})});
    kinds.push_back(
        {gw,
         "v1",
         "Gateway",
         "gateways",
         "gateway",
         "Namespaced",
         {"gtw"},
         object_schema(
             {{"spec",
               obj({{"gatewayClassName", str()},
                    {"listeners",
                     arr(obj({{"name", str()},
                              {"hostname", str()},
                              {"port", integer()},
                              {"protocol", str()},
                              {"tls", preserve()},
                              {"allowedRoutes",
                               obj({{"namespaces",
                                     obj({{"from", enum_str({"All", "Same", "Selector"})},
                                          {"selector", label_selector()}})},
                                    {"kinds", arr(obj({{"group", str()}, {"kind", str()}}))}})}}))},
                    {"addresses", arr(obj({{"type", str()}, {"value", str()}}))}})},
              {"status", preserve()}})});
    Json match_value = obj({{"type", str()}, {"name", str()}, {"value", str()}});
    Json backend_ref = obj({{"group", str()},
                            {"kind", str()},
                            {"name", str()},
                            {"namespace", str()},
                            {"port", integer()},
                            {"weight", integer()},
                            {"filters", arr(preserve())}});
    kinds.push_back(
        {gw,
         "v1",
         "HTTPRoute",
         "httproutes",
         "httproute",
         "Namespaced",
         {},
         object_schema(
             {{"spec",
               obj({{"parentRefs", arr(parent_ref)},
                    {"hostnames", arr(str())},
                    {"rules",
                     arr(obj(
                         {{"name", str()},
                          {"matches",
                           arr(obj({{"path", obj({{"type", enum_str({"Exact", "PathPrefix",
                                                                     "RegularExpression"})},
                                                  {"value", str()}})},
                                    {"headers", arr(match_value)},
                                    {"queryParams", arr(match_value)},
                                    {"method", str()}}))},
                          {"filters", arr(preserve())},
                          {"backendRefs", arr(backend_ref)},
                          {"timeouts", obj({{"request", str()}, {"backendRequest", str()}})}}))}})},
              {"status", preserve()}})});
    kinds.push_back(
        {gw,
         "v1",
         "GRPCRoute",
         "grpcroutes",
         "grpcroute",
         "Namespaced",
         {},
         object_schema(
             {{"spec",
               obj({{"parentRefs", arr(parent_ref)},
                    {"hostnames", arr(str())},
                    {"rules",
                     arr(obj({{"name", str()},
                              {"matches",
                               arr(obj({{"method", obj({{"type", enum_str({"Exact", "RegularExpression"})},
                                                        {"service", str()},
                                                        {"method", str()}})},
                                        {"headers", arr(match_value)}}))},
                              {"filters", arr(preserve())},
                              {"backendRefs", arr(backend_ref)}}))}})},
              {"status", preserve()}}),
         true,
         {"v1alpha2"}});
    // The experimental channel's L4 routes: TCPRoute (what Cilium lacks,
    // cilium#21929) and TLSRoute.
    for (const auto& [kind, plural, singular] :
         {std::tuple{"TCPRoute", "tcproutes", "tcproute"}, std::tuple{"TLSRoute", "tlsroutes", "tlsroute"}}) {
      std::vector<std::pair<std::string, Json>> spec = {
          {"parentRefs", arr(parent_ref)},
          {"rules", arr(obj({{"name", str()}, {"backendRefs", arr(backend_ref)}}))}};
      if (std::string(kind) == "TLSRoute") spec.push_back({"hostnames", arr(str())});
      kinds.push_back({gw, "v1alpha2", kind, plural, singular, "Namespaced", {},
                       object_schema({{"spec", obj(std::move(spec))}, {"status", preserve()}}), true, {},
                       true});
    }
    kinds.push_back(
        {gw,
         "v1beta1",
         "ReferenceGrant",
         "referencegrants",
         "referencegrant",
         "Namespaced",
         {"refgrant"},
         object_schema(
             {{"spec",
               obj({{"from", arr(obj({{"group", str()}, {"kind", str()}, {"namespace", str()}}))},
                    {"to", arr(obj({{"group", str()}, {"kind", str()}, {"name", str()}}))}})}}),
         false});
  }
  std::vector<Json> out;
  for (const auto& k : kinds) out.push_back(crd(k));
  return out;
}

}  // namespace axon::client
