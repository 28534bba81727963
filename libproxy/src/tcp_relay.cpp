#include "axon/proxy/tcp_relay.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cctype>
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

using detail::Awaitable;
using detail::mark_option;
using detail::Socket;
using detail::Timer;
using detail::use_aw;

constexpr size_t kWindow = 16 * 1024;

// One relayed connection: both sockets, and when bytes last moved.
struct Pair {
  Socket client, upstream;
  std::chrono::steady_clock::time_point last;
  int open_directions = 2;
  Pair(Socket c, Socket u) : client(std::move(c)), upstream(std::move(u)) {}
  void close() {
    error_code ec;
    client.close(ec);
    upstream.close(ec);
  }
};

// Copies `from` to `to` until `from` ends (its FIN goes on as ours) or
// either fails (both closed).
Awaitable<> pump(std::shared_ptr<Pair> p, bool to_upstream) {
  Socket& from = to_upstream ? p->client : p->upstream;
  Socket& to = to_upstream ? p->upstream : p->client;
  std::array<char, kWindow> buf;
  for (;;) {
    error_code ec;
    const size_t n = co_await from.async_read_some(net::buffer(buf), net::redirect_error(use_aw, ec));
    if (ec == net::error::eof) {
      to.shutdown(tcp::socket::shutdown_send, ec);
      if (--p->open_directions == 0) p->close();
      co_return;
    }
    if (ec) break;
    p->last = std::chrono::steady_clock::now();
    co_await net::async_write(to, net::buffer(buf.data(), n), net::redirect_error(use_aw, ec));
    if (ec) break;
  }
  p->close();
}

// Closes the pair once nothing moved for `idle` (checked every idle/4, at
// most a minute apart).
Awaitable<> idle_watch(std::shared_ptr<Pair> p, std::chrono::milliseconds idle) {
  Timer t(co_await net::this_coro::executor);
  const auto step = std::min<std::chrono::milliseconds>(std::max<std::chrono::milliseconds>(idle / 4, std::chrono::milliseconds(10)),
                                                        std::chrono::minutes(1));
  while (p->client.is_open() || p->upstream.is_open()) {
    t.expires_after(step);
    error_code ec;
    co_await t.async_wait(net::redirect_error(use_aw, ec));
    if (std::chrono::steady_clock::now() - p->last > idle) {
      p->close();
      co_return;
    }
  }
}

void reset(Socket& s) {
  error_code ec;
  s.set_option(net::socket_base::linger(true, 0), ec);
  s.close(ec);
}

// Big-endian integers of `n` bytes at `p` (n <= 3).
size_t be(const unsigned char* p, int n) {
  size_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

constexpr size_t kHelloLimit = 64 * 1024;  // a ClientHello larger than this is refused

}  // namespace

HelloResult client_hello_server_name(std::string_view bytes, std::string& name) {
  name.clear();
  // The handshake messages, out of their records (a ClientHello may span
  // several).
  std::string hs;
  size_t off = 0;
  for (;;) {
    if (bytes.size() - off < 5) break;
    const auto* r = reinterpret_cast<const unsigned char*>(bytes.data() + off);
    if (r[0] != 0x16 || r[1] != 0x03) return HelloResult::NotTls;  // handshake, TLS 1.x
    const size_t len = be(r + 3, 2);
    if (len == 0 || len > 16384 + 2048) return HelloResult::NotTls;
    if (bytes.size() - off - 5 < len) break;
    hs.append(bytes.substr(off + 5, len));
    off += 5 + len;
  }
  if (off == 0 && bytes.size() >= 1 && static_cast<unsigned char>(bytes[0]) != 0x16) return HelloResult::NotTls;
  if (hs.size() < 4) return bytes.size() > kHelloLimit ? HelloResult::NotTls : HelloResult::NeedMore;
  const auto* h = reinterpret_cast<const unsigned char*>(hs.data());
  if (h[0] != 0x01) return HelloResult::NotTls;  // not a ClientHello
  const size_t body = be(h + 1, 3);
  if (body > kHelloLimit) return HelloResult::NotTls;
  if (hs.size() - 4 < body) return HelloResult::NeedMore;
  const unsigned char* p = h + 4;
  const unsigned char* end = p + body;
  auto skip = [&](size_t n) {
    if (static_cast<size_t>(end - p) < n) return false;
    p += n;
    return true;
  };
  auto vector = [&](int len_bytes) {  // skips a length-prefixed vector
    if (end - p < len_bytes) return false;
    const size_t n = be(p, len_bytes);
    p += len_bytes;
    return skip(n);
  };
  // version, random, session id, cipher suites, compression methods
  if (!skip(2 + 32) || !vector(1) || !vector(2) || !vector(1)) return HelloResult::NotTls;
  if (p == end) return HelloResult::Done;  // no extensions
  if (end - p < 2) return HelloResult::NotTls;
  const size_t ext_len = be(p, 2);
  p += 2;
  if (static_cast<size_t>(end - p) < ext_len) return HelloResult::NotTls;
  end = p + ext_len;
  while (end - p >= 4) {
    const size_t type = be(p, 2), len = be(p + 2, 2);
    p += 4;
    if (static_cast<size_t>(end - p) < len) return HelloResult::NotTls;
    if (type == 0 && len >= 2) {  // server_name: a list of (type, name)
      const unsigned char* q = p + 2;
      const unsigned char* list_end = std::min(p + 2 + be(p, 2), p + len);
      while (list_end - q >= 3) {
        const size_t n = be(q + 1, 2);
        if (static_cast<size_t>(list_end - q - 3) < n) return HelloResult::NotTls;
        if (q[0] == 0) {  // host_name
          name.assign(reinterpret_cast<const char*>(q + 3), n);
          for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          return HelloResult::Done;
        }
        q += 3 + n;
      }
    }
    p += len;
  }
  return HelloResult::Done;
}

