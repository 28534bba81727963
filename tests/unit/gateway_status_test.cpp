// The Gateway controller's statuses (libgateway/src/status.cpp) against
// semantics.md §6: every condition reason of GatewayClass, Gateway,
// listener and route, table by table; attachments with their effective
// hostnames; the Services' ports; the seed's route to a Service port that
// does not exist; conditions as written, transition times kept.
#include "axon/gateway/status.h"
#include "certificates.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>

using axon::gateway::AllowedKind;
using axon::gateway::Condition;
using axon::gateway::conditions_json;
using axon::gateway::gateway_compute;
using axon::gateway::GatewayInputs;
using axon::gateway::GatewayState;
using axon::gateway::Json;

namespace {

const char* kT0 = "2026-01-01T00:00:00Z";

Json gateway_class(const std::string& name,
                   const std::string& controller = "io.cilium/gateway-controller",
                   Json params = nullptr) {
  Json o = {{"apiVersion", "gateway.networking.k8s.io/v1"},
            {"kind", "GatewayClass"},
            {"metadata", {{"name", name}, {"generation", 2}}},
            {"spec", {{"controllerName", controller}}}};
  if (!params.is_null()) o["spec"]["parametersRef"] = params;
  return o;
}

// A Gateway of class cilium; `spec` adds to (or replaces) its fields.
Json gateway(const std::string& ns, const std::string& name, Json listeners,
             Json spec = Json::object(), const std::string& created = kT0) {
  Json s = {{"gatewayClassName", "cilium"}, {"listeners", std::move(listeners)}};
  for (auto& [k, v] : spec.items()) s[k] = v;
  return {{"apiVersion", "gateway.networking.k8s.io/v1"},
          {"kind", "Gateway"},
          {"metadata",
           {{"name", name}, {"namespace", ns}, {"generation", 3}, {"creationTimestamp", created}}},
          {"spec", s}};
}

Json listener(const std::string& name, const std::string& protocol, int port,
              Json extra = Json::object()) {
  Json l = {{"name", name}, {"protocol", protocol}, {"port", port}};
  for (auto& [k, v] : extra.items()) l[k] = v;
  return l;
}

const Json kFromAll = {{"allowedRoutes", {{"namespaces", {{"from", "All"}}}}}};

Json route(const std::string& kind, const std::string& ns, const std::string& name, Json spec,
           const std::string& created = kT0) {
  return {{"apiVersion", "gateway.networking.k8s.io/v1"},
          {"kind", kind},
          {"metadata",
           {{"name", name}, {"namespace", ns}, {"generation", 5}, {"creationTimestamp", created}}},
          {"spec", std::move(spec)}};
}

// An HTTPRoute to Gateway gw/gw with one rule to `backend`:`port` (in the route's namespace).
Json http_route(const std::string& ns, const std::string& name,
                Json parent = {{"name", "gw"}, {"namespace", "gw"}},
                const std::string& backend = "web", int port = 80) {
  return route(
      "HTTPRoute", ns, name,
      {{"parentRefs", Json::array({parent})},
       {"rules",
        Json::array({{{"backendRefs", Json::array({{{"name", backend}, {"port", port}}})}}})}});
}

Json service(const std::string& ns, const std::string& name, std::vector<int> ports,
             std::vector<std::string> ips = {}) {
  Json p = Json::array();
  for (int port : ports) p.push_back({{"port", port}, {"protocol", "TCP"}});
  Json o = {{"apiVersion", "v1"},
            {"kind", "Service"},
            {"metadata", {{"name", name}, {"namespace", ns}}},
            {"spec", {{"ports", p}}}};
  for (const auto& ip : ips) o["status"]["loadBalancer"]["ingress"].push_back({{"ip", ip}});
  return o;
}

Json namespace_(const std::string& name, Json labels = Json::object()) {
  return {{"apiVersion", "v1"},
          {"kind", "Namespace"},
          {"metadata", {{"name", name}, {"labels", std::move(labels)}}}};
}

// A Secret's data: a certificate for `cn` and its key (made once per name).
Json tls_data(const std::string& cn = "cert", bool rsa = false) {
  static std::map<std::pair<std::string, bool>, Json> made;
  auto& d = made[{cn, rsa}];
  if (d.is_null()) {
    auto [crt, key] = axon::test::self_signed(cn, rsa);
    d = {{"tls.crt", axon::test::base64(crt)}, {"tls.key", axon::test::base64(key)}};
  }
  return d;
}

Json secret(const std::string& ns, const std::string& name,
            const std::string& type = "kubernetes.io/tls", Json data = tls_data()) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"type", type},
          {"data", std::move(data)}};
}

Json grant(const std::string& ns, const std::string& from_kind, const std::string& from_ns,
           const std::string& to_kind, const std::string& to_name = "") {
  Json to = {{"group", ""}, {"kind", to_kind}};
  if (!to_name.empty()) to["name"] = to_name;
  return {{"apiVersion", "gateway.networking.k8s.io/v1beta1"},
          {"kind", "ReferenceGrant"},
          {"metadata", {{"name", "allow"}, {"namespace", ns}}},
          {"spec",
           {{"from", Json::array({{{"group", "gateway.networking.k8s.io"},
                                   {"kind", from_kind},
                                   {"namespace", from_ns}}})},
            {"to", Json::array({to})}}}};
}

// Class cilium and Gateway gw/gw (its Service addressed) with `listeners`.
// Inputs for node proxies that route every protocol axon serves.
GatewayInputs serving() {
  GatewayInputs in;
  in.served_protocols = {"HTTP", "HTTPS", "TLS", "TCP"};
  return in;
}

GatewayInputs with_gateway(Json listeners) {
  GatewayInputs in = serving();
  in.classes = {gateway_class("cilium")};
  in.gateways = {gateway("gw", "gw", std::move(listeners))};
  in.services = {service("gw", "cilium-gateway-gw", {80}, {"10.0.0.240"})};
  return in;
}

// "True/Accepted": a condition's status and reason, "(none)" when absent.
std::string of(const std::vector<Condition>& cs, const std::string& type) {
  for (const auto& c : cs)
    if (c.type == type) return c.status + "/" + c.reason;
  return "(none)";
}
std::string message(const std::vector<Condition>& cs, const std::string& type) {
  for (const auto& c : cs)
    if (c.type == type) return c.message;
  return "(none)";
}

const std::vector<Condition>& listener_conditions(const GatewayState& s, const std::string& gw,
                                                  const std::string& name) {
  static const std::vector<Condition> none;
  auto it = s.gateways.find(gw);
  if (it == s.gateways.end()) return none;
  for (const auto& l : it->second.listeners)
    if (l.name == name) return l.conditions;
  return none;
}

