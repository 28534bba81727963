// DnsProxy on Boost.Asio coroutines, one thread. UDP: the listener reads each
// datagram with its original destination (IP_RECVORIGDSTADDR); a coroutine
// per query asks the server over its own socket and sends the answer from a
// transparent socket bound to the server's address (the pod sees its server
// answer). TCP: one coroutine per connection, queries in turn (RFC 1035
// 2-byte length framing), one upstream connection kept for it.
#include "axon/proxy/dns_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <boost/asio.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "axon/base/log.h"

namespace axon::proxy {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using udp = net::ip::udp;
using boost::system::error_code;

namespace {

using transparent_option = net::detail::socket_option::boolean<SOL_IP, IP_TRANSPARENT>;
using mark_option = net::detail::socket_option::integer<SOL_SOCKET, SO_MARK>;

ConnectionInfo info_of(const net::ip::address& src, uint16_t sport, const net::ip::address& dst,
                       uint16_t dport, uint16_t listener) {
  return {src.to_string(), sport, dst.to_string(), dport, listener, {}};
}

}  // namespace

struct DnsProxy::Impl {
  DnsProxyOptions o;
  Decide decide;
  Record record;
  Learn learn;
  net::io_context ioc;
  std::optional<udp::socket> udp_listener;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::thread thread;
  uint16_t bound_port = 0;
  std::atomic<uint64_t> queries{0}, refused{0}, failed{0};
  std::optional<udp::endpoint> upstream;
  // Sockets bound (transparently) to a server's address, to answer from it.
  std::map<udp::endpoint, int> reply_fds;

  ~Impl() {
    for (auto& [ep, fd] : reply_fds) ::close(fd);
  }

  net::awaitable<void> udp_loop();
  net::awaitable<void> udp_query(std::vector<uint8_t> q, udp::endpoint client, udp::endpoint server);
  net::awaitable<void> tcp_accept_loop();
  net::awaitable<void> tcp_session(tcp::socket s);
  void send_from(const udp::endpoint& server, const udp::endpoint& client, const std::vector<uint8_t>& m);

  // What the rules say of `q`; records the query. Returns the reply to send
  // at once (REFUSED), or nothing: forward it.
  std::optional<std::vector<uint8_t>> judge(const ConnectionInfo& ci, bool udp_, std::span<const uint8_t> wire,
                                            const DnsMessage& q, DnsDecision& d, DnsExchange& ex) {
    ++queries;
    d = decide ? decide(ci, udp_) : DnsDecision{nullptr, "no policy", 0, 0};
    ex.connection = ci;
    ex.udp = udp_;
    ex.src_identity = d.src_identity;
    ex.dst_identity = d.dst_identity;
    ex.query = q.qname;
    ex.qtype = q.qtype;
    const bool allowed = d.rules && d.rules->allows(q.qname);
    ex.forwarded = allowed;
    if (record) record(ex);
    if (allowed) return std::nullopt;
    ++refused;
    if (!d.rules) log::debug("dns proxy: {} from {}: {}", q.qname, ci.src_ip, d.reason);
    return dns_error_reply(wire, q, kDnsRefused);
  }

