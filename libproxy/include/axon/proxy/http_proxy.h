// The node's HTTP/1.1 proxy (Cilium's per-node Envoy, for http rules): a
// transparent listener the datapath hands redirected connections to
// (lib/proxy.h: the accepted socket carries the original destination),
// which asks `Decide` for each request what the connection's requests may do
// (the agent answers from the policy, source identity included, and caches
// its answers until the policy changes), answers
// requests the rules do not allow with 403 "Access denied" and forwards the
// rest to the original destination.
//
// HTTP/1.1 with keep-alive on both sides, bodies streamed in both
// directions through a fixed window (never a whole body in memory; a slow
// reader slows the writer), limits and timeouts answered as Envoy does:
// 400 malformed, 408 request not complete in time, 413 body over the
// limit, 431 request line and headers over the limit, 503 when the original
// destination does not answer (or, keeping the client's source, the
// client's 4-tuple is still taken by an earlier upstream connection). Routing (where a request goes) and policy
// (whether it may) stay apart: the Gateway API builds routing on this.
//
// Upstream connections: one at a time per client connection, kept alive
// across its requests while they go to the same place. Keeping the
// client's address (policy's redirect) it has the client's 4-tuple and is
// the client connection's alone; else (routed requests) it goes back to a
// pool per upstream address when the client connection ends or its next
// request goes elsewhere, for any client connection to take (Envoy's
// upstream connection pools). A request without a body that finds a
// reused connection closed by the upstream is sent again once, on a new one.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "axon/base/result.h"
#include "axon/proxy/http_rules.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace axon::proxy {

struct ConnectionInfo {
  std::string src_ip;
  uint16_t src_port = 0;
  std::string dst_ip;  // the original destination
  uint16_t dst_port = 0;
  uint16_t listener_port = 0;  // which proxy port the datapath chose
  std::string server_name;     // TLS passthrough: the ClientHello's SNI ("" none)
};

// What a connection's requests may do.
struct Decision {
  std::shared_ptr<const HttpRuleSet> rules;  // null: every request denied
  // Rules a request must pass as well: egress to a pod of the same node, the
  // destination's ingress rules (the upstream connection is the proxy's and
  // is not redirected to it again).
  std::shared_ptr<const HttpRuleSet> peer_rules;
  std::string reason;                        // why, when there are no rules (logged)
  uint32_t src_identity = 0;
  uint32_t dst_identity = 0;
  bool ingress = true;  // held to the destination's ingress rules (else the source's egress)
  // The upstream connection keeps the client's address and port (a
  // transparent socket): the destination's policy sees the client, and the
  // datapath steers the answers back to the proxy (lib/proxy.h).
  bool keep_source = false;
  // Routing: where allowed requests go; empty: the original destination.
  std::string upstream_ip;
  uint16_t upstream_port = 0;
};

// Where a Gateway listener's request goes (gateway_routes.h), or what the
// proxy answers in its place.
struct RouteAnswer {
  unsigned status = 0;   // != 0: answered by the proxy (404, 500, a redirect's code)
  std::string location;  // a redirect's Location
  std::string upstream_ip;  // else: the endpoint chosen
  uint16_t upstream_port = 0;
  std::string target, host;  // URLRewrite: the new target and Host; empty: unchanged
  // RequestHeaderModifier (and the rule's backend's), then
  // ResponseHeaderModifier on the answer.
  std::vector<std::pair<std::string, std::string>> set_headers, add_headers;
  std::vector<std::string> remove_headers;
  std::vector<std::pair<std::string, std::string>> response_set, response_add;
  std::vector<std::string> response_remove;
  std::string route;  // "HTTPRoute namespace/name", for logs
  // The rule's timeouts (the shorter of request and backendRequest: one
  // try): the answer's header must come by then, counted from the
  // request's header, else 504 (Envoy's route timeout); 0: none.
  std::chrono::milliseconds timeout{0};
  // RequestMirror: endpoints that get a copy of the request (their answers
  // ignored; Host with "-shadow" appended, as Envoy's).
  std::vector<std::pair<std::string, uint16_t>> mirrors;
};