const std::vector<Condition>& parent_conditions(const GatewayState& s, const std::string& key,
                                                size_t i = 0) {
  static const std::vector<Condition> none;
  auto it = s.routes.find(key);
  return it == s.routes.end() || it->second.parents.size() <= i ? none
                                                                : it->second.parents[i].conditions;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("gateway status: the seed's shared gateway and api-route to a port api does not have") {
  GatewayInputs in = serving();
  in.classes = {gateway_class("cilium")};
  in.gateways = {Json::parse(R"({
    "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
    "metadata": {"name": "shared-gateway", "namespace": "gateway-api-system", "generation": 1},
    "spec": {"gatewayClassName": "cilium", "listeners": [
      {"name": "http", "protocol": "HTTP", "port": 80,
       "allowedRoutes": {"namespaces": {"from": "All"}}}]}})")};
  in.routes = {Json::parse(R"({
    "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
    "metadata": {"name": "api-route", "namespace": "production", "generation": 1},
    "spec": {
      "parentRefs": [{"name": "shared-gateway", "namespace": "gateway-api-system"}],
      "hostnames": ["api.example.com"],
      "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/v1"}}],
                 "backendRefs": [{"name": "api-service", "port": 8080}]}]}})")};
  in.services = {
      service("production", "api", {80}),
      service("gateway-api-system", "cilium-gateway-shared-gateway", {80}, {"10.0.0.240"})};
  const GatewayState s = gateway_compute(in);

  const auto& rc = parent_conditions(s, "HTTPRoute production/api-route");
  CHECK(of(rc, "Accepted") == "True/Accepted");
  CHECK(of(rc, "ResolvedRefs") == "False/BackendNotFound");
  CHECK(message(rc, "ResolvedRefs") ==
        "Service production/api-service not found; Services in production: api (80/TCP)");
  REQUIRE(s.warnings.size() == 1);
  CHECK(s.warnings[0].str() ==
        "HTTPRoute production/api-route: spec.rules[0].backendRefs[0]: Service \"api-service\" "
        "port 8080 not found in production; Services there: api (80/TCP)");
  CHECK(s.routes.at("HTTPRoute production/api-route").generation == 1);
  CHECK(s.routes.at("HTTPRoute production/api-route").parents[0].ref.ns == "gateway-api-system");

  const auto& g = s.gateways.at("gateway-api-system/shared-gateway");
  CHECK(of(g.conditions, "Accepted") == "True/Accepted");
  CHECK(of(g.conditions, "Programmed") == "True/Programmed");
  CHECK(g.addresses == std::vector<std::string>{"10.0.0.240"});
  REQUIRE(g.listeners.size() == 1);
  CHECK(g.listeners[0].attached_routes == 1);
  CHECK(of(g.listeners[0].conditions, "Programmed") == "True/Programmed");

  // Served (a missing backend is a 500, not a missing route), the backend unresolved.
  REQUIRE(s.attachments.size() == 1);
  const auto& a = s.attachments[0];
  CHECK(a.gateway == "gateway-api-system/shared-gateway");
  CHECK(a.listener == "http");
  CHECK(a.protocol == "HTTP");
  CHECK(a.port == 80);
  CHECK(a.hostnames == std::vector<std::string>{"api.example.com"});
  CHECK_FALSE(a.route->rules[0].backends[0].resolved);
  CHECK(s.services.at("gateway-api-system/shared-gateway") == std::vector<int>{80});
}

TEST_CASE("gateway status: GatewayClass is ours by controllerName; parametersRef") {
  GatewayInputs in = serving();
  in.classes = {
      gateway_class("cilium"),
      gateway_class("with-config", "io.cilium/gateway-controller",
                    {{"group", "cilium.io"}, {"kind", "CiliumGatewayClassConfig"}, {"name", "c"}}),
      gateway_class("with-configmap", "io.cilium/gateway-controller",
                    {{"group", ""}, {"kind", "ConfigMap"}, {"name", "c"}}),
      gateway_class("nginx", "k8s.io/nginx")};
  in.gateways = {gateway("gw", "a", Json::array({listener("http", "HTTP", 80)}),
                         {{"gatewayClassName", "with-configmap"}}),
                 gateway("gw", "b", Json::array({listener("http", "HTTP", 80)}),
                         {{"gatewayClassName", "nginx"}}),
                 gateway("gw", "c", Json::array({listener("http", "HTTP", 80)}),
                         {{"gatewayClassName", "with-config"}})};
  const GatewayState s = gateway_compute(in);
  CHECK(of(s.classes.at("cilium").conditions, "Accepted") == "True/Accepted");
  CHECK(of(s.classes.at("cilium").conditions, "SupportedVersion") == "True/SupportedVersion");
  CHECK(s.classes.at("cilium").generation == 2);
  CHECK(of(s.classes.at("with-config").conditions, "Accepted") == "True/Accepted");
  CHECK(of(s.classes.at("with-configmap").conditions, "Accepted") == "False/InvalidParameters");
  CHECK(contains(message(s.classes.at("with-configmap").conditions, "Accepted"), "ConfigMap"));
  CHECK(s.classes.count("nginx") == 0);
  // Only Gateways of our accepted classes are ours.
  CHECK(s.gateways.count("gw/a") == 0);
  CHECK(s.gateways.count("gw/b") == 0);
  CHECK(s.gateways.count("gw/c") == 1);
  CHECK(s.services.count("gw/b") == 0);
}

