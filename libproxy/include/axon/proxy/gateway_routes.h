// What the node proxy's Gateway listener serves (Cilium's Envoy listeners,
// routes and endpoints for its Gateways, as xDS would give them): a
// snapshot the agent pushes whenever a Gateway, a route or a backend's
// endpoints change, and the routing of one request through it.
//
//   agent:  line = wire::gateway_line(snapshot)        {"gateway": {...}}
//   proxy:  auto routes = GatewayRoutes::from_json(j)  // RouteTables built once
//           RouteAnswer a = routes->route(connection, request);
//
// TCP listeners (TCPRoute, tcp_relay.h): a connection goes to one of the
// oldest attached route's backends by weight. HTTPS listeners: TLS ends in
// the proxy with the listener's certificate (by SNI), then as HTTP.
//
// A connection is matched to its Gateway listener by its original
// destination (the frontend the datapath handed over: a LoadBalancer IP, the
// ClusterIP or the node's address and nodePort); a request by the listener's
// RouteTable (libgateway/routing.h). The backend Service's ready endpoints
// are picked at random per request (its share among a rule's backendRefs is
// the route's weights). No listener for the frontend, or no route: 404; a
// backend that is unresolved or has no ready endpoint: 500 (Cilium's
// Envoy: 500 for an unresolved ref, 503 for no healthy upstream).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "axon/base/result.h"
#include "axon/proxy/http_proxy.h"
#include "axon/proxy/http_rules.h"

namespace axon::gateway {
struct BackendRef;
}

namespace axon::proxy {

// What the agent sends. Route objects go as the store holds them (the proxy
// parses them again with libgateway); `resolved` gives each rule's
// backendRefs' resolution as the status computation found it.
struct GatewaySnapshot {
  struct Frontend {
    std::string ip;
    uint16_t port = 0;
    std::string gateway;         // namespace/name
    uint16_t listener_port = 0;  // the Gateway listener's port this frontend serves
  };
  struct AttachedRoute {
    nlohmann::json object;                   // the HTTPRoute as stored
    std::vector<std::string> hostnames;      // effective on the listener; empty: any
    std::vector<std::vector<bool>> resolved;  // [rule][backendRef]
    std::vector<std::vector<bool>> mirrors;   // [rule][RequestMirror]: resolved
  };
  struct Listener {
    std::string gateway;  // namespace/name
    uint16_t port = 0;
    std::string protocol;  // HTTP, HTTPS, TLS (passthrough) or TCP
    std::vector<AttachedRoute> routes;
  };
  // An HTTPS listener's certificate (its Secret's tls.crt and tls.key, PEM).
  struct Certificate {
    std::string gateway;  // namespace/name
    uint16_t port = 0;
    std::string hostname;  // the listener's (SNI); empty: any
    std::string cert, key;
  };
  std::vector<Frontend> frontends;
  std::vector<Listener> listeners;
  std::vector<Certificate> certificates;
  // "namespace/service:port" -> ready endpoints "ip:port".
  std::map<std::string, std::vector<std::string>> endpoints;
};

namespace wire {
nlohmann::json to_json(const GatewaySnapshot& s);
// {"gateway": {...}} and a newline.
std::string gateway_line(const GatewaySnapshot& s);
}  // namespace wire

class GatewayRoutes {
 public:
  // Builds every listener's RouteTable; a malformed snapshot: an error.
  static Result<std::shared_ptr<const GatewayRoutes>> from_json(const nlohmann::json& j);
  ~GatewayRoutes();

  // Where the request goes (an endpoint, the request's rewrites and header
  // changes) or what the proxy answers (404, 500, a redirect).
  RouteAnswer route(const ConnectionInfo& c, const HttpRequestView& request) const;
  // A TCP listener's connection: the oldest attached TCPRoute's backends by
  // weight, then an endpoint; status != 0: refuse it (404 no listener or
  // route, 500 an unresolved backend's share, 503 no ready endpoint). A TLS
  // (passthrough) listener's: the TLSRoute for c.server_name (an exact
  // hostname, the longest wildcard, then one for any host; oldest first).
  RouteAnswer route_tcp(const ConnectionInfo& c) const;

  size_t listeners() const;

  // An HTTPS listener's TLS context for a connection: its original
  // destination's Gateway port, then the client's server name (SNI) by the
  // listeners' hostnames (exact, then the longest wildcard, then a listener
  // without one); null when none matches (Envoy: no filter chain).
  std::shared_ptr<ssl_ctx_st> certificate(const ConnectionInfo& c, const std::string& server_name) const;
  // Certificates that did not load (PEM that does not parse, a key that is
  // not the certificate's), one line each: their listeners fail handshakes.
  const std::vector<std::string>& problems() const;

 private:
  GatewayRoutes();
  bool pick_endpoint(const gateway::BackendRef& b, RouteAnswer& a) const;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace axon::proxy