// One request and its answer, for L7 flows.
struct RequestRecord {
  ConnectionInfo connection;
  uint32_t src_identity = 0;
  uint32_t dst_identity = 0;
  bool ingress = true;
  std::string method;
  std::string url;  // "http://host/path?query"
  std::string protocol = "HTTP/1.1";
  std::vector<std::pair<std::string, std::string>> headers;
  unsigned code = 0;     // the status sent to the client
  bool forwarded = false;  // false: answered by the proxy (denied or error)
  std::chrono::nanoseconds latency{0};
};

struct ProxyOptions {
  uint16_t port = 15001;
  std::string address = "0.0.0.0";
  unsigned threads = 1;
  uint32_t header_limit = 60 * 1024;            // request line + headers (Envoy's 60 KiB)
  uint64_t body_limit = 0;                      // 0: unlimited (streamed)
  std::chrono::milliseconds header_timeout{30000};  // a request started must be complete by then
  std::chrono::milliseconds idle_timeout{60000};    // keep-alive connection without a request
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds io_timeout{60000};  // no progress on a body or response
  // SO_MARK of the proxy's sockets, upstream and accepted
  // (AXON_MARK_FROM_PROXY: the datapath never hands them back to the proxy).
  uint32_t socket_mark = 0;
  bool transparent = true;     // IP_TRANSPARENT listener (tests may listen plainly)
  // A listening socket made for it (the agent's, inherited by the proxy
  // process: connections wait in its backlog while the proxy restarts);
  // -1: the proxy makes its own from port, address, transparent and mark.
  int listen_fd = -1;
  // Idle upstream connections kept per upstream address, and for how long.
  size_t pool_max_idle = 64;
  std::chrono::milliseconds pool_idle_timeout{60000};
};

class HttpProxy {
 public:
  // What a connection's requests may do, asked before each request; no
  // answer at hand (nullopt): `fetch` is asked and the request waits for it.
  using Decide = std::function<std::optional<Decision>(const ConnectionInfo&)>;
  // Answers exactly once, on any thread (the proxy process asks the agent).
  using Fetch = std::function<void(const ConnectionInfo&, std::function<void(Decision)> done)>;
  using Record = std::function<void(const RequestRecord&)>;
  // A Gateway listener: every request is routed (no policy asked).
  using Router = std::function<RouteAnswer(const ConnectionInfo&, const HttpRequestView&)>;

  HttpProxy(ProxyOptions options, Decide decide, Record record = {}, Fetch fetch = {});
  ~HttpProxy();  // stops
  HttpProxy(const HttpProxy&) = delete;
  HttpProxy& operator=(const HttpProxy&) = delete;

  // Makes this a Gateway listener (before start).
  void set_router(Router router);
  // Makes it an HTTPS listener (before start): every connection's TLS
  // handshake takes the certificate `select` gives for its original
  // destination and the server name the client asked for (SNI; "" when it
  // sent none); null: the handshake fails (unrecognized_name).
  using TlsSelect =
      std::function<std::shared_ptr<ssl_ctx_st>(const ConnectionInfo&, const std::string& server_name)>;
  void set_tls(TlsSelect select);

  // Listens and starts serving on its threads.
  Status start();
  // Stops accepting and closes every connection.
  void stop();
  uint16_t port() const;  // the bound port (options.port, or the one picked for 0)

  struct Stats {
    uint64_t connections = 0;
    uint64_t requests = 0;
    uint64_t denied = 0;
    uint64_t errors = 0;  // answered 4xx/5xx by the proxy other than 403
    uint64_t upstream_connects = 0;  // upstream connections opened
    uint64_t upstream_reused = 0;    // taken from the pool instead
    uint64_t tls_failures = 0;       // TLS handshakes that failed
    uint64_t mirrored = 0;           // request copies sent to mirrors
    uint64_t mirror_skipped = 0;     // not mirrored: a body over 1 MiB, or the mirror failed
  };
  Stats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace axon::proxy