TEST_CASE("gateway status: Gateway Accepted and Programmed, addresses from its Service") {
  struct Case {
    std::string what;
    Json listeners;
    Json spec;
    std::vector<Json> services;
    std::string accepted, programmed, listener_programmed;
    std::vector<std::string> addresses;
    std::vector<int> ports;
  };
  const Json http = Json::array({listener("http", "HTTP", 80)});
  const Json addressed = service("gw", "cilium-gateway-gw", {80}, {"10.0.0.240"});
  const Json unaddressed = service("gw", "cilium-gateway-gw", {80});
  const Json udp = Json::array({listener("http", "UDP", 53)});
  // clang-format off
  const std::vector<Case> cases = {
      {"addressed", http, Json::object(), {addressed},
       "True/Accepted", "True/Programmed", "True/Programmed", {"10.0.0.240"}, {80}},
      {"no Service yet", http, Json::object(), {},
       "True/Accepted", "False/AddressNotAssigned", "False/Pending", {}, {80}},
      {"Service without an address", http, Json::object(), {unaddressed},
       "True/Accepted", "False/AddressNotAssigned", "False/Pending", {}, {80}},
      {"only a UDP listener", udp, Json::object(), {addressed},
       "False/ListenersNotValid", "False/Invalid", "False/Invalid", {"10.0.0.240"}, {}},
      {"spec.addresses", http,
       {{"addresses", Json::array({{{"type", "IPAddress"}, {"value", "10.0.0.9"}}})}}, {addressed},
       "False/UnsupportedAddress", "False/Invalid", "False/Invalid", {"10.0.0.240"}, {}},
      {"only an HTTPS listener without certificates", Json::array({listener("http", "HTTPS", 443)}),
       Json::object(), {addressed},
       "True/Accepted", "False/Invalid", "False/Invalid", {"10.0.0.240"}, {443}},
  };
  // clang-format on
  for (const auto& c : cases) {
    CAPTURE(c.what);
    GatewayInputs in = serving();
    in.classes = {gateway_class("cilium")};
    in.gateways = {gateway("gw", "gw", c.listeners, c.spec)};
    in.services = c.services;
    const GatewayState s = gateway_compute(in);
    REQUIRE(s.gateways.count("gw/gw") == 1);
    const auto& g = s.gateways.at("gw/gw");
    CHECK(g.generation == 3);
    CHECK(of(g.conditions, "Accepted") == c.accepted);
    CHECK(of(g.conditions, "Programmed") == c.programmed);
    CHECK(of(g.listeners.at(0).conditions, "Programmed") == c.listener_programmed);
    CHECK(g.addresses == c.addresses);
    CHECK(s.services.at("gw/gw") == c.ports);
    if (c.programmed == "False/AddressNotAssigned") {
      CHECK(contains(message(g.conditions, "Programmed"), "LB IPAM"));
      CHECK(contains(message(g.conditions, "Programmed"), "gw/cilium-gateway-gw"));
    }
  }
}

