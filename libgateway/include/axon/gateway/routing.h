// Routing a request through a Gateway listener's routes, as the Gateway API
// spec orders them (../shared/reference/semantics.md §6):
//
//   RouteTable t;                          // one per listener port
//   t.add(route, {"api.example.com"});     // effective hostnames ({}: any host)
//   t.build();
//   RouteResult r = t.route({"GET", "/v1/x?a=b", "api.example.com:80", &headers});
//   r.action                               // Forward (r.backend), Redirect, NotFound, Error
//
// Hostnames: an exact name beats a wildcard, a longer wildcard a shorter
// one; a request no rule of its most specific host matches falls through to
// the next one (the spec orders rules across hostnames; Envoy-based
// gateways stop at the first host and answer 404: a choice, noted in
// ARCHITECTURE.md). Within a host: Exact path, then the longest
// PathPrefix (element-wise), then regular expressions; then a method match,
// more header matches, more query matches; then the oldest route, its
// namespace/name, and rule and match order. A lookup costs hash probes per
// path element, not a scan of the routes.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "axon/gateway/model.h"

namespace axon::gateway {

// Hostname patterns: `pattern` ("*.example.com" or a name) matches `name`
// (a name, or a wildcard treated as one more label). Case-insensitive.
bool hostname_matches(std::string_view pattern, std::string_view name);

// The hostnames a route serves on a listener: the intersection of both;
// empty = any host; nullopt = none in common (NoMatchingListenerHostname).
std::optional<std::vector<std::string>> intersect_hostnames(
    const std::string& listener, const std::vector<std::string>& route);

struct Request {
  std::string_view method, target, host;  // target: path[?query]; host: Host header
  const HeaderList* headers = nullptr;     // needed only when needs_headers()
};

struct RouteResult {
  enum class Action { NotFound, Forward, Redirect, Error };
  Action action = Action::NotFound;
  int status = 404;                   // NotFound 404, Error 500, Redirect's code
  const Route* route = nullptr;       // the rule's route (for flows and logs)
  const Rule* rule = nullptr;
  const Match* match = nullptr;
  const BackendRef* backend = nullptr;  // Forward
  std::string location;               // Redirect
  // URLRewrite: the new target (path[?query]) and Host; empty: unchanged.
  std::string target, host;
};

class RouteTable {
 public:
  RouteTable();
  ~RouteTable();
  RouteTable(RouteTable&&) noexcept;
  RouteTable& operator=(RouteTable&&) noexcept;

  // A route attached to this listener, with its effective hostnames. The
  // table keeps the route alive.
  void add(std::shared_ptr<const Route> route, std::vector<std::string> hostnames);
  void build();  // after the last add: sorts and indexes

  // `scheme` and `port`: the listener's, for redirects.
  RouteResult route(const Request& r, std::string_view scheme = "http", int port = 80) const;

  bool needs_headers() const { return needs_headers_; }
  size_t rules() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  bool needs_headers_ = false;
};

// A weighted choice among a rule's backends (weight 0: never chosen);
// nullptr when the weights total 0 or the choice falls on an unresolved
// backend (its share: 500 for a request, a refused TCP connection).
const BackendRef* pick_backend(const std::vector<BackendRef>& backends);

// Filter arithmetic, shared by redirects and rewrites.
// The path with the matched prefix replaced (element-wise).
std::string replace_prefix(std::string_view path, std::string_view prefix,
                           std::string_view replacement);
// A RequestRedirect's Location for a request.
std::string redirect_location(const Redirect& r, const Match& matched, std::string_view target,
                              std::string_view host, std::string_view scheme, int listener_port);
// Applies a header modifier to a header list (names case-insensitive).
void apply_header_modifier(const HeaderModifier& m, HeaderList& headers);

}  // namespace axon::gateway