  // Records the answer (after Learn saw an allowed one).
  void answered(const ConnectionInfo& ci, const DnsDecision& d, DnsExchange ex, const DnsMessage* a,
                uint8_t rcode, std::chrono::steady_clock::time_point start) {
    if (a != nullptr && learn && ex.forwarded) learn(ci, d, *a);
    if (!record) return;
    ex.response = true;
    ex.rcode = rcode;
    ex.latency = std::chrono::steady_clock::now() - start;
    if (a != nullptr) {
      bool first = true;
      for (const auto& r : a->answers) {
        ex.rrtypes.push_back(r.type);
        if (r.type == kDnsTypeA) ex.ips.push_back(r.data);
        if (r.type == kDnsTypeCname) ex.cnames.push_back(r.data);
        ex.ttl = first ? r.ttl : std::min(ex.ttl, r.ttl);
        first = false;
      }
    }
    record(ex);
  }
};

void DnsProxy::Impl::send_from(const udp::endpoint& server, const udp::endpoint& client,
                               const std::vector<uint8_t>& m) {
  int fd = -1;
  if (!o.transparent) {
    fd = udp_listener->native_handle();  // tests: from the address asked
  } else if (auto it = reply_fds.find(server); it != reply_fds.end()) {
    fd = it->second;
  } else {
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    const int one = 1, mark = static_cast<int>(o.socket_mark);
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (o.transparent) ::setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof one);
    if (mark != 0) ::setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(server.port());
    a.sin_addr.s_addr = htonl(server.address().to_v4().to_uint());
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      log::warn("dns proxy: answer from {}: bind: {}", server.address().to_string(), std::strerror(errno));
      ::close(fd);
      return;
    }
    if (reply_fds.size() > 1024) {
      for (auto& [ep, f] : reply_fds) ::close(f);
      reply_fds.clear();
    }
    reply_fds[server] = fd;
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(client.port());
  to.sin_addr.s_addr = htonl(client.address().to_v4().to_uint());
  (void)::sendto(fd, m.data(), m.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&to), sizeof to);
}

net::awaitable<void> DnsProxy::Impl::udp_loop() {
  const int fd = udp_listener->native_handle();
  std::vector<uint8_t> buf(65536);
  for (;;) {
    error_code ec;
    co_await udp_listener->async_wait(udp::socket::wait_read, net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return;
    for (;;) {
      sockaddr_in from{};
      char control[64];
      iovec iov{buf.data(), buf.size()};
      msghdr mh{};
      mh.msg_name = &from;
      mh.msg_namelen = sizeof from;
      mh.msg_iov = &iov;
      mh.msg_iovlen = 1;
      mh.msg_control = control;
      mh.msg_controllen = sizeof control;
      const ssize_t n = ::recvmsg(fd, &mh, MSG_DONTWAIT);
      if (n < 0) break;
      std::optional<udp::endpoint> orig;
      for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_ORIGDSTADDR) {
          sockaddr_in d{};
          std::memcpy(&d, CMSG_DATA(c), sizeof d);
          orig = udp::endpoint(net::ip::address_v4(ntohl(d.sin_addr.s_addr)), ntohs(d.sin_port));
        }
      }
      if (upstream) orig = upstream;
      if (!orig) continue;
      udp::endpoint client(net::ip::address_v4(ntohl(from.sin_addr.s_addr)), ntohs(from.sin_port));
      net::co_spawn(ioc, udp_query(std::vector<uint8_t>(buf.begin(), buf.begin() + n), client, *orig),
                    net::detached);
    }
  }
}

net::awaitable<void> DnsProxy::Impl::udp_query(std::vector<uint8_t> wire, udp::endpoint client,
                                               udp::endpoint server) {
  auto q = parse_dns(wire);
  if (!q || q->response) co_return;  // not a query: nothing to answer
  const auto start = std::chrono::steady_clock::now();
  const ConnectionInfo ci = info_of(client.address(), client.port(), server.address(), server.port(), bound_port);
  DnsDecision d;
  DnsExchange ex;
  if (auto reply = judge(ci, true, wire, *q, d, ex)) {
    answered(ci, d, ex, nullptr, kDnsRefused, start);
    send_from(server, client, *reply);
    co_return;
  }
  error_code ec;
  udp::socket up(ioc);
  up.open(udp::v4(), ec);
  if (!ec && o.socket_mark != 0) up.set_option(mark_option(static_cast<int>(o.socket_mark)), ec);
  if (!ec) up.connect(server, ec);
  if (!ec) co_await up.async_send(net::buffer(wire), net::redirect_error(net::use_awaitable, ec));
  std::vector<uint8_t> answer(65536);
  size_t n = 0;
  if (!ec) {
    bool timed_out = false;
    net::steady_timer timer(ioc, o.timeout);
    timer.async_wait([&timed_out, &up](const error_code& e) {
      if (e) return;
      timed_out = true;
      error_code ignored;
      up.cancel(ignored);
    });
    // The server's answer to this query (a stray datagram is skipped).
    for (;;) {
      n = co_await up.async_receive(net::buffer(answer), net::redirect_error(net::use_awaitable, ec));
      if (ec || (n >= 2 && answer[0] == wire[0] && answer[1] == wire[1])) break;
    }
    timer.cancel();
    if (timed_out) ec = net::error::timed_out;
  }
  std::optional<DnsMessage> a;
  if (!ec) a = parse_dns(std::span<const uint8_t>(answer.data(), n));
  if (!a) {
    ++failed;
    answered(ci, d, ex, nullptr, kDnsServFail, start);
    send_from(server, client, dns_error_reply(wire, *q, kDnsServFail));
    co_return;
  }
  answer.resize(n);
  answered(ci, d, ex, &*a, a->rcode, start);
  send_from(server, client, answer);
}