TEST_CASE("gateway status: listener Accepted, ResolvedRefs and Conflicted") {
  const Json tls_ref = {{"tls", {{"certificateRefs", Json::array({{{"name", "cert"}}})}}}};
  const Json cross_ref = {
      {"tls", {{"certificateRefs", Json::array({{{"name", "cert"}, {"namespace", "certs"}}})}}}};
  const Json no_key = {{"tls.crt", "Y3J0"}};
  const Json not_pem = {{"tls.crt", "Y3J0"}, {"tls.key", "a2V5"}};  // "crt", "key"
  const Json key_not_pem = {{"tls.crt", tls_data()["tls.crt"]}, {"tls.key", "a2V5"}};
  const Json other_key = {{"tls.crt", tls_data()["tls.crt"]}, {"tls.key", tls_data("other")["tls.key"]}};
  const Json two_refs = {
      {"tls", {{"certificateRefs", Json::array({{{"name", "cert"}}, {{"name", "cert2"}}})}}}};
  const Json not_base64 = {{"tls.crt", "!!"}, {"tls.key", "!!"}};
  struct Case {
    std::string what;
    Json listeners;
    std::vector<Json> secrets, grants;
    std::string listener, type, want;
    std::string message_part = "";
  };
  const Json http80 = listener("a", "HTTP", 80), https80 = listener("b", "HTTPS", 80, tls_ref);
  const Json kinds_tcp = {{"allowedRoutes", {{"kinds", Json::array({{{"kind", "TCPRoute"}}})}}}};
  const Json kinds_grpc = {{"allowedRoutes", {{"kinds", Json::array({{{"kind", "GRPCRoute"}}})}}}};
  const Json configmap_ref = {
      {"tls", {{"certificateRefs", Json::array({{{"kind", "ConfigMap"}, {"name", "c"}}})}}}};
  // clang-format off
  const std::vector<Case> cases = {
      {"HTTP", Json::array({http80}), {}, {}, "a", "Accepted", "True/Accepted"},
      {"UDP", Json::array({listener("a", "UDP", 53)}), {}, {},
       "a", "Accepted", "False/UnsupportedProtocol", "UDP"},
      {"TLS passthrough",
       Json::array({listener("a", "TLS", 443, {{"tls", {{"mode", "Passthrough"}}}})}), {}, {},
       "a", "Accepted", "True/Accepted"},
      {"TLS passthrough takes TLSRoutes",
       Json::array({listener("a", "TLS", 443, {{"tls", {{"mode", "Passthrough"}}}})}), {}, {},
       "a", "ResolvedRefs", "True/ResolvedRefs"},
      {"TLS terminating", Json::array({listener("a", "TLS", 443, tls_ref)}), {secret("gw", "cert")}, {},
       "a", "Accepted", "False/UnsupportedProtocol", "use protocol HTTPS"},
      {"TLS without a mode (Terminate)", Json::array({listener("a", "TLS", 443)}), {}, {},
       "a", "Accepted", "False/UnsupportedProtocol", "Passthrough"},
      {"port 0", Json::array({listener("a", "HTTP", 0)}), {}, {},
       "a", "Accepted", "False/PortUnavailable"},
      {"port 70000", Json::array({listener("a", "HTTP", 70000)}), {}, {},
       "a", "Accepted", "False/PortUnavailable"},
      {"HTTP and HTTPS on one port", Json::array({http80, https80}), {secret("gw", "cert")}, {},
       "a", "Conflicted", "True/ProtocolConflict", "listener b"},
      {"the other side of it", Json::array({http80, https80}), {secret("gw", "cert")}, {},
       "b", "Conflicted", "True/ProtocolConflict"},
      {"a conflicted listener stays accepted", Json::array({http80, https80}),
       {secret("gw", "cert")}, {}, "a", "Accepted", "True/Accepted"},
      {"a conflicted listener is not programmed", Json::array({http80, https80}),
       {secret("gw", "cert")}, {}, "a", "Programmed", "False/Invalid"},
      {"two without hostnames on one port", Json::array({http80, listener("b", "HTTP", 80)}),
       {}, {},
       "a", "Conflicted", "True/HostnameConflict"},
      {"one hostname twice",
       Json::array({listener("a", "HTTP", 80, {{"hostname", "x.example.com"}}),
                    listener("b", "HTTP", 80, {{"hostname", "X.example.com"}})}), {}, {},
       "b", "Conflicted", "True/HostnameConflict"},
      {"two hostnames on one port",
       Json::array({listener("a", "HTTP", 80, {{"hostname", "x.example.com"}}),
                    listener("b", "HTTP", 80, {{"hostname", "y.example.com"}})}), {}, {},
       "a", "Conflicted", "False/NoConflicts"},
      {"TCP and UDP share a port number",
       Json::array({listener("a", "TCP", 53), listener("b", "UDP", 53)}), {}, {},
       "a", "Conflicted", "False/NoConflicts"},
      {"HTTPS without certificateRefs", Json::array({listener("a", "HTTPS", 443)}), {}, {},
       "a", "ResolvedRefs", "False/InvalidCertificateRef", "certificateRefs"},
      {"HTTPS, the Secret missing", Json::array({listener("a", "HTTPS", 443, tls_ref)}), {}, {},
       "a", "ResolvedRefs", "False/InvalidCertificateRef", "gw/cert not found"},
      {"HTTPS, an Opaque Secret", Json::array({listener("a", "HTTPS", 443, tls_ref)}),
       {secret("gw", "cert", "Opaque")}, {},
       "a", "ResolvedRefs", "False/InvalidCertificateRef", "Opaque"},
      {"HTTPS, no tls.key", Json::array({listener("a", "HTTPS", 443, tls_ref)}),
       {secret("gw", "cert", "kubernetes.io/tls", no_key)}, {},
       "a", "ResolvedRefs", "False/InvalidCertificateRef", "tls.key"},
      {"HTTPS, tls.crt not PEM", Json::array({listener("a", "HTTPS", 443, tls_ref)}),
       {secret("gw", "cert", "kubernetes.io/tls", not_pem)}, {},
       "a", "ResolvedRefs", "False/InvalidCertificateRef", "tls.crt: no PEM certificate"},
      {"HTTPS, tls.key not PEM", Json::array({listener("a", "HTTPS", 443, tls_ref)}),
       {secret("gw", "cert", "kubernetes.io/tls", key_not_pem)}, {},
       "a", "ResolvedRefs", "False/InvalidCertificateRef", "tls.key: no PEM private key"},
      {"HTTPS, another certificate's key", Json::array({listener("a", "HTTPS", 443, tls_ref)}),
       {secret("gw", "cert", "kubernetes.io/tls", other_key)}, {},
       "a", "ResolvedRefs", "False/InvalidCertificateRef", "tls.key is not tls.crt's key"},
      {"HTTPS, an ECDSA and an RSA certificate", Json::array({listener("a", "HTTPS", 443, two_refs)}),
       {secret("gw", "cert"), secret("gw", "cert2", "kubernetes.io/tls", tls_data("rsa", true))}, {},
       "a", "ResolvedRefs", "True/ResolvedRefs"},
      {"HTTPS, two ECDSA certificates (one per key type is served)",
       Json::array({listener("a", "HTTPS", 443, two_refs)}),
       {secret("gw", "cert"), secret("gw", "cert2", "kubernetes.io/tls", tls_data("second"))}, {},
       "a", "ResolvedRefs", "False/InvalidCertificateRef", "gw/cert2 holds a second ECDSA certificate"},
      {"... so the listener is not programmed", Json::array({listener("a", "HTTPS", 443, two_refs)}),
       {secret("gw", "cert"), secret("gw", "cert2", "kubernetes.io/tls", tls_data("second"))}, {},
       "a", "Programmed", "False/Invalid"},
      {"HTTPS, not base64", Json::array({listener("a", "HTTPS", 443, tls_ref)}),
       {secret("gw", "cert", "kubernetes.io/tls", not_base64)}, {},
       "a", "ResolvedRefs", "False/InvalidCertificateRef", "tls.crt"},
      {"HTTPS, a ConfigMap as certificate",
       Json::array({listener("a", "HTTPS", 443, configmap_ref)}), {}, {},
       "a", "ResolvedRefs", "False/InvalidCertificateRef", "ConfigMap"},
      {"HTTPS with its Secret", Json::array({listener("a", "HTTPS", 443, tls_ref)}),
       {secret("gw", "cert")}, {}, "a", "ResolvedRefs", "True/ResolvedRefs"},
      {"HTTPS with its Secret is programmed", Json::array({listener("a", "HTTPS", 443, tls_ref)}),
       {secret("gw", "cert")}, {}, "a", "Programmed", "True/Programmed"},
      {"a Secret in another namespace", Json::array({listener("a", "HTTPS", 443, cross_ref)}),
       {secret("certs", "cert")}, {},
       "a", "ResolvedRefs", "False/RefNotPermitted", "ReferenceGrant in certs"},
      {"... with a ReferenceGrant", Json::array({listener("a", "HTTPS", 443, cross_ref)}),
       {secret("certs", "cert")}, {grant("certs", "Gateway", "gw", "Secret")},
       "a", "ResolvedRefs", "True/ResolvedRefs"},
      {"... with a grant for HTTPRoutes only",
       Json::array({listener("a", "HTTPS", 443, cross_ref)}),
       {secret("certs", "cert")}, {grant("certs", "HTTPRoute", "gw", "Secret")},
       "a", "ResolvedRefs", "False/RefNotPermitted"},
      {"TCPRoute on an HTTP listener", Json::array({listener("a", "HTTP", 80, kinds_tcp)}), {}, {},
       "a", "ResolvedRefs", "False/InvalidRouteKinds", "TCPRoute"},
      {"GRPCRoute on an HTTP listener", Json::array({listener("a", "HTTP", 80, kinds_grpc)}),
       {}, {},
       "a", "ResolvedRefs", "False/InvalidRouteKinds", "HTTP/2"},
  };
  // clang-format on
  for (const auto& c : cases) {
    CAPTURE(c.what);
    GatewayInputs in = with_gateway(c.listeners);
    in.secrets = c.secrets;
    in.grants = c.grants;
    const GatewayState s = gateway_compute(in);
    const auto& cs = listener_conditions(s, "gw/gw", c.listener);
    CHECK(of(cs, c.type) == c.want);
    if (!c.message_part.empty()) CHECK(contains(message(cs, c.type), c.message_part));
  }
}

TEST_CASE("gateway status: a listener's supported kinds") {
  auto kinds = [](Json l) {
    const GatewayState s = gateway_compute(with_gateway(Json::array({std::move(l)})));
    std::vector<std::string> out;
    for (const AllowedKind& k : s.gateways.at("gw/gw").listeners.at(0).supported_kinds) {
      CHECK(k.group == "gateway.networking.k8s.io");
      out.push_back(k.kind);
    }
    return out;
  };
  using V = std::vector<std::string>;
  CHECK(kinds(listener("a", "HTTP", 80)) == V{"HTTPRoute"});
  CHECK(kinds(listener("a", "HTTPS", 443)) == V{"HTTPRoute"});
  CHECK(kinds(listener("a", "TLS", 443)) == V{"TLSRoute"});
  CHECK(kinds(listener("a", "TCP", 5432)) == V{"TCPRoute"});
  CHECK(kinds(listener("a", "UDP", 53)) == V{});
  const Json both = {
      {"allowedRoutes",
       {{"kinds", Json::array({{{"kind", "HTTPRoute"}}, {{"kind", "GRPCRoute"}}})}}}};
  CHECK(kinds(listener("a", "HTTP", 80, both)) == V{"HTTPRoute"});
  const Json tcp = {{"allowedRoutes", {{"kinds", Json::array({{{"kind", "TCPRoute"}}})}}}};
  CHECK(kinds(listener("a", "HTTP", 80, tcp)) == V{});
}

