// Gateway API objects as axon reads them (../shared/reference/semantics.md
// §6): GatewayClass, Gateway with its listeners, HTTPRoute, GRPCRoute,
// TCPRoute and ReferenceGrant, parsed from the objects the store holds.
//
//   Route r = parse_route(object);       // HTTPRoute, GRPCRoute or TCPRoute
//   r.invalid                             // values axon cannot serve, by field
//
// Parsing never fails: the validator (libclient) rejects malformed input on
// apply; what reaches here from elsewhere (another client, an older axon) is
// read leniently and what cannot be served is listed in `invalid`, which the
// route's status reports (Accepted=False, UnsupportedValue).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace axon::gateway {

// The client's JSON (libclient/yaml.h): key order kept as written.
using Json = nlohmann::ordered_json;

inline constexpr const char* kGroup = "gateway.networking.k8s.io";
inline constexpr const char* kControllerName = "io.cilium/gateway-controller";
// The LoadBalancer Service each Gateway gets, in its namespace.
inline constexpr const char* kServicePrefix = "cilium-gateway-";

// A reference to another object: group "" is the core group.
struct ObjectRef {
  std::string group, kind, ns, name;
};

struct ParentRef {
  std::string group = kGroup, kind = "Gateway", ns, name, section;
  std::optional<int> port;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HeaderModifier {
  HeaderList set, add;
  std::vector<std::string> remove;
  bool empty() const { return set.empty() && add.empty() && remove.empty(); }
};

// ReplaceFullPath or ReplacePrefixMatch.
struct PathModifier {
  bool replace_prefix = false;
  std::string value;
};

struct Redirect {
  std::string scheme, hostname;  // empty: the request's
  std::optional<PathModifier> path;
  std::optional<int> port;
  int status = 302;
};

struct Rewrite {
  std::string hostname;  // empty: unchanged
  std::optional<PathModifier> path;
};

struct BackendRef;

struct Mirror {
  ObjectRef backend;
  std::optional<int> port;
  // The share of requests mirrored, exactly: `percent` is n/100, `fraction`
  // numerator/denominator (default 100); 0 (or less): none.
  int64_t numerator = 100, denominator = 100;
  bool resolved = false;  // set by the status computation
};

struct Filters {
  HeaderModifier request_headers, response_headers;
  std::optional<Redirect> redirect;
  std::optional<Rewrite> rewrite;
  std::vector<Mirror> mirrors;
  bool empty() const {
    return request_headers.empty() && response_headers.empty() && !redirect && !rewrite &&
           mirrors.empty();
  }
};

struct BackendRef {
  ObjectRef ref;  // group "" kind Service by default; ns defaults to the route's
  std::optional<int> port;
  int weight = 1;
  Filters filters;
  // Set by the status computation: the Service exists (with that port) and
  // the reference is permitted. A request given an unresolved one gets 500.
  bool resolved = true;
};

enum class PathType { Exact, PathPrefix, RegularExpression };

struct PathMatch {
  PathType type = PathType::PathPrefix;
  std::string value = "/";
};

struct ValueMatch {
  std::string name;  // headers: lower case (names are case-insensitive)
  std::string value;
  bool regex = false;
};

struct Match {
  PathMatch path;
  std::string method;  // empty: any
  std::vector<ValueMatch> headers, query;
};

struct Rule {
  std::string name;
  std::vector<Match> matches;  // none: PathPrefix "/"
  Filters filters;
  std::vector<BackendRef> backends;
  std::chrono::milliseconds request_timeout{0}, backend_timeout{0};  // 0: none
};

enum class RouteKind { HTTP, GRPC, TCP, TLS };
const char* route_kind_name(RouteKind k);  // "HTTPRoute", ...

struct Route {
  RouteKind kind = RouteKind::HTTP;
  std::string ns, name, created;  // created: RFC 3339 (compares as text)
  int64_t generation = 0;
  std::vector<ParentRef> parents;
  std::vector<std::string> hostnames;  // lower case
  std::vector<Rule> rules;
  std::vector<std::string> invalid;  // "spec.rules[0].matches[0].path.value: ..." (not served)
  std::string key() const { return ns + "/" + name; }
};

struct AllowedKind {
  std::string group = kGroup, kind;
};

struct Listener {
  std::string name, hostname, protocol;  // hostname lower case, empty: any
  int port = 0;
  std::string tls_mode;                 // Terminate (default with tls) | Passthrough
  std::vector<ObjectRef> certificates;  // tls.certificateRefs (Secrets)
  std::string from = "Same";            // Same | All | Selector
  Json selector;                        // when from is Selector
  std::vector<AllowedKind> kinds;       // empty: the protocol's default
};

struct Gateway {
  std::string ns, name, class_name, created;
  int64_t generation = 0;
  std::vector<Listener> listeners;
  std::vector<std::string> addresses;  // spec.addresses values asked for
  std::string key() const { return ns + "/" + name; }
};

struct GatewayClass {
  std::string name, controller;
  int64_t generation = 0;
};

struct ReferenceGrant {
  std::string ns;
  struct From {
    std::string group, kind, ns;
  };
  struct To {
    std::string group, kind, name;  // name empty: any
  };
  std::vector<From> from;
  std::vector<To> to;
};

Route parse_route(const Json& object);  // kind from the object
Gateway parse_gateway(const Json& object);
GatewayClass parse_gateway_class(const Json& object);
ReferenceGrant parse_reference_grant(const Json& object);

// Whether `grants` let an object of group/kind in namespace `from_ns` refer to
// `to` (in another namespace). Same-namespace references need no grant.
bool reference_permitted(const std::vector<ReferenceGrant>& grants, const std::string& from_group,
                         const std::string& from_kind, const std::string& from_ns,
                         const ObjectRef& to);

}  // namespace axon::gateway
