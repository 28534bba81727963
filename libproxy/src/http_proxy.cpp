// HttpProxy on Boost.Asio/Beast with C++20 coroutines: one coroutine per
// client connection (on the thread that accepted it, with a concrete
// executor and plain sockets: server.h); reading and writing each side in turn
// through a fixed 16 KiB window (Beast's buffer_body), so a body is never
// held whole and the slower side sets the pace.
#include "axon/proxy/http_proxy.h"

#include <netinet/in.h>
#include <unistd.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "axon/base/log.h"
#include "server.h"

namespace axon::proxy {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using beast::error_code;

namespace {

using detail::Awaitable;
using detail::Executor;
using detail::mark_option;
using detail::Socket;
using detail::Timer;
using detail::use_aw;
using detail::transparent_option;

constexpr size_t kWindow = 16 * 1024;
constexpr size_t kReadRoom = 8 * 1024;  // a read buffer's room during a request
constexpr std::chrono::milliseconds kDelayedClose{1000};  // Envoy's delayed_close_timeout
constexpr const char* kDenied = "Access denied\r\n";  // Cilium's (Envoy's) body
constexpr size_t kMirrorBodyLimit = 1024 * 1024;  // a larger body is not mirrored
constexpr const char* kTimedOut = "upstream request timeout";  // Envoy's 504 body
constexpr const char* kNoUpstream =
    "upstream connect error or disconnect/reset before headers. reset reason: connection failure";

// Blocks of one size kept per thread (at most 64), so that a connection
// can give its memory back between requests (an idle one holds none)
// without a malloc and free per request.
template <size_t Size>
class BlockCache {
 public:
  ~BlockCache() {
    for (size_t i = 0; i < n_; ++i) ::operator delete(free_[i]);
  }
  void* take() { return n_ > 0 ? free_[--n_] : ::operator new(Size); }
  void give(void* p) {
    if (n_ < free_.size())
      free_[n_++] = p;
    else
      ::operator delete(p);
  }

 private:
  std::array<void*, 64> free_{};
  size_t n_ = 0;
};

// A read buffer's room (kReadRoom) from the thread's blocks: glibc serves
// 8 KiB outside its per-thread cache, a heap consolidation each time.
thread_local BlockCache<kReadRoom> room_blocks;

template <class T>
struct RoomAllocator {
  using value_type = T;
  RoomAllocator() = default;
  template <class U>
  RoomAllocator(const RoomAllocator<U>&) noexcept {}
  T* allocate(size_t n) {
    if (n * sizeof(T) == kReadRoom) return static_cast<T*>(room_blocks.take());
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) noexcept {
    if (n * sizeof(T) == kReadRoom) return room_blocks.give(p);
    ::operator delete(p);
  }
  template <class U>
  bool operator==(const RoomAllocator<U>&) const noexcept {
    return true;
  }
};
using ReadBuffer = beast::basic_flat_buffer<RoomAllocator<char>>;

// A request's and its answer's header fields (a Beast node each) handed
// out in order from one block, taken from the thread's blocks with the
// first field and given back when the last goes (the request done): no
// malloc and free per field, nothing held between requests. Fields beyond
// the block come from the heap.
constexpr size_t kFieldBlock = 2048;
thread_local BlockCache<kFieldBlock> field_blocks;

class FieldArena {
 public:
  FieldArena() = default;
  FieldArena(const FieldArena&) = delete;
  FieldArena& operator=(const FieldArena&) = delete;
  ~FieldArena() {
    if (block_ != nullptr) field_blocks.give(block_);
  }
  void* allocate(size_t bytes) {
    bytes = (bytes + alignof(std::max_align_t) - 1) & ~(alignof(std::max_align_t) - 1);
    if (used_ + bytes > kFieldBlock) return ::operator new(bytes);
    if (block_ == nullptr) block_ = static_cast<unsigned char*>(field_blocks.take());
    void* p = block_ + used_;
    used_ += bytes;
    ++live_;
    return p;
  }
  void deallocate(void* p) noexcept {
    auto* c = static_cast<unsigned char*>(p);
    if (block_ == nullptr || c < block_ || c >= block_ + kFieldBlock) return ::operator delete(p);
    if (--live_ > 0) return;
    used_ = 0;
    field_blocks.give(block_);
    block_ = nullptr;
  }