TEST_CASE("gateway status: route Accepted per parentRef") {
  const Json from_selector = {
      {"allowedRoutes",
       {{"namespaces",
         {{"from", "Selector"}, {"selector", {{"matchLabels", {{"gateway", "shared"}}}}}}}}}};
  const Json from_expressions = {
      {"allowedRoutes",
       {{"namespaces",
         {{"from", "Selector"},
          {"selector",
           {{"matchExpressions",
             Json::array({{{"key", "env"}, {"operator", "In"}, {"values", {"prod", "stage"}}},
                          {{"key", "team"}, {"operator", "NotIn"}, {"values", {"legacy"}}},
                          {{"key", "gateway"}, {"operator", "Exists"}},
                          {{"key", "blocked"}, {"operator", "DoesNotExist"}}})}}}}}}}};
  const Json by_name = {
      {"allowedRoutes",
       {{"namespaces",
         {{"from", "Selector"},
          {"selector", {{"matchLabels", {{"kubernetes.io/metadata.name", "production"}}}}}}}}}};
  const Json listeners =
      Json::array({listener("http", "HTTP", 80), listener("all", "HTTP", 8080, kFromAll),
                   listener("selected", "HTTP", 8081, from_selector),
                   listener("expr", "HTTP", 8082, from_expressions),
                   listener("named", "HTTP", 8083, by_name), listener("tcp", "TCP", 5432, kFromAll),
                   listener("foo", "HTTP", 8084,
                            {{"hostname", "*.foo.example.com"},
                             {"allowedRoutes", {{"namespaces", {{"from", "All"}}}}}})});
  auto parent = [](const std::string& section, std::optional<int> port = std::nullopt) {
    Json p = {{"name", "gw"}, {"namespace", "gw"}};
    if (!section.empty()) p["sectionName"] = section;
    if (port) p["port"] = *port;
    return p;
  };
  auto with_hosts = [](Json r, Json hosts) {
    r["spec"]["hostnames"] = std::move(hosts);
    return r;
  };
  Json unsupported = http_route("gw", "r", parent("http"));
  unsupported["spec"]["rules"][0]["filters"] =
      Json::array({{{"type", "ExtensionRef"}, {"extensionRef", {{"name", "x"}}}}});
  struct Case {
    std::string what;
    Json route;
    std::vector<Json> namespaces;
    std::string want;
    std::string message_part = "";
  };
  const Json labelled = namespace_("production", {{"gateway", "shared"}});
  const Json expr_ok =
      namespace_("production", {{"env", "prod"}, {"team", "web"}, {"gateway", "x"}});
  const Json expr_blocked = namespace_(
      "production", {{"env", "prod"}, {"team", "web"}, {"gateway", "x"}, {"blocked", "yes"}});
  const Json expr_legacy =
      namespace_("production", {{"env", "prod"}, {"team", "legacy"}, {"gateway", "x"}});
  const Json expr_dev = namespace_("production", {{"env", "dev"}, {"gateway", "x"}});
  const Json tcp_route =
      route("TCPRoute", "production", "r",
            {{"parentRefs", Json::array({parent("tcp")})},
             {"rules", Json::array({{{"backendRefs",
                                      Json::array({{{"name", "db"}, {"port", 5432}}})}}})}});
  // clang-format off
  const std::vector<Case> cases = {
      {"Same, from the Gateway's namespace", http_route("gw", "r", parent("http")), {},
       "True/Accepted"},
      {"Same (the default), from another", http_route("production", "r", parent("http")), {},
       "False/NotAllowedByListeners", "from gw only"},
      {"All", http_route("production", "r", parent("all")), {}, "True/Accepted"},
      {"Selector, labels match", http_route("production", "r", parent("selected")), {labelled},
       "True/Accepted"},
      {"Selector, labels do not", http_route("production", "r", parent("selected")),
       {namespace_("production", {{"gateway", "other"}})},
       "False/NotAllowedByListeners", "production's labels"},
      {"Selector, the namespace unknown", http_route("production", "r", parent("selected")), {},
       "False/NotAllowedByListeners"},
      {"matchExpressions met", http_route("production", "r", parent("expr")), {expr_ok},
       "True/Accepted"},
      {"matchExpressions: DoesNotExist", http_route("production", "r", parent("expr")),
       {expr_blocked}, "False/NotAllowedByListeners"},
      {"matchExpressions: NotIn", http_route("production", "r", parent("expr")), {expr_legacy},
       "False/NotAllowedByListeners"},
      {"matchExpressions: In", http_route("production", "r", parent("expr")), {expr_dev},
       "False/NotAllowedByListeners"},
      {"the namespace's name label", http_route("production", "r", parent("named")),
       {namespace_("production")}, "True/Accepted"},
      {"an HTTPRoute on a TCP listener", http_route("production", "r", parent("tcp")), {},
       "False/NotAllowedByListeners", "takes TCPRoute, not HTTPRoute"},
      {"the whole Gateway: some listener takes it", http_route("production", "r", parent("")), {},
       "True/Accepted"},
      {"no listener of that name", http_route("gw", "r", parent("https")), {},
       "False/NoMatchingParent", "named https"},
      {"no listener on that port", http_route("gw", "r", parent("", 9999)), {},
       "False/NoMatchingParent", "port 9999"},
      {"name and port disagree", http_route("gw", "r", parent("http", 8080)), {},
       "False/NoMatchingParent"},
      {"port alone", http_route("production", "r", parent("", 8080)), {}, "True/Accepted"},
      {"hostnames that meet the listener's",
       with_hosts(http_route("gw", "r", parent("foo")), {"a.foo.example.com"}), {},
       "True/Accepted"},
      {"hostnames that do not",
       with_hosts(http_route("gw", "r", parent("foo")), {"foo.example.com", "bar.example.com"}),
       {}, "False/NoMatchingListenerHostname"},
      {"an unsupported filter", unsupported, {}, "False/UnsupportedValue", "ExtensionRef"},
      {"GRPCRoute", route("GRPCRoute", "gw", "r", {{"parentRefs", Json::array({parent("http")})}}),
       {}, "False/NotAllowedByListeners", "HTTP/2"},
      {"TCPRoute on the TCP listener", tcp_route, {}, "True/Accepted"},
      {"TCPRoute on an HTTP listener",
       route("TCPRoute", "gw", "r", {{"parentRefs", Json::array({parent("http")})}}), {},
       "False/NotAllowedByListeners", "takes HTTPRoute, not TCPRoute"},
  };
  // clang-format on
  for (const auto& c : cases) {
    CAPTURE(c.what);
    GatewayInputs in = with_gateway(listeners);
    in.routes = {c.route};
    in.namespaces = c.namespaces;
    in.services.push_back(service("gw", "web", {80}));
    in.services.push_back(service("production", "web", {80}));
    in.services.push_back(service("production", "db", {5432}));
    const GatewayState s = gateway_compute(in);
    const std::string key = c.route["kind"].get<std::string>() + " " +
                            c.route["metadata"]["namespace"].get<std::string>() + "/r";
    const auto& cs = parent_conditions(s, key);
    CHECK(of(cs, "Accepted") == c.want);
    CHECK(of(cs, "ResolvedRefs") == "True/ResolvedRefs");
    if (!c.message_part.empty()) CHECK(contains(message(cs, "Accepted"), c.message_part));
    // Accepted routes are served; the others are not.
    CHECK(s.attachments.empty() == (c.want != "True/Accepted"));
  }
}

