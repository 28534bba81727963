// What the Gateway controller decides from the objects: every status it
// writes (GatewayClass, Gateway and its listeners, each route per parent)
// and what the node proxies serve (routes attached to listeners, with
// their effective hostnames and backends resolved). A pure function, as
// lbipam_allocate: the operator runs it on every change and writes what
// differs.
//
//   GatewayInputs in{classes, gateways, routes, grants, services, namespaces, secrets};
//   GatewayState s = gateway_compute(in);
//   s.gateways["gateway-api-system/shared-gateway"].conditions   // Accepted, Programmed
//   s.routes["HTTPRoute production/api-route"].parents[0]         // Accepted, ResolvedRefs
//   s.attachments                                                 // for the proxies
//
// Conditions and reasons are the Gateway API's (../shared/reference/
// semantics.md §6). Only GatewayClasses whose controllerName is
// io.cilium/gateway-controller, their Gateways, and routes whose parents
// are those Gateways are ours: the rest get no status from axon.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "axon/gateway/model.h"

namespace axon::gateway {

struct GatewayInputs {
  // Objects as the store holds them (metadata, spec, status).
  std::vector<Json> classes, gateways, routes, grants;
  std::vector<Json> services;    // v1 Services: ports, and cilium-gateway-* LB status
  std::vector<Json> namespaces;  // v1 Namespaces: labels for allowedRoutes Selector
  std::vector<Json> secrets;     // v1 Secrets: tls certificates
  // Listener protocols the node proxies route today. A listener of another
  // is Programmed=False (Pending), never reported as serving what it does
  // not: fail closed in the status too.
  std::set<std::string> served_protocols;
};

struct Condition {
  std::string type, status, reason, message;  // status "True" | "False" | "Unknown"
};

struct ListenerStatus {
  std::string name;
  int attached_routes = 0;
  std::vector<AllowedKind> supported_kinds;
  std::vector<Condition> conditions;  // Accepted, Programmed, ResolvedRefs, Conflicted
};

struct GatewayStatus {
  int64_t generation = 0;
  std::vector<std::string> addresses;  // the LB IP of cilium-gateway-<name>
  std::vector<Condition> conditions;   // Accepted, Programmed
  std::vector<ListenerStatus> listeners;
};

struct RouteParentStatus {
  ParentRef ref;
  std::vector<Condition> conditions;  // Accepted, ResolvedRefs
};

struct RouteStatus {
  RouteKind kind = RouteKind::HTTP;
  int64_t generation = 0;
  std::vector<RouteParentStatus> parents;  // ours only, in spec order
};

struct ClassStatus {
  int64_t generation = 0;
  std::vector<Condition> conditions;  // Accepted, SupportedVersion
};

// A route attached to a listener: what a node's proxy serves on that port.
struct Attachment {
  std::string gateway;  // namespace/name
  std::string listener;
  std::string protocol;  // the listener's
  int port = 0;
  std::shared_ptr<const Route> route;  // backends' `resolved` set
  std::vector<std::string> hostnames;  // effective: empty = any host
};

struct GatewayState {
  std::map<std::string, ClassStatus> classes;    // by name
  std::map<std::string, GatewayStatus> gateways;  // "namespace/name"
  std::map<std::string, RouteStatus> routes;      // "HTTPRoute namespace/name"
  std::vector<Attachment> attachments;
  // The certificates of each servable HTTPS listener (every one of its
  // certificateRefs, in order: references resolved, kubernetes.io/tls
  // Secrets), for the proxies to terminate TLS with (by SNI: the listener's
  // hostname; then by the client's signature algorithms, one per key type).
  struct Certificate {
    std::string gateway;   // namespace/name
    int port = 0;
    std::string hostname;  // the listener's; empty: any
    std::string secret;    // namespace/name
  };
  std::vector<Certificate> certificates;
  // Per Gateway ("namespace/name"), the ports of the LoadBalancer Service
  // it needs (cilium-gateway-<name> in its namespace).
  std::map<std::string, std::vector<int>> services;
  // Warnings for `apply`: a backend that names no Service, with the
  // Services and ports that do exist there.
  struct Warning {
    std::string route;  // "HTTPRoute production/api-route"
    std::string path;   // "spec.rules[0].backendRefs[0]"
    std::string message;
    std::string str() const { return route + ": " + path + ": " + message; }
  };
  std::vector<Warning> warnings;
};

GatewayState gateway_compute(const GatewayInputs& in);

// A status's conditions as the API has them: observedGeneration, and
// lastTransitionTime kept from `previous` (the object's current conditions)
// when the status did not change, else `now` (RFC 3339).
Json conditions_json(const std::vector<Condition>& conditions, int64_t generation,
                     const Json& previous, const std::string& now);

}  // namespace axon::gateway