struct TcpRelay::Impl {
  TcpRelayOptions o;
  Route route;
  detail::Server server;
  std::atomic<uint64_t> forwarded{0}, refused{0};

  Awaitable<> session(Socket client);
};

Awaitable<> TcpRelay::Impl::session(Socket client) {
  error_code ec;
  ConnectionInfo ci;
  {
    auto local = client.local_endpoint(ec);
    auto remote = client.remote_endpoint(ec);
    if (ec) co_return;
    ci = {remote.address().to_string(), remote.port(), local.address().to_string(), local.port(), server.bound_port, {}};
  }
  using namespace net::experimental::awaitable_operators;
  // TLS passthrough: the ClientHello first, for its server name; what was
  // read goes to the upstream before the rest.
  std::string hello;
  if (o.server_name) {
    Timer t(client.get_executor());
    t.expires_after(o.hello_timeout);
    std::array<char, 4096> buf;
    for (;;) {
      error_code timer_ec;
      size_t n = 0;
      auto done = co_await (client.async_read_some(net::buffer(buf), net::redirect_error(use_aw, ec)) ||
                            t.async_wait(net::redirect_error(use_aw, timer_ec)));
      if (done.index() == 1) ec = net::error::timed_out;
      else n = std::get<0>(done);
      if (ec) {
        ++refused;
        log::debug("tcp relay: {}:{}: no ClientHello ({})", ci.src_ip, ci.src_port, ec.message());
        reset(client);
        co_return;
      }
      hello.append(buf.data(), n);
      const HelloResult r = client_hello_server_name(hello, ci.server_name);
      if (r == HelloResult::Done) break;
      if (r == HelloResult::NotTls) {
        ++refused;
        log::debug("tcp relay: {}:{}: not a TLS ClientHello", ci.src_ip, ci.src_port);
        reset(client);
        co_return;
      }
    }
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
  Socket up(client.get_executor());
  up.open(tcp::v4(), ec);
  if (!ec && o.socket_mark != 0) up.set_option(mark_option(static_cast<int>(o.socket_mark)), ec);
  if (!ec) {
    // The connect, bounded by connect_timeout (whichever ends first
    // cancels the other).
    Timer t(client.get_executor());
    t.expires_after(o.connect_timeout);
    error_code timer_ec;
    auto done = co_await (up.async_connect(tcp::endpoint(addr, ra.upstream_port),
                                           net::redirect_error(use_aw, ec)) ||
                          t.async_wait(net::redirect_error(use_aw, timer_ec)));
    if (done.index() == 1) ec = net::error::timed_out;
  }
  if (ec) {
    ++refused;
    log::debug("tcp relay: upstream {}:{}: {}", ra.upstream_ip, ra.upstream_port, ec.message());
    reset(client);
    co_return;
  }
  client.set_option(tcp::no_delay(true), ec);
  up.set_option(tcp::no_delay(true), ec);
  if (!hello.empty()) {
    co_await net::async_write(up, net::buffer(hello), net::redirect_error(use_aw, ec));
    if (ec) {
      ++refused;
      reset(client);
      co_return;
    }
  }
  ++forwarded;
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
  return s.server.start(spec, [impl](Socket socket) { return impl->session(std::move(socket)); }, impl_);
}

void TcpRelay::stop() { impl_->server.stop(); }

uint16_t TcpRelay::port() const { return impl_->server.bound_port; }

TcpRelay::Stats TcpRelay::stats() const {
  return {impl_->server.connections.load(), impl_->forwarded.load(), impl_->refused.load()};
}

}  // namespace axon::proxy
