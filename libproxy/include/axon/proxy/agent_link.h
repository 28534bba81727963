// The node's HTTP proxy as its own process (Cilium's Envoy beside its
// agent): the agent makes the listening sockets and starts the process with
// them (connections wait in their backlog while it restarts), and the two
// talk over one unix stream socket, JSON lines both ways:
//
//   proxy -> agent  {"decide": {"id": N, "connection": {...}}}
//                   {"record": {...}}            one request, for L7 flows
//   agent -> proxy  {"gateway": {...}}           the Gateway listeners' routes
//                                                and endpoints (gateway_routes.h)
//                   {"rev": R}                   the policy changed (sent
//                                                on connect too): forget
//                                                every answer
//                   {"id": N, "rev": R, "decision": {...}}
//
// The proxy keeps the agent's answers per (proxy port, source, destination,
// port) until the next revision, so a policy change applies from the next
// request of a kept-alive connection and nothing is cut. Without the agent
// (not connected, or no answer in time) every request is denied: fail
// closed.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "axon/base/result.h"
#include "axon/proxy/gateway_routes.h"
#include "axon/proxy/http_proxy.h"

namespace axon::proxy {

namespace wire {
nlohmann::json to_json(const ConnectionInfo& c);
ConnectionInfo connection_from_json(const nlohmann::json& j);
nlohmann::json to_json(const Decision& d);
// Compiles the decision's rules again; a bad one: an error.
Result<Decision> decision_from_json(const nlohmann::json& j);
// {"record": {...}} and a newline, written without a DOM (one per
// request; read_record_line reads it); bytes above 0x7f in its strings
// taken as Latin-1.
std::string record_line(const RequestRecord& r);
// A {"record": ...} line read without a DOM; nullopt: not JSON.
std::optional<RequestRecord> read_record_line(std::string_view line);
}  // namespace wire

// The proxy process's end.
class AgentLink {
 public:
  explicit AgentLink(std::string socket_path,
                     std::chrono::milliseconds answer_timeout = std::chrono::seconds(2));
  ~AgentLink();  // stops
  AgentLink(const AgentLink&) = delete;
  AgentLink& operator=(const AgentLink&) = delete;

  void start();  // connects (and reconnects) on its own thread
  void stop();

  // The answer at hand for a connection: the agent's, kept for this
  // revision; a denial when the agent is not connected; nullopt: fetch it.
  std::optional<Decision> cached(const ConnectionInfo& c);
  // Asks the agent; `done` runs once on the link's thread (a denial when the
  // agent goes away or does not answer in time).
  void fetch(const ConnectionInfo& c, std::function<void(Decision)> done);
  // Sends a request's record to the agent (dropped, and counted, when the
  // agent is not connected or reads too slowly).
  void record(const RequestRecord& r);

  bool connected() const;
  uint64_t records_dropped() const;
  // The Gateway listeners' routes the agent last pushed ({"gateway": ...});
  // null: none yet.
  std::shared_ptr<const GatewayRoutes> gateway() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// An HttpProxy asking `link` (as the proxy process runs each listener).
std::unique_ptr<HttpProxy> linked_proxy(ProxyOptions o, AgentLink& link);

struct ProxyProcessOptions {
  std::string agent_socket;
  std::vector<int> listen_fds;  // inherited listening sockets, one HttpProxy each
  int gateway_fd = -1;          // the Gateway HTTP listeners' socket (routed, no policy)
  int gateway_tls_fd = -1;      // the Gateway HTTPS listeners' socket (TLS ends here, then routed)
  int gateway_passthrough_fd = -1;  // the Gateway TLS passthrough listeners' socket (TLSRoute)
  int gateway_tcp_fd = -1;      // the Gateway TCP listeners' socket (TCPRoute, tcp_relay.h)
  uint32_t socket_mark = 0;
  unsigned threads = 1;  // per listener
};

// The proxy process: serves every listener until `stop` (or the agent's
// socket is gone for good: the agent restarts it). Exit code.
int run_proxy_process(const ProxyProcessOptions& o, const std::atomic<bool>& stop);

}  // namespace axon::proxy