 private:
  unsigned char* block_ = nullptr;  // operator new's alignment: max_align_t
  size_t used_ = 0, live_ = 0;
};

template <class T>
struct FieldAllocator {
  using value_type = T;
  FieldArena* arena;
  explicit FieldAllocator(FieldArena* a) noexcept : arena(a) {}
  template <class U>
  FieldAllocator(const FieldAllocator<U>& o) noexcept : arena(o.arena) {}
  T* allocate(size_t n) { return static_cast<T*>(arena->allocate(n * sizeof(T))); }
  void deallocate(T* p, size_t) noexcept { arena->deallocate(p); }
  template <class U>
  bool operator==(const FieldAllocator<U>& o) const noexcept {
    return arena == o.arena;
  }
};
using Fields = http::basic_fields<FieldAllocator<char>>;
template <bool isRequest>
using Parser = http::parser<isRequest, http::buffer_body, FieldAllocator<char>>;
template <bool isRequest>
using Message = http::message<isRequest, http::buffer_body, Fields>;

// The status a failed request read gets (Envoy's), or 0: just close.
unsigned status_of_read_error(const error_code& ec, bool started) {
  if (ec == http::error::end_of_stream || ec == net::error::eof ||
      ec == net::error::connection_reset || ec == net::error::operation_aborted)
    return 0;
  if (ec == beast::error::timeout) return started ? 408 : 0;
  if (ec == http::error::header_limit) return 431;
  if (ec == http::error::body_limit) return 413;
  return 400;
}

// Idle upstream connections that do not keep a client's address (routed
// requests: the Gateway's), shared by every client connection, per
// upstream address: a client's next connection, or another client's,
// reuses one instead of connecting again. Kept as bare descriptors (a
// connection's socket belongs to its strand; the next one takes it onto its
// own). Connections keeping the client's address have the client's
// 4-tuple: never shared.
std::string pool_key(const std::string& ip, uint16_t port) { return ip + ":" + std::to_string(port); }

class UpstreamPool {
 public:
  using clock = std::chrono::steady_clock;
  UpstreamPool(size_t max_idle, std::chrono::milliseconds idle_timeout)
      : max_idle_(max_idle), idle_timeout_(idle_timeout) {}
  ~UpstreamPool() {
    for (auto& [key, list] : idle_)
      for (auto& c : list) ::close(c.fd);
  }
  // An idle connection to `key` still open at the other end, or -1.
  int take(const std::string& key) {
    std::lock_guard l(mu_);
    auto it = idle_.find(key);
    if (it == idle_.end()) return -1;
    auto& list = it->second;
    const auto now = clock::now();
    while (!list.empty()) {
      Idle c = list.back();  // the most recently used: least likely closed by the upstream
      list.pop_back();
      char probe;
      // Nothing to read, not closed: alive. (Bytes or a FIN while idle:
      // the upstream closed it or it is out of step; dropped.)
      if (now - c.since < idle_timeout_ && ::recv(c.fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
          (errno == EAGAIN || errno == EWOULDBLOCK))
        return c.fd;
      ::close(c.fd);
    }
    return -1;
  }
  void give(const std::string& key, int fd) {
    std::lock_guard l(mu_);
    auto& list = idle_[key];
    list.push_back({fd, clock::now()});
    if (list.size() > max_idle_) {  // the oldest goes
      ::close(list.front().fd);
      list.pop_front();
    }
  }
  size_t idle() {
    std::lock_guard l(mu_);
    size_t n = 0;
    for (auto& [key, list] : idle_) n += list.size();
    return n;
  }

 private:
  struct Idle {
    int fd;
    clock::time_point since;
  };
  std::mutex mu_;
  std::unordered_map<std::string, std::deque<Idle>> idle_;
  size_t max_idle_;
  std::chrono::milliseconds idle_timeout_;
};

}  // namespace

struct HttpProxy::Impl {
  ProxyOptions o;
  Decide decide;
  Record record;
  Fetch fetch;
  Router router;  // a Gateway listener: requests routed, no policy asked
  detail::Server server;
  std::atomic<uint64_t> requests{0}, denied{0}, errors{0};
  std::atomic<uint64_t> upstream_connects{0}, upstream_reused{0};
  std::unique_ptr<UpstreamPool> pool;
  // An HTTPS listener: `select` gives each connection's certificate; `tls`
  // is the context its handshake starts in (no certificate of its own).
  TlsSelect select;
  std::optional<net::ssl::context> tls;
  std::atomic<uint64_t> tls_failures{0};
  std::atomic<uint64_t> mirrored{0}, mirror_skipped{0};
  struct TlsConnection {
    Impl* impl;
    ConnectionInfo ci;
    std::shared_ptr<ssl_ctx_st> ctx;  // the one chosen, kept for the connection's life
  };
  // The connection's TlsConnection in its SSL (app data is Asio's own).
  static int tls_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
  }
  // OpenSSL's server-name callback (called for every ClientHello, with or
  // without a name): switches the connection to the certificate's context.
  static int on_server_name(SSL* ssl, int* alert, void*) {
    auto* tc = static_cast<TlsConnection*>(SSL_get_ex_data(ssl, tls_index()));
    if (tc == nullptr) return SSL_TLSEXT_ERR_ALERT_FATAL;
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    tc->ctx = tc->impl->select(tc->ci, name ? name : "");
    if (!tc->ctx) {
      *alert = SSL_AD_UNRECOGNIZED_NAME;
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    SSL_set_SSL_CTX(ssl, tc->ctx.get());
    return SSL_TLSEXT_ERR_OK;
  }

  Awaitable<> session(Socket socket);
  template <class Client>
  Awaitable<> serve(Client& client, const ConnectionInfo& ci);
};

namespace {

// A connection's one timer: each step sets the deadline it must finish by
// (a clock read, no timer operation); the timer, when it fires, waits on for
// a deadline moved meanwhile, else cancels what the connection waits for
// (the operation ends in operation_aborted, `fired` says why). A timer per
// operation (Beast's stream timeouts) costs an arm and a cancel each.
class Watchdog {
 public:
  using clock = std::chrono::steady_clock;
  Watchdog(const Executor& ex, std::function<void()> expire)
      : s_(std::make_shared<State>(ex)) {
    s_->expire = std::move(expire);
  }
  ~Watchdog() {
    s_->alive = false;  // a wait that completes later touches nothing
    s_->expire = nullptr;
    s_->timer.cancel();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  void set(std::chrono::milliseconds timeout) {
    s_->deadline = std::min(clock::now() + timeout, cap_);
    s_->fired = false;
    // Later than the wait under way (the usual case): that wait goes on.
    if (!s_->armed || s_->deadline < s_->timer.expiry()) arm(s_);
  }
  void clear() { s_->deadline = clock::time_point::max(); }
  bool fired() const { return s_->fired; }
  // A deadline no step goes past (a route's timeout), until uncapped;
  // capped() says it is what fired.
  void cap(clock::time_point at) { cap_ = at; }
  void uncap() { cap_ = clock::time_point::max(); }
  bool capped() const { return s_->fired && cap_ != clock::time_point::max() && clock::now() >= cap_; }

 private:
  struct State {
    explicit State(const Executor& ex) : timer(ex) {}
    Timer timer;
    clock::time_point deadline = clock::time_point::max();
    bool armed = false, fired = false, alive = true;
    std::function<void()> expire;
  };
  // (Re)starts the wait; one under way ends in operation_aborted.
  static void arm(const std::shared_ptr<State>& s) {
    s->armed = true;
    s->timer.expires_at(s->deadline);
    s->timer.async_wait([s](const error_code& e) {
      if (e || !s->alive) return;
      s->armed = false;
      if (s->deadline == clock::time_point::max()) return;  // re-armed by the next set()
      if (clock::now() < s->deadline) return arm(s);
      s->fired = true;
      if (s->expire) s->expire();
    });
  }
  std::shared_ptr<State> s_;
  clock::time_point cap_ = clock::time_point::max();
};

// Writes a response the proxy makes itself.
template <class Stream>
Awaitable<> respond(Stream& client, Watchdog& wd, unsigned code, std::string body,
                             bool keep_alive, std::chrono::milliseconds timeout,
                             const std::string& location = {}) {
  http::response<http::string_body> res{static_cast<http::status>(code), 11};
  if (!location.empty()) res.set(http::field::location, location);
  if (!body.empty()) res.set(http::field::content_type, "text/plain");
  res.set(http::field::server, "axon");
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  res.prepare_payload();
  error_code ec;
  wd.set(timeout);
  co_await http::async_write(client, res, net::redirect_error(use_aw, ec));
}

// A message's start line and fields as they go out (as Beast's serializer
// writes them).
template <bool isRequest>
std::string head_text(const http::message<isRequest, http::buffer_body, Fields>& m) {
  std::string s;
  s.reserve(512);
  const char* version = m.version() == 10 ? "HTTP/1.0" : "HTTP/1.1";
  if constexpr (isRequest) {
    s.append(m.method_string()).append(" ").append(m.target()).append(" ").append(version);
  } else {
    s.append(version).append(" ").append(std::to_string(m.result_int())).append(" ").append(m.reason());
  }
  s.append("\r\n");
  for (const auto& f : m) s.append(f.name_string()).append(": ").append(f.value()).append("\r\n");
  s.append("\r\n");
  return s;
}

// Reads the next piece of a body into `window` (up to kWindow bytes; `n`
// says how many came).
template <bool isRequest, class In>
Awaitable<error_code> read_piece(In& in, ReadBuffer& buf,
                                      Parser<isRequest>& p, Watchdog& wd,
                                      std::chrono::milliseconds timeout, char* window, size_t& n) {
  error_code ec;
  p.get().body().data = window;
  p.get().body().size = kWindow;
  wd.set(timeout);
  co_await http::async_read(in, buf, p, net::redirect_error(use_aw, ec));
  if (ec == http::error::need_buffer) ec = {};
  n = kWindow - p.get().body().size;
  co_return ec;
}

// Streams a message whose header `p` has read from `in` (rest in `buf`) to
// `out` through `window` (kWindow bytes): the header with the first piece of
// body in one write (`header_first`: the header alone first, for a client
// waiting for 100 Continue), then the body window by window (Beast's relay).
// Sets `read_failed` when the error is on the reading side.
template <bool isRequest, class In, class Out>
Awaitable<error_code> relay(In& in, ReadBuffer& buf,
                                 Parser<isRequest>& p,
                                 Out& out, Watchdog& wd, std::chrono::milliseconds timeout,
                                 bool& read_failed, char* window, bool header_first,
                                 std::string* copy = nullptr) {
  // `copy`: the body's bytes appended (for a mirror), up to kMirrorBodyLimit + 1.
  auto keep = [copy, window](size_t n) {
    if (copy != nullptr && copy->size() <= kMirrorBodyLimit)
      copy->append(window, std::min(n, kMirrorBodyLimit + 1 - copy->size()));
  };
  error_code ec;
  if (!p.chunked()) {
    // The body as it came (a length, or up to the end of the connection):
    // the header as one piece of text and the body's bytes as read, no
    // serializer (Beast's walks a buffer per header field, twice a write).
    const std::string head = head_text(p.get());
    bool head_sent = false;
    if (header_first) {
      wd.set(timeout);
      co_await net::async_write(out, net::buffer(head), net::redirect_error(use_aw, ec));
      if (ec) co_return ec;
      head_sent = true;
    }
    for (;;) {
      size_t n = 0;
      if (!p.is_done()) {
        ec = co_await read_piece(in, buf, p, wd, timeout, window, n);
        if (ec) {
          read_failed = true;
          co_return ec;
        }
        keep(n);
      }
      if (!head_sent || n > 0) {
        const std::array<net::const_buffer, 2> pieces{
            head_sent ? net::const_buffer() : net::buffer(head), net::buffer(window, n)};
        wd.set(timeout);
        co_await net::async_write(out, pieces, net::redirect_error(use_aw, ec));
        if (ec) co_return ec;
        head_sent = true;
      }
      if (p.is_done()) co_return error_code{};
    }
  }
  http::serializer<isRequest, http::buffer_body, Fields> sr{p.get()};
  if (header_first) {
    wd.set(timeout);
    co_await http::async_write_header(out, sr, net::redirect_error(use_aw, ec));
    if (ec) co_return ec;
  }
  do {
    if (!p.is_done()) {
      size_t n = 0;
      ec = co_await read_piece(in, buf, p, wd, timeout, window, n);
      if (ec) {
        read_failed = true;
        co_return ec;
      }
      keep(n);
      p.get().body().size = n;
      p.get().body().data = window;
      p.get().body().more = !p.is_done();
    } else {
      p.get().body().data = nullptr;
      p.get().body().size = 0;
      p.get().body().more = false;  // else the header would wait for a body that never comes
    }
    wd.set(timeout);
    co_await http::async_write(out, sr, net::redirect_error(use_aw, ec));
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return ec;
  } while (!p.is_done() && !sr.is_done());
  co_return error_code{};
}

std::string endpoint_ip(const tcp::endpoint& e) { return e.address().to_string(); }

// A mirrored request as it goes to the mirror: the request's header as
// forwarded, Host with "-shadow" appended (Envoy's), the body with its
// length, the connection closed after.
std::string mirror_text(const Message<true>& req, const std::string& body) {
  std::string s;
  s.reserve(512 + body.size());
  s.append(req.method_string()).append(" ").append(req.target()).append(" HTTP/1.1\r\n");
  for (const auto& f : req) {
    const auto name = f.name();
    if (name == http::field::host || name == http::field::content_length ||
        name == http::field::transfer_encoding || name == http::field::connection ||
        name == http::field::expect)
      continue;
    s.append(f.name_string()).append(": ").append(f.value()).append("\r\n");
  }
  s.append("Host: ").append(req[http::field::host]).append("-shadow\r\n");
  if (!body.empty()) s.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  s.append("Connection: close\r\n\r\n").append(body);
  return s;
}

// Sends a mirror its copy and reads its answer away (ignored), all within
// `timeout`; on its own, the client's request never waits for it.
Awaitable<> send_mirror(std::string ip, uint16_t port, std::string bytes, uint32_t mark,
                                 std::chrono::milliseconds timeout, std::atomic<uint64_t>* failed) {
  using namespace net::experimental::awaitable_operators;
  auto ex = co_await net::this_coro::executor;
  error_code ec;
  auto addr = net::ip::make_address(ip, ec);
  Socket s(ex);
  if (!ec) s.open(tcp::v4(), ec);
  if (!ec && mark != 0) s.set_option(mark_option(static_cast<int>(mark)), ec);
  if (ec) {
    ++*failed;
    co_return;
  }
  Timer t(ex);
  t.expires_after(timeout);
  auto exchange = [&]() -> Awaitable<error_code> {
    error_code e;
    co_await s.async_connect(tcp::endpoint(addr, port), net::redirect_error(use_aw, e));
    if (!e) co_await net::async_write(s, net::buffer(bytes), net::redirect_error(use_aw, e));
    char sink[4096];
    while (!e) co_await s.async_read_some(net::buffer(sink), net::redirect_error(use_aw, e));
    co_return e == net::error::eof ? error_code{} : e;
  };
  error_code timer_ec;
  auto done = co_await (exchange() || t.async_wait(net::redirect_error(use_aw, timer_ec)));
  if (done.index() == 1 || std::get<0>(done)) ++*failed;
  s.close(ec);
}

// Closes the upstream connection. Keeping the client's address, with a
// reset: what was on it is complete (or failed), and a TIME_WAIT would hold
// the client's own 4-tuple (its next connection from that port would find
// it taken).
void close_upstream(std::optional<Socket>& up, bool keep_source) {
  if (!up) return;
  error_code ec;
  if (keep_source) up->set_option(net::socket_base::linger(true, 0), ec);
  up->close(ec);
  up.reset();
}

}  // namespace

Awaitable<> HttpProxy::Impl::session(Socket socket) {
  error_code ec;
  ConnectionInfo ci;
  {
    auto local = socket.local_endpoint(ec);
    auto remote = socket.remote_endpoint(ec);
    if (ec) co_return;
    ci = {endpoint_ip(remote), remote.port(), endpoint_ip(local), local.port(), server.bound_port, {}};
  }
  // Headers and bodies go out in separate writes: no Nagle delay between them.
  socket.set_option(tcp::no_delay(true), ec);
  if (!tls) {
    Socket client(std::move(socket));
    co_await serve(client, ci);
    co_return;
  }
  // An HTTPS listener: the certificate by the client's server name (SNI)
  // and the connection's original destination, then HTTP over TLS.
  TlsConnection tc{this, ci, nullptr};
  beast::ssl_stream<Socket> client(std::move(socket), *tls);
  SSL_set_ex_data(client.native_handle(), tls_index(), &tc);
  {
    Watchdog wd(client.get_executor(), [&client] {
      error_code ignored;
      beast::get_lowest_layer(client).cancel(ignored);
    });
    wd.set(o.header_timeout);
    co_await client.async_handshake(net::ssl::stream_base::server, net::redirect_error(use_aw, ec));
  }
  if (ec) {
    ++tls_failures;
    co_return;
  }
  co_await serve(client, ci);
  // No close_notify wait: the answers carry their length (or chunking).
  beast::get_lowest_layer(client).shutdown(tcp::socket::shutdown_both, ec);
}

template <class Client>
Awaitable<> HttpProxy::Impl::serve(Client& client, const ConnectionInfo& ci) {
  error_code ec;
  // Asked again for every request: a policy change applies to the next
  // request of a kept-alive connection (the agent caches its answers).
  Decision d;
  bool answered_close = false;  // the last answer ended the connection
  // The body windows, one per direction, for the connection's life.
  std::unique_ptr<char[]> windows;
  std::string mirror_body;  // a mirrored request's body
  ReadBuffer cbuf;
  FieldArena fields;  // the requests' and answers' fields
  std::optional<Socket> up;
  std::string up_ip;            // where it goes (from the client's own address when
  uint16_t up_port = 0;         // keep_source: the same for the connection's life)
  bool up_keep_source = false;  // it has the client's address
  bool up_clean = false;        // its last answer was read whole: reusable
  ReadBuffer ubuf;
  // Done with the upstream connection: into the pool when another client
  // connection may use it, else closed.
  auto park = [&] {
    if (up && up_clean && !up_keep_source) {
      error_code e;
      const int fd = up->release(e);
      up.reset();
      if (!e) pool->give(pool_key(up_ip, up_port), fd);
      return;
    }
    close_upstream(up, up_keep_source);
  };
  Watchdog wd(client.get_executor(), [&client, &up] {
    error_code ignored;
    beast::get_lowest_layer(client).cancel(ignored);
    if (up) up->cancel(ignored);
  });

  for (;;) {
    Parser<true> rp(std::piecewise_construct, std::make_tuple(), std::make_tuple(FieldAllocator<char>(&fields)));
    rp.header_limit(o.header_limit);
    rp.body_limit(o.body_limit ? boost::optional<std::uint64_t>(o.body_limit) : boost::none);
    const bool started = cbuf.size() > 0;
    // Waiting for a request: no read room kept (back to the thread's blocks).
    if (cbuf.size() == 0) cbuf.shrink_to_fit();
    if (ubuf.size() == 0) ubuf.shrink_to_fit();
    // The watchdog cancels, it does not close: a request begun and not
    // finished in time is answered 408 first.
    wd.set(started ? o.header_timeout : o.idle_timeout);
    co_await http::async_read_header(client, cbuf, rp, net::redirect_error(use_aw, ec));
    if (ec && wd.fired()) ec = beast::error::timeout;
    wd.clear();
    if (ec) {
      // A request begun and not finished in time: 408 (the bytes read say so).
      const unsigned code = status_of_read_error(ec, started || rp.got_some() || cbuf.size() > 0);
      if (code != 0) {
        ++errors;
        co_await respond(client, wd, code, std::string(http::obsolete_reason(static_cast<http::status>(code))) + "\r\n", false, o.io_timeout);
        answered_close = true;
      }
      break;
    }
    const auto start = std::chrono::steady_clock::now();
    ++requests;
    auto& req = rp.get();
    if (router) {
      // Every request is let through to the router (one rule set for all).
      static const std::shared_ptr<const HttpRuleSet> all = *HttpRuleSet::compile({}, true);
      d = Decision{};
      d.rules = all;
    } else {
      std::optional<Decision> known;
      if (decide) known = decide(ci);
      if (!known && fetch) {
        // Not known here: asked of the agent; the request waits (the
        // answer comes on another thread, back to this strand).
        known = co_await net::async_initiate<decltype(use_aw), void(Decision)>(
            [this, &ci](auto handler) {
              auto ex = net::get_associated_executor(handler);
              auto h = std::make_shared<decltype(handler)>(std::move(handler));
              fetch(ci, [h, ex](Decision answer) {
                net::post(ex, [h, answer = std::move(answer)]() mutable { (*h)(std::move(answer)); });
              });
            },
            use_aw);
      }
      d = known ? std::move(*known) : Decision{};
      if (!known) d.reason = "no policy";
      if (!d.rules)
        log::debug("proxy: {}:{} -> {}:{}: {}", ci.src_ip, ci.src_port, ci.dst_ip, ci.dst_port, d.reason);
    }
    HttpRequestView view;
    view.method = std::string(req.method_string());
    view.target = std::string(req.target());
    view.host = std::string(req[http::field::host]);
    if (record || router || (d.rules && d.rules->needs_headers()) ||
        (d.peer_rules && d.peer_rules->needs_headers())) {
      for (const auto& f : req) view.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    }
    HttpVerdict verdict = d.rules ? d.rules->check(view) : HttpVerdict{};
    if (verdict.allowed && d.peer_rules) {
      HttpVerdict also = d.peer_rules->check(view);
      verdict.allowed = also.allowed;
      verdict.add.insert(verdict.add.end(), also.add.begin(), also.add.end());
      verdict.remove.insert(verdict.remove.end(), also.remove.begin(), also.remove.end());
    }

    RouteAnswer ra;
    if (router) ra = router(ci, view);

    RequestRecord rec;
    if (record) {
      rec.connection = ci;
      rec.src_identity = d.src_identity;
      rec.dst_identity = d.dst_identity;
      rec.ingress = d.ingress;
      rec.method = view.method;
      rec.url = std::string(tls ? "https://" : "http://") + (view.host.empty() ? ci.dst_ip : view.host) + view.target;
      rec.headers = std::move(view.headers);  // checked above; not needed after
    }
    auto finish = [&](unsigned code, bool forwarded) {
      if (!record) return;
      rec.code = code;
      rec.forwarded = forwarded;
      rec.latency = std::chrono::steady_clock::now() - start;
      record(rec);
    };
    const bool has_body = rp.chunked() || (rp.content_length() && *rp.content_length() > 0);

    // A Gateway listener's request: routed (RouteTable), or answered here
    // (no route 404, no backend 500, a redirect).
    if (router) {
      if (ra.status != 0) {
        const bool keep = req.keep_alive() && !has_body;
        if (ra.status >= 400) ++errors;
        // The body made first: GCC 12 destroys a conditional's temporaries
        // twice inside a co_await expression.
        std::string body;
        if (ra.status < 300 || ra.status >= 400)
          body = std::string(http::obsolete_reason(static_cast<http::status>(ra.status))) + "\r\n";
        co_await respond(client, wd, ra.status, std::move(body), keep, o.io_timeout, ra.location);
        finish(ra.status, false);
        if (!keep) {
          answered_close = true;
          break;
        }
        continue;
      }
      d.upstream_ip = std::move(ra.upstream_ip);
      d.upstream_port = ra.upstream_port;
      // As Cilium's Gateway (Envoy with use_remote_address): the client's
      // address appended to X-Forwarded-For, and the scheme it used.
      {
        std::string xff(req["x-forwarded-for"]);
        req.set("x-forwarded-for", xff.empty() ? ci.src_ip : xff + ", " + ci.src_ip);
        req.set("x-forwarded-proto", tls ? "https" : "http");
      }
      for (const auto& name : ra.remove_headers) req.erase(name);
      for (const auto& [name, value] : ra.set_headers) req.set(name, value);
      for (const auto& [name, value] : ra.add_headers) req.insert(name, value);
      if (!ra.target.empty()) req.target(ra.target);
      if (!ra.host.empty()) req.set(http::field::host, ra.host);
    }

    if (!verdict.allowed) {
      ++denied;
      // A body not read would be taken for the next request: close after.
      const bool keep = req.keep_alive() && !has_body;
      co_await respond(client, wd, 403, kDenied, keep, o.io_timeout);
      finish(403, false);
      if (!keep) {
        answered_close = true;
        break;
      }
      continue;
    }
    // Beast reads what a buffer has room for, at least 512 bytes: room for
    // a body, and for a whole answer, in one read (a 1 KiB answer took
    // three); given back while the connection waits for its next request.
    if (has_body && cbuf.capacity() < kReadRoom) cbuf.reserve(kReadRoom);
    if (ubuf.capacity() < kReadRoom) ubuf.reserve(kReadRoom);
    for (const auto& name : verdict.remove) req.erase(name);
    for (const auto& [name, value] : verdict.add) req.set(name, value);

    // Where this request goes: a route may send a connection's requests to
    // different upstreams; the one held goes back to the pool.
    const bool routed = !d.upstream_ip.empty();
    const std::string want_ip = routed ? d.upstream_ip : ci.dst_ip;
    const uint16_t want_port = routed ? d.upstream_port : ci.dst_port;
    if (up && (up_port != want_port || up_ip != want_ip)) park();
    if (!windows) windows.reset(new char[2 * kWindow]);
    const bool expect_continue = !req[http::field::expect].empty();
    std::optional<Parser<false>> sp;
    bool end_session = false, no_upstream = false;
    // A route's timeout: the answer's header by then (from the request's).
    if (ra.timeout.count() > 0) wd.cap(start + ra.timeout);
    // A connection used before (kept alive, here or from the pool) the
    // upstream may have closed meanwhile: a request without a body that
    // finds it closed before any answer is sent again once, on a new one.
    for (int attempt = 0;; ++attempt) {
      bool reused = up.has_value();
      if (!up) {
        const int pooled = (!d.keep_source && attempt == 0) ? pool->take(pool_key(want_ip, want_port)) : -1;
        Socket s(client.get_executor());
        if (pooled >= 0) {
          s.assign(tcp::v4(), pooled, ec);
          if (ec) ::close(pooled);
          reused = !ec;
        }
        if (reused) {
          ++upstream_reused;
          up.emplace(std::move(s));
        } else {
          s.open(tcp::v4(), ec);
          if (!ec && o.socket_mark != 0) s.set_option(mark_option(static_cast<int>(o.socket_mark)), ec);
          if (!ec) s.set_option(tcp::no_delay(true), ec);
          if (!ec && d.keep_source) {
            s.set_option(net::socket_base::reuse_address(true), ec);
            if (!ec) s.set_option(transparent_option(true), ec);
            auto src = net::ip::make_address(ci.src_ip, ec);
            if (!ec) s.bind(tcp::endpoint(src, ci.src_port), ec);
            if (ec) log::debug("proxy: upstream from {}:{}: {}", ci.src_ip, ci.src_port, ec.message());
          }
          if (!ec) {
            up.emplace(std::move(s));
            wd.set(o.connect_timeout);
            auto addr = net::ip::make_address(want_ip, ec);
            if (!ec) {
              ++upstream_connects;
              co_await up->async_connect(tcp::endpoint(addr, want_port),
                                         net::redirect_error(use_aw, ec));
            }
          }
        }
        if (ec) {
          up.reset();
          no_upstream = true;
          break;
        }
        up_ip = want_ip;
        up_port = want_port;
        up_keep_source = d.keep_source;
        ubuf.clear();
      }
      up_clean = false;  // until its answer is read whole
      bool read_failed = false;
      if (!ra.mirrors.empty()) mirror_body.clear();
      ec = co_await relay<true>(client, cbuf, rp, *up, wd, o.io_timeout, read_failed, windows.get(),
                                expect_continue, ra.mirrors.empty() ? nullptr : &mirror_body);
      // The request sent whole: a copy to each mirror (not for a body over
      // the limit, nor twice for a request sent again).
      if (!ec && !ra.mirrors.empty() && attempt == 0) {
        if (mirror_body.size() > kMirrorBodyLimit) {
          mirror_skipped += ra.mirrors.size();
        } else {
          const std::string text = mirror_text(req, mirror_body);
          for (const auto& [ip, port] : ra.mirrors) {
            ++mirrored;
            net::co_spawn(client.get_executor(),
                          send_mirror(ip, port, text, o.socket_mark, o.io_timeout, &mirror_skipped),
                          net::detached);
          }
        }
      }
      if (ec && read_failed) {  // the client went away mid-request
        end_session = true;
        break;
      }
      if (!ec) {
        sp.emplace(std::piecewise_construct, std::make_tuple(), std::make_tuple(FieldAllocator<char>(&fields)));
        sp->body_limit(boost::none);
        if (req.method() == http::verb::head) sp->skip(true);
        wd.set(o.io_timeout);
        co_await http::async_read_header(*up, ubuf, *sp, net::redirect_error(use_aw, ec));
      }
      if (!ec) break;
      const bool closed_early = ec == http::error::end_of_stream || ec == net::error::eof ||
                                ec == net::error::connection_reset || ec == net::error::broken_pipe;
      close_upstream(up, up_keep_source);
      if (reused && attempt == 0 && !has_body && closed_early && !(sp && sp->got_some())) continue;
      no_upstream = true;  // the destination went away, or did not answer
      break;
    }
    const bool timed_out = wd.capped();
    if (no_upstream || (timed_out && !sp)) {
      ++errors;
      wd.uncap();
      close_upstream(up, up_keep_source);
      const unsigned status = timed_out ? 504 : 503;
      std::string body = timed_out ? kTimedOut : kNoUpstream;  // not in the co_await (GCC 12)
      co_await respond(client, wd, status, std::move(body), false, o.io_timeout);
      finish(status, false);
      answered_close = true;
      end_session = true;
    }
    if (end_session) {
      wd.uncap();
      break;
    }
    // A body that ends at the end of the connection: the client waits for
    // our FIN.
    const bool ends_at_close = sp->need_eof();
    const unsigned code = sp->get().result_int();
    const bool upstream_keep = sp->get().keep_alive();
    const bool client_keep = req.keep_alive();
    if (!client_keep) sp->get().keep_alive(false);
    for (const auto& name : ra.response_remove) sp->get().erase(name);
    for (const auto& [name, value] : ra.response_set) sp->get().set(name, value);
    for (const auto& [name, value] : ra.response_add) sp->get().insert(name, value);
    bool read_failed = false;
    // (The route's timeout covers the answer's body too: past it, closed.)
    ec = co_await relay<false>(*up, ubuf, *sp, client, wd, o.io_timeout, read_failed,
                               windows.get() + kWindow, false);
    wd.uncap();
    finish(code, true);
    if (ec) break;
    // Reusable: the answer read whole, nothing after it, kept alive.
    up_clean = upstream_keep && !ends_at_close && ubuf.size() == 0;
    if (!up_clean) close_upstream(up, up_keep_source);
    if (!client_keep) {
      answered_close = !ends_at_close;
      break;
    }
  }
  park();
  // Envoy's delayed close: after a complete answer that ends the connection,
  // let the client close first (up to kDelayedClose), so the TIME_WAIT is
  // the client's. Ours would hold the client's 4-tuple in the node, where
  // the datapath hands the client's next connection from the same port to
  // the listener, which cannot take it while the TIME_WAIT lasts.
  if (answered_close) {
    wd.set(kDelayedClose);
    char sink[1024];
    for (;;) {
      co_await client.async_read_some(net::buffer(sink), net::redirect_error(use_aw, ec));
      if (ec) break;
    }
  }
  auto& lowest = beast::get_lowest_layer(client);
  if (!tls && lowest.is_open()) lowest.shutdown(tcp::socket::shutdown_both, ec);
}

HttpProxy::HttpProxy(ProxyOptions options, Decide decide, Record record, Fetch fetch)
    : impl_(std::make_shared<Impl>()) {
  impl_->o = std::move(options);
  impl_->decide = std::move(decide);
  impl_->record = std::move(record);
  impl_->fetch = std::move(fetch);
}

HttpProxy::~HttpProxy() { stop(); }

void HttpProxy::set_router(Router router) { impl_->router = std::move(router); }

void HttpProxy::set_tls(TlsSelect select) { impl_->select = std::move(select); }

Status HttpProxy::start() {
  auto& s = *impl_;
  detail::ListenSpec spec{s.o.listen_fd, s.o.address, s.o.port, s.o.transparent, s.o.socket_mark, s.o.threads, "proxy"};
  s.pool = std::make_unique<UpstreamPool>(s.o.pool_max_idle, s.o.pool_idle_timeout);
  if (s.select) {
    s.tls.emplace(net::ssl::context::tls_server);
    s.tls->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                       net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                       net::ssl::context::no_tlsv1_1);
    SSL_CTX_set_tlsext_servername_callback(s.tls->native_handle(), &Impl::on_server_name);
  }
  Impl* impl = impl_.get();
  return s.server.start(spec, [impl](Socket socket) { return impl->session(std::move(socket)); }, impl_);
}

void HttpProxy::stop() { impl_->server.stop(); }

uint16_t HttpProxy::port() const { return impl_->server.bound_port; }

HttpProxy::Stats HttpProxy::stats() const {
  return {impl_->server.connections.load(), impl_->requests.load(),
          impl_->denied.load(),            impl_->errors.load(),
          impl_->upstream_connects.load(), impl_->upstream_reused.load(),
          impl_->tls_failures.load(),      impl_->mirrored.load(),
          impl_->mirror_skipped.load()};
}

}  // namespace axon::proxy