TEST_CASE("gateway status: parentRefs that are not ours get no status") {
  GatewayInputs in = with_gateway(Json::array({listener("http", "HTTP", 80, kFromAll)}));
  in.classes.push_back(gateway_class("nginx", "k8s.io/nginx"));
  in.gateways.push_back(gateway("gw", "theirs", Json::array({listener("http", "HTTP", 80)}),
                                {{"gatewayClassName", "nginx"}}));
  in.routes = {
      http_route("production", "theirs", {{"name", "theirs"}, {"namespace", "gw"}}),
      http_route("production", "nowhere", {{"name", "missing"}, {"namespace", "gw"}}),
      http_route("production", "service-parent",
                 {{"group", ""}, {"kind", "Service"}, {"name", "gw"}, {"namespace", "gw"}}),
      route("HTTPRoute", "production", "mixed",
            {{"parentRefs", Json::array({{{"name", "theirs"}, {"namespace", "gw"}},
                                         {{"name", "gw"}, {"namespace", "gw"}}})}}),
      route("UDPRoute", "production", "udp",
            {{"parentRefs", Json::array({{{"name", "gw"}, {"namespace", "gw"}}})}})};
  const GatewayState s = gateway_compute(in);
  CHECK(s.routes.count("HTTPRoute production/theirs") == 0);
  CHECK(s.routes.count("HTTPRoute production/nowhere") == 0);
  CHECK(s.routes.count("HTTPRoute production/service-parent") == 0);
  CHECK(s.routes.count("HTTPRoute production/udp") == 0);  // not read as an HTTPRoute
  CHECK(s.routes.count("UDPRoute production/udp") == 0);
  REQUIRE(s.routes.count("HTTPRoute production/mixed") == 1);
  const auto& mixed = s.routes.at("HTTPRoute production/mixed");
  CHECK(mixed.generation == 5);
  REQUIRE(mixed.parents.size() == 1);
  CHECK(mixed.parents[0].ref.name == "gw");
  CHECK(of(mixed.parents[0].conditions, "Accepted") == "True/Accepted");
  CHECK(s.warnings.empty());  // a route that is not ours is not ours to warn about
}

TEST_CASE("gateway status: route ResolvedRefs over backendRefs and mirrors") {
  auto backends = [](Json refs, const std::string& ns = "production") {
    return route("HTTPRoute", ns, "r",
                 {{"parentRefs", Json::array({{{"name", "gw"}, {"namespace", "gw"}}})},
                  {"rules", Json::array({{{"backendRefs", std::move(refs)}}})}});
  };
  Json mirror = backends(Json::array({{{"name", "web"}, {"port", 80}}}));
  mirror["spec"]["rules"][0]["filters"] = Json::array(
      {{{"type", "RequestHeaderModifier"}, {"requestHeaderModifier", {{"set", Json::array()}}}},
       {{"type", "RequestMirror"},
        {"requestMirror", {{"backendRef", {{"name", "shadow"}, {"port", 80}}}}}}});
  struct Case {
    std::string what;
    Json route;
    std::vector<Json> grants;
    std::string want, message = "";
    std::vector<bool> resolved = {};
    std::string warning = "";
  };
  const Json to_other = Json::array({{{"name", "web"}, {"namespace", "other"}, {"port", 80}}});
  const std::string there = "Services there: db (5432/TCP), web (80/TCP, 443/TCP)";
  // clang-format off
  const std::vector<Case> cases = {
      {"a Service and its port", backends(Json::array({{{"name", "web"}, {"port", 80}}})), {},
       "True/ResolvedRefs", "", {true}},
      {"a missing Service", backends(Json::array({{{"name", "api"}, {"port", 80}}})), {},
       "False/BackendNotFound",
       "Service production/api not found; "
       "Services in production: db (5432/TCP), web (80/TCP, 443/TCP)",
       {false},
       "HTTPRoute production/r: spec.rules[0].backendRefs[0]: "
       "Service \"api\" port 80 not found in production; " + there},
      {"a wrong port", backends(Json::array({{{"name", "web"}, {"port", 8080}}})), {},
       "False/BackendNotFound",
       "Service production/web has no port 8080; "
       "Services in production: db (5432/TCP), web (80/TCP, 443/TCP)",
       {false},
       "HTTPRoute production/r: spec.rules[0].backendRefs[0]: "
       "Service \"web\" port 8080 not found in production; " + there},
      {"a namespace without Services",
       backends(Json::array({{{"name", "web"}, {"port", 80}}}), "empty"), {},
       "False/BackendNotFound", "Service empty/web not found; no Services in empty", {false},
       "HTTPRoute empty/r: spec.rules[0].backendRefs[0]: "
       "Service \"web\" port 80 not found in empty; no Services there"},
      {"another namespace, no grant", backends(to_other), {},
       "False/RefNotPermitted", "a ReferenceGrant in other must allow HTTPRoutes from production",
       {false}},
      {"another namespace, granted", backends(to_other),
       {grant("other", "HTTPRoute", "production", "Service")}, "True/ResolvedRefs", "", {true}},
      {"granted by name", backends(to_other),
       {grant("other", "HTTPRoute", "production", "Service", "web")}, "True/ResolvedRefs", "",
       {true}},
      {"granted another name", backends(to_other),
       {grant("other", "HTTPRoute", "production", "Service", "db")}, "False/RefNotPermitted", "",
       {false}},
      {"granted to GRPCRoutes", backends(to_other),
       {grant("other", "GRPCRoute", "production", "Service")}, "False/RefNotPermitted", "",
       {false}},
      {"not a Service",
       backends(Json::array({{{"group", "example.com"}, {"kind", "Bucket"}, {"name", "b"}}})), {},
       "False/InvalidKind", "example.com/Bucket", {false}},
      {"the first failure names the condition, every failure is unresolved",
       backends(Json::array({{{"kind", "ConfigMap"}, {"name", "c"}},
                             {{"name", "web"}, {"port", 80}},
                             {{"name", "api"}, {"port", 80}}})),
       {}, "False/InvalidKind", "(and 1 more unresolved backendRefs)", {false, true, false},
       "HTTPRoute production/r: spec.rules[0].backendRefs[2]: "
       "Service \"api\" port 80 not found in production; " + there},
      {"a mirror to a missing Service", mirror, {}, "False/BackendNotFound",
       "Service production/shadow not found", {true},
       "HTTPRoute production/r: spec.rules[0].filters[1].requestMirror.backendRef: "
       "Service \"shadow\" port 80 not found in production; " + there},
  };
  // clang-format on
  for (const auto& c : cases) {
    CAPTURE(c.what);
    GatewayInputs in = with_gateway(Json::array({listener("http", "HTTP", 80, kFromAll)}));
    in.routes = {c.route};
    in.grants = c.grants;
    in.services.push_back(service("production", "web", {80, 443}));
    in.services.push_back(service("production", "db", {5432}));
    in.services.push_back(service("other", "web", {80}));
    const GatewayState s = gateway_compute(in);
    const std::string key =
        "HTTPRoute " + c.route["metadata"]["namespace"].get<std::string>() + "/r";
    const auto& cs = parent_conditions(s, key);
    // A route with unresolved backends (or mirrors) is still accepted (and
    // served: 500s; an unresolved mirror gets no copies).
    CHECK(of(cs, "Accepted") == "True/Accepted");
    CHECK(of(cs, "ResolvedRefs") == c.want);
    if (!c.message.empty()) CHECK(contains(message(cs, "ResolvedRefs"), c.message));
    REQUIRE(s.attachments.size() == 1);
    if (c.route == mirror) CHECK(!s.attachments[0].route->rules[0].filters.mirrors.at(0).resolved);
    std::vector<bool> resolved;
    for (const auto& b : s.attachments[0].route->rules[0].backends) resolved.push_back(b.resolved);
    CHECK(resolved == c.resolved);
    if (!c.warning.empty()) {
      REQUIRE(s.warnings.size() == 1);
      CHECK(s.warnings[0].str() == c.warning);
    }
    if (c.warning.empty()) CHECK(s.warnings.empty());  // only missing Services warn
  }
}

