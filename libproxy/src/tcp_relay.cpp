#include "axon/proxy/tcp_relay.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "axon/base/log.h"
#include "server.h"

namespace axon::proxy {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

namespace {

using detail::mark_option;

constexpr size_t kWindow = 16 * 1024;

// One relayed connection: both sockets, and when bytes last moved.
struct Pair {
  tcp::socket client, upstream;
  std::chrono::steady_clock::time_point last;
  int open_directions = 2;
  Pair(tcp::socket c, tcp::socket u) : client(std::move(c)), upstream(std::move(u)) {}
  void close() {
    error_code ec;
    client.close(ec);
    upstream.close(ec);
  }
};

// Copies `from` to `to` until `from` ends (its FIN goes on as ours) or
// either fails (both closed).
net::awaitable<void> pump(std::shared_ptr<Pair> p, bool to_upstream) {
  tcp::socket& from = to_upstream ? p->client : p->upstream;
  tcp::socket& to = to_upstream ? p->upstream : p->client;
  std::array<char, kWindow> buf;
  for (;;) {
    error_code ec;
    const size_t n = co_await from.async_read_some(net::buffer(buf), net::redirect_error(net::use_awaitable, ec));
    if (ec == net::error::eof) {
      to.shutdown(tcp::socket::shutdown_send, ec);
      if (--p->open_directions == 0) p->close();
      co_return;
    }
    if (ec) break;
    p->last = std::chrono::steady_clock::now();
    co_await net::async_write(to, net::buffer(buf.data(), n), net::redirect_error(net::use_awaitable, ec));
    if (ec) break;
  }
  p->close();
}

// Closes the pair once nothing moved for `idle` (checked every idle/4, at
// most a minute apart).
net::awaitable<void> idle_watch(std::shared_ptr<Pair> p, std::chrono::milliseconds idle) {
  net::steady_timer t(co_await net::this_coro::executor);
  const auto step = std::min<std::chrono::milliseconds>(std::max<std::chrono::milliseconds>(idle / 4, std::chrono::milliseconds(10)),
                                                        std::chrono::minutes(1));
  while (p->client.is_open() || p->upstream.is_open()) {
    t.expires_after(step);
    error_code ec;
    co_await t.async_wait(net::redirect_error(net::use_awaitable, ec));
    if (std::chrono::steady_clock::now() - p->last > idle) {
      p->close();
      co_return;
    }
  }
}

void reset(tcp::socket& s) {
  error_code ec;
  s.set_option(net::socket_base::linger(true, 0), ec);
  s.close(ec);
}

}  // namespace

struct TcpRelay::Impl {
  TcpRelayOptions o;
  Route route;
  detail::Server server;
  std::atomic<uint64_t> forwarded{0}, refused{0};

  net::awaitable<void> session(tcp::socket client);
};

net::awaitable<void> TcpRelay::Impl::session(tcp::socket client) {
  error_code ec;
  ConnectionInfo ci;
  {
    auto local = client.local_endpoint(ec);
    auto remote = client.remote_endpoint(ec);
    if (ec) co_return;
    ci = {remote.address().to_string(), remote.port(), local.address().to_string(), local.port(), server.bound_port};
  }
  const RouteAnswer ra = route(ci);
  auto addr = ra.status == 0 ? net::ip::make_address(ra.upstream_ip, ec) : net::ip::address();
  if (ra.status != 0 || ec) {
    ++refused;
    log::debug("tcp relay: {}:{} -> {}:{}: refused ({})", ci.src_ip, ci.src_port, ci.dst_ip, ci.dst_port,
               ra.status);
    reset(client);
    co_return;
  }
  tcp::socket up(client.get_executor());
  up.open(tcp::v4(), ec);
  if (!ec && o.socket_mark != 0) up.set_option(mark_option(static_cast<int>(o.socket_mark)), ec);
  if (!ec) {
    // The connect, bounded by connect_timeout (whichever ends first
    // cancels the other).
    using namespace net::experimental::awaitable_operators;
    net::steady_timer t(client.get_executor());
    t.expires_after(o.connect_timeout);
    error_code timer_ec;
    auto done = co_await (up.async_connect(tcp::endpoint(addr, ra.upstream_port),
                                           net::redirect_error(net::use_awaitable, ec)) ||
                          t.async_wait(net::redirect_error(net::use_awaitable, timer_ec)));
    if (done.index() == 1) ec = net::error::timed_out;
  }
  if (ec) {
    ++refused;
    log::debug("tcp relay: upstream {}:{}: {}", ra.upstream_ip, ra.upstream_port, ec.message());
    reset(client);
    co_return;
  }
  ++forwarded;
  client.set_option(tcp::no_delay(true), ec);
  up.set_option(tcp::no_delay(true), ec);
  auto p = std::make_shared<Pair>(std::move(client), std::move(up));
  p->last = std::chrono::steady_clock::now();
  auto ex = co_await net::this_coro::executor;
  net::co_spawn(ex, pump(p, false), net::detached);
  net::co_spawn(ex, idle_watch(p, o.idle_timeout), net::detached);
  co_await pump(p, true);
}

TcpRelay::TcpRelay(TcpRelayOptions options, Route route) : impl_(std::make_shared<Impl>()) {
  impl_->o = std::move(options);
  impl_->route = std::move(route);
}

TcpRelay::~TcpRelay() { stop(); }

Status TcpRelay::start() {
  auto& s = *impl_;
  detail::ListenSpec spec{s.o.listen_fd, s.o.address, s.o.port, s.o.transparent, s.o.socket_mark, s.o.threads,
                          "tcp relay"};
  Impl* impl = impl_.get();
  return s.server.start(spec, [impl](tcp::socket socket) { return impl->session(std::move(socket)); }, impl_);
}

void TcpRelay::stop() { impl_->server.stop(); }

uint16_t TcpRelay::port() const { return impl_->server.bound_port; }

TcpRelay::Stats TcpRelay::stats() const {
  return {impl_->server.connections.load(), impl_->forwarded.load(), impl_->refused.load()};
}

}  // namespace axon::proxy
