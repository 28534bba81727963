// The node proxy's Gateway TCP listener (TCPRoute, which Cilium's Gateway
// does not serve: cilium#21929): the datapath hands it a connection to a
// Gateway's TCP listener port, addresses untouched (lib/proxy.h); `route`
// picks the upstream (gateway_routes.h: the attached TCPRoute's backends by
// weight, then one of the Service's ready endpoints) and the bytes are
// relayed both ways, each side's end (FIN) passed on to the other, until
// both are done, one fails, or nothing moved for `idle_timeout`.
// Nothing to forward to (no route, an unresolved backend's share, no ready
// endpoint, the upstream refusing): the client's connection is reset.
//
// TLS passthrough (a TLS listener's TLSRoutes, `server_name`): the relay
// first reads the client's ClientHello, without answering it, for the
// server name it asks for (SNI, ConnectionInfo::server_name), routes by
// it, and sends the upstream the bytes read before relaying the rest: the
// TLS session is the client's and the backend's.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "axon/base/result.h"
#include "axon/proxy/http_proxy.h"

namespace axon::proxy {

struct TcpRelayOptions {
  uint16_t port = 0;
  std::string address = "0.0.0.0";
  int listen_fd = -1;        // an inherited listening socket; -1: its own
  bool transparent = true;   // IP_TRANSPARENT listener (tests listen plainly)
  uint32_t socket_mark = 0;  // SO_MARK of its sockets (AXON_MARK_FROM_PROXY)
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds idle_timeout{std::chrono::hours(1)};  // Envoy's tcp_proxy default
  unsigned threads = 1;
  bool server_name = false;  // TLS passthrough: route by the ClientHello's SNI
  std::chrono::milliseconds hello_timeout{10000};  // the ClientHello must be in by then
};

// The server name (SNI) of a TLS ClientHello at the start of `bytes` (its
// handshake records as they came): Done with `name` ("" when it asks for
// none), NeedMore while the ClientHello is not complete, NotTls when the
// bytes are not a ClientHello.
enum class HelloResult { Done, NeedMore, NotTls };
HelloResult client_hello_server_name(std::string_view bytes, std::string& name);

class TcpRelay {
 public:
  // Where a connection goes: upstream_ip/port, or status != 0 to refuse it.
  using Route = std::function<RouteAnswer(const ConnectionInfo&)>;

  TcpRelay(TcpRelayOptions options, Route route);
  ~TcpRelay();  // stops
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  Status start();
  void stop();
  uint16_t port() const;

  struct Stats {
    uint64_t connections = 0;  // accepted
    uint64_t forwarded = 0;    // relayed to an upstream
    uint64_t refused = 0;      // reset: no route or no upstream
  };
  Stats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace axon::proxy