TEST_CASE("gateway status: attachedRoutes, attachments and their effective hostnames") {
  GatewayInputs in = with_gateway(Json::array(
      {listener("wild", "HTTP", 80, {{"hostname", "*.example.com"}}), listener("any", "HTTP", 8080),
       listener("tcp", "TCP", 5432), listener("other", "HTTP", 8081, {{"hostname", "other.test"}}),
       listener("udp", "UDP", 53)}));
  in.services = {service("gw", "cilium-gateway-gw", {80}, {"10.0.0.240"}),
                 service("gw", "web", {80}), service("gw", "db", {5432})};
  auto hosts = [](const std::string& name, Json hostnames, Json parents) {
    Json r = http_route("gw", name);
    r["spec"]["hostnames"] = std::move(hostnames);
    r["spec"]["parentRefs"] = std::move(parents);
    return r;
  };
  const Json whole = Json::array({{{"name", "gw"}, {"namespace", "gw"}}});
  in.routes = {
      // On wild and any (other's hostname does not meet it): counted on both.
      hosts("foo", {"foo.example.com"}, whole),
      // No hostnames: the listener's.
      hosts("all", Json::array(),
            Json::array({{{"name", "gw"}, {"namespace", "gw"}, {"sectionName", "wild"}}})),
      // Two parentRefs to one listener: attached once.
      hosts("twice", Json::array(),
            Json::array({{{"name", "gw"}, {"namespace", "gw"}, {"sectionName", "any"}},
                         {{"name", "gw"}, {"namespace", "gw"}, {"port", 8080}}})),
      route("TCPRoute", "gw", "db",
            {{"parentRefs",
              Json::array({{{"name", "gw"}, {"namespace", "gw"}, {"sectionName", "tcp"}}})},
             {"rules",
              Json::array({{{"backendRefs", Json::array({{{"name", "db"}, {"port", 5432}}})}}})}})};
  const GatewayState s = gateway_compute(in);
  std::map<std::string, int> attached;
  for (const auto& l : s.gateways.at("gw/gw").listeners) attached[l.name] = l.attached_routes;
  CHECK(attached ==
        std::map<std::string, int>{{"wild", 2}, {"any", 2}, {"tcp", 1}, {"other", 0}, {"udp", 0}});
  CHECK(s.routes.at("HTTPRoute gw/twice").parents.size() == 2);

  std::vector<std::string> got;
  for (const auto& a : s.attachments) {
    CHECK(a.gateway == "gw/gw");
    std::string h;
    for (const auto& x : a.hostnames) h += (h.empty() ? "" : ",") + x;
    got.push_back(a.listener + ":" + a.protocol + ":" + std::to_string(a.port) + " " +
                  a.route->name + " [" + h + "]");
  }
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<std::string>{"any:HTTP:8080 foo [foo.example.com]",
                                        "any:HTTP:8080 twice []", "tcp:TCP:5432 db []",
                                        "wild:HTTP:80 all [*.example.com]",
                                        "wild:HTTP:80 foo [foo.example.com]"});
  // One shared copy per route, whichever listeners it is on.
  std::set<const axon::gateway::Route*> foo;
  for (const auto& a : s.attachments)
    if (a.route->name == "foo") foo.insert(a.route.get());
  CHECK(foo.size() == 1);
}

TEST_CASE("gateway status: a listener that cannot be served counts routes but serves none") {
  GatewayInputs in = with_gateway(Json::array(
      {listener("a", "HTTP", 80), listener("b", "HTTP", 80), listener("tls", "HTTPS", 443)}));
  in.services.push_back(service("gw", "web", {80}));
  in.routes = {http_route("gw", "r")};
  const GatewayState s = gateway_compute(in);
  for (const auto& l : s.gateways.at("gw/gw").listeners) CHECK(l.attached_routes == 1);
  CHECK(of(parent_conditions(s, "HTTPRoute gw/r"), "Accepted") == "True/Accepted");
  CHECK(s.attachments.empty());  // a and b conflict, tls has no certificate
  CHECK(of(s.gateways.at("gw/gw").conditions, "Programmed") == "False/Invalid");
}