net::awaitable<void> DnsProxy::Impl::tcp_accept_loop() {
  for (;;) {
    error_code ec;
    tcp::socket s = co_await acceptor->async_accept(net::redirect_error(net::use_awaitable, ec));
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor->is_open()) co_return;
      continue;
    }
    net::co_spawn(ioc, tcp_session(std::move(s)), net::detached);
  }
}

namespace {

// One framed message: 2-byte length, then the message.
net::awaitable<error_code> read_framed(boost::beast::tcp_stream& s, std::vector<uint8_t>& out) {
  error_code ec;
  uint8_t len[2];
  co_await net::async_read(s, net::buffer(len), net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return ec;
  out.resize(static_cast<size_t>(len[0] << 8 | len[1]));
  co_await net::async_read(s, net::buffer(out), net::redirect_error(net::use_awaitable, ec));
  co_return ec;
}

net::awaitable<error_code> write_framed(boost::beast::tcp_stream& s, const std::vector<uint8_t>& m) {
  error_code ec;
  const uint8_t len[2] = {static_cast<uint8_t>(m.size() >> 8), static_cast<uint8_t>(m.size())};
  std::array<net::const_buffer, 2> bufs{net::buffer(len), net::buffer(m)};
  co_await net::async_write(s, bufs, net::redirect_error(net::use_awaitable, ec));
  co_return ec;
}

}  // namespace

net::awaitable<void> DnsProxy::Impl::tcp_session(tcp::socket socket) {
  error_code ec;
  auto local = socket.local_endpoint(ec);
  auto remote = socket.remote_endpoint(ec);
  if (ec) co_return;
  tcp::endpoint server = upstream ? tcp::endpoint(upstream->address(), upstream->port()) : local;
  const ConnectionInfo ci = info_of(remote.address(), remote.port(), server.address(), server.port(), bound_port);
  boost::beast::tcp_stream client(std::move(socket));
  std::optional<boost::beast::tcp_stream> up;
  std::vector<uint8_t> wire, answer;
  for (;;) {
    client.expires_after(o.timeout * 6);  // an idle connection
    if (co_await read_framed(client, wire)) break;
    auto q = parse_dns(wire);
    if (!q || q->response) break;
    const auto start = std::chrono::steady_clock::now();
    DnsDecision d;
    DnsExchange ex;
    if (auto reply = judge(ci, false, wire, *q, d, ex)) {
      answered(ci, d, ex, nullptr, kDnsRefused, start);
      client.expires_after(o.timeout);
      if (co_await write_framed(client, *reply)) break;
      continue;
    }
    if (!up) {
      tcp::socket s(ioc);
      s.open(tcp::v4(), ec);
      if (!ec && o.socket_mark != 0) s.set_option(mark_option(static_cast<int>(o.socket_mark)), ec);
      if (!ec) {
        up.emplace(std::move(s));
        up->expires_after(o.timeout);
        co_await up->async_connect(server, net::redirect_error(net::use_awaitable, ec));
        if (ec) up.reset();
      }
    }
    std::optional<DnsMessage> a;
    if (up) {
      up->expires_after(o.timeout);
      ec = co_await write_framed(*up, wire);
      if (!ec) ec = co_await read_framed(*up, answer);
      if (!ec) a = parse_dns(answer);
      if (!a) up.reset();
    }
    if (!a) {
      ++failed;
      answered(ci, d, ex, nullptr, kDnsServFail, start);
      client.expires_after(o.timeout);
      if (co_await write_framed(client, dns_error_reply(wire, *q, kDnsServFail))) break;
      continue;
    }
    answered(ci, d, ex, &*a, a->rcode, start);
    client.expires_after(o.timeout);
    if (co_await write_framed(client, answer)) break;
  }
  client.socket().shutdown(tcp::socket::shutdown_both, ec);
}

DnsProxy::DnsProxy(DnsProxyOptions options, Decide decide, Record record, Learn learn)
    : impl_(std::make_shared<Impl>()) {
  impl_->o = std::move(options);
  impl_->decide = std::move(decide);
  impl_->record = std::move(record);
  impl_->learn = std::move(learn);
}

DnsProxy::~DnsProxy() { stop(); }

Status DnsProxy::start() {
  auto& s = *impl_;
  error_code ec;
  const auto addr = net::ip::make_address(s.o.address, ec);
  if (ec) return Error{"dns proxy address " + s.o.address + ": " + ec.message()};
  if (!s.o.upstream.empty()) {
    const auto colon = s.o.upstream.rfind(':');
    auto up = net::ip::make_address(s.o.upstream.substr(0, colon), ec);
    if (ec || colon == std::string::npos) return Error{"dns proxy upstream " + s.o.upstream};
    s.upstream = udp::endpoint(up, static_cast<uint16_t>(std::stoi(s.o.upstream.substr(colon + 1))));
  }
  // TCP first: with port 0 the UDP socket takes the port TCP got.
  s.acceptor.emplace(s.ioc);
  tcp::endpoint tep(addr, s.o.port);
  s.acceptor->open(tep.protocol(), ec);
  if (!ec) s.acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec && s.o.transparent) s.acceptor->set_option(transparent_option(true), ec);
  if (!ec && s.o.socket_mark != 0) s.acceptor->set_option(mark_option(static_cast<int>(s.o.socket_mark)), ec);
  if (!ec) s.acceptor->bind(tep, ec);
  if (!ec) s.acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (!ec) s.bound_port = s.acceptor->local_endpoint(ec).port();
  if (ec) {
    s.acceptor.reset();
    return Error{"dns proxy TCP listener on " + s.o.address + ":" + std::to_string(s.o.port) + ": " + ec.message()};
  }
  s.udp_listener.emplace(s.ioc);
  udp::endpoint uep(addr, s.bound_port);
  s.udp_listener->open(uep.protocol(), ec);
  if (!ec) s.udp_listener->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec && s.o.transparent) s.udp_listener->set_option(transparent_option(true), ec);
  if (!ec) {
    const int one = 1;
    if (::setsockopt(s.udp_listener->native_handle(), SOL_IP, IP_RECVORIGDSTADDR, &one, sizeof one) != 0)
      ec = error_code(errno, boost::system::system_category());
  }
  if (!ec) s.udp_listener->bind(uep, ec);
  if (!ec) s.udp_listener->non_blocking(true, ec);
  if (ec) {
    s.udp_listener.reset();
    s.acceptor.reset();
    return Error{"dns proxy UDP listener on " + s.o.address + ":" + std::to_string(s.bound_port) + ": " + ec.message()};
  }
  s.work.emplace(s.ioc.get_executor());
  net::co_spawn(s.ioc, s.udp_loop(), net::detached);
  net::co_spawn(s.ioc, s.tcp_accept_loop(), net::detached);
  s.thread = std::thread([impl = impl_] { impl->ioc.run(); });
  return {};
}

void DnsProxy::stop() {
  auto& s = *impl_;
  if (!s.thread.joinable()) return;
  net::post(s.ioc, [impl = impl_] {
    error_code ec;
    if (impl->acceptor) impl->acceptor->close(ec);
    if (impl->udp_listener) impl->udp_listener->close(ec);
  });
  s.work.reset();
  s.ioc.stop();
  s.thread.join();
}

uint16_t DnsProxy::port() const { return impl_->bound_port; }

DnsProxy::Stats DnsProxy::stats() const {
  return {impl_->queries.load(), impl_->refused.load(), impl_->failed.load()};
}

}  // namespace axon::proxy