TEST_CASE("gateway status: the Services' ports") {
  GatewayInputs in = serving();
  in.classes = {gateway_class("cilium")};
  in.gateways = {gateway("gw", "a",
                         Json::array({listener("https", "HTTPS", 443),
                                      listener("x", "HTTP", 80, {{"hostname", "x.test"}}),
                                      listener("y", "HTTP", 80, {{"hostname", "y.test"}}),
                                      listener("dns", "UDP", 53), listener("db", "TCP", 5432)})),
                 gateway("other", "b", Json::array({listener("http", "HTTP", 8080)}))};
  const GatewayState s = gateway_compute(in);
  CHECK(s.services ==
        std::map<std::string, std::vector<int>>{{"gw/a", {80, 443, 5432}},
                                                {"other/b", {8080}}});
}

TEST_CASE("gateway status: the same state whatever the order of the inputs") {
  GatewayInputs in = with_gateway(Json::array({listener("http", "HTTP", 80, kFromAll)}));
  in.gateways.push_back(gateway("gw", "second",
                                Json::array({listener("http", "HTTP", 80, kFromAll)}),
                                Json::object(), "2026-01-02T00:00:00Z"));
  in.services.push_back(service("gw", "cilium-gateway-second", {80}, {"10.0.0.241"}));
  for (const auto* name : {"c", "a", "b"}) {
    Json r = http_route("production", name, {{"name", "gw"}, {"namespace", "gw"}}, "missing");
    r["spec"]["parentRefs"].push_back({{"name", "second"}, {"namespace", "gw"}});
    r["metadata"]["creationTimestamp"] =
        std::string("2026-01-0") + (*name == 'c' ? "1" : "2") + "T00:00:00Z";
    in.routes.push_back(r);
  }
  auto summary = [](const GatewayState& s) {
    std::string out;
    for (const auto& a : s.attachments) out += a.gateway + " " + a.route->name + "; ";
    for (const auto& w : s.warnings) out += w.route + "; ";
    return out;
  };
  const std::string want = summary(gateway_compute(in));
  CHECK(want ==
        "gw/gw c; gw/second c; gw/gw a; gw/second a; gw/gw b; gw/second b; "
        "HTTPRoute production/c; HTTPRoute production/a; HTTPRoute production/b; ");
  std::reverse(in.routes.begin(), in.routes.end());
  std::reverse(in.gateways.begin(), in.gateways.end());
  CHECK(summary(gateway_compute(in)) == want);
}

TEST_CASE("gateway status: conditions_json keeps lastTransitionTime while the status holds") {
  const std::vector<Condition> now = {{"Accepted", "True", "Accepted", ""},
                                      {"ResolvedRefs", "False", "BackendNotFound", "gone"},
                                      {"Programmed", "True", "Programmed", ""}};
  const Json previous = Json::parse(R"([
    {"type": "Accepted", "status": "True", "reason": "Accepted", "message": "",
     "observedGeneration": 1, "lastTransitionTime": "2026-01-01T00:00:00Z"},
    {"type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs", "message": "",
     "observedGeneration": 1, "lastTransitionTime": "2026-01-01T00:00:00Z"}])");
  const Json out = conditions_json(now, 7, previous, "2026-02-02T00:00:00Z");
  CHECK(out == Json::parse(R"([
    {"type": "Accepted", "status": "True", "reason": "Accepted", "message": "",
     "observedGeneration": 7, "lastTransitionTime": "2026-01-01T00:00:00Z"},
    {"type": "ResolvedRefs", "status": "False", "reason": "BackendNotFound", "message": "gone",
     "observedGeneration": 7, "lastTransitionTime": "2026-02-02T00:00:00Z"},
    {"type": "Programmed", "status": "True", "reason": "Programmed", "message": "",
     "observedGeneration": 7, "lastTransitionTime": "2026-02-02T00:00:00Z"}])"));
  // No previous status: every condition is new.
  const Json fresh = conditions_json(now, 1, nullptr, "2026-02-02T00:00:00Z");
  REQUIRE(fresh.size() == 3);
  for (const auto& c : fresh) {
    CHECK(c["lastTransitionTime"] == "2026-02-02T00:00:00Z");
    CHECK(c["observedGeneration"] == 1);
  }
}

TEST_CASE("gateway status: a listener the node proxies do not route is not Programmed") {
  GatewayInputs in = with_gateway(Json::array({listener("http", "HTTP", 80, kFromAll),
                                               listener("tcp", "TCP", 5432, kFromAll)}));
  in.served_protocols = {"TCP"};
  const GatewayState s = gateway_compute(in);
  const auto& g = s.gateways.begin()->second;
  REQUIRE(g.listeners.size() == 2);
  CHECK(g.listeners[0].conditions[1].status == "False");
  CHECK(g.listeners[0].conditions[1].reason == "Pending");
  CHECK(g.listeners[0].conditions[1].message == "axon's node proxies do not route HTTP listeners yet");
  CHECK(g.listeners[1].conditions[1].status == "True");
  CHECK(g.conditions[1].status == "True");  // one listener is in service
  in.served_protocols.clear();
  const GatewayState none = gateway_compute(in);
  CHECK(none.gateways.begin()->second.conditions[1].reason == "Pending");
}

TEST_CASE("gateway status: the proxies terminate TLS with each servable HTTPS listener's certificates") {
  const Json refs = {{"hostname", "api.example.com"},
                     {"tls", {{"certificateRefs", Json::array({{{"name", "cert"}}, {{"name", "other"}}})}}}};
  const Json cross = {{"tls", {{"certificateRefs", Json::array({{{"name", "cert"}, {"namespace", "certs"}}})}}}};
  GatewayInputs in = with_gateway(Json::array({listener("api", "HTTPS", 443, refs), listener("web", "HTTP", 80),
                                               listener("any", "HTTPS", 8443, cross)}));
  in.secrets = {secret("gw", "cert"), secret("gw", "other", "kubernetes.io/tls", tls_data("rsa", true)),
                secret("certs", "cert")};
  GatewayState s = gateway_compute(in);
  // Every certificateRef of the listener (an ECDSA and an RSA one), in order; the cross-namespace
  // one has no grant: not served.
  REQUIRE(s.certificates.size() == 2);
  CHECK(s.certificates[0].gateway == "gw/gw");
  CHECK(s.certificates[0].port == 443);
  CHECK(s.certificates[0].hostname == "api.example.com");
  CHECK(s.certificates[0].secret == "gw/cert");
  CHECK(s.certificates[1].hostname == "api.example.com");
  CHECK(s.certificates[1].secret == "gw/other");
  in.grants = {grant("certs", "Gateway", "gw", "Secret")};
  s = gateway_compute(in);
  REQUIRE(s.certificates.size() == 3);
  CHECK(s.certificates[2].port == 8443);
  CHECK(s.certificates[2].hostname.empty());
  CHECK(s.certificates[2].secret == "certs/cert");
  // Proxies that do not terminate TLS: none.
  in.served_protocols = {"HTTP"};
  CHECK(gateway_compute(in).certificates.empty());
}
