// The node's L7 proxy (libproxy): HTTP rule matching as Cilium's (regexes
// anchored at both ends, header presence and values, headerMatches with
// their mismatch actions), and the proxy itself over loopback in front of a
// real HTTP server (cpp-httplib): allowed requests forwarded with keep-alive
// and streamed bodies, others 403 "Access denied", and a table of malformed
// or oversized input answered 400/408/413/431, a dead upstream 503.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "axon/agent/proxy_process.h"
#include "axon/proxy/agent_link.h"
#include "axon/proxy/gateway_routes.h"
#include "axon/proxy/http_proxy.h"
#include "axon/proxy/http_rules.h"
#include "axon/proxy/tcp_relay.h"
#include "gateway_fixtures.h"

using namespace axon::proxy;
using axon::test::GatewayListener;
using axon::test::Served;
using axon::policy::HeaderMatch;
using axon::policy::HttpRule;

namespace {

std::shared_ptr<const HttpRuleSet> rules(std::vector<HttpRule> rs, bool allow_all = false) {
  auto r = HttpRuleSet::compile(rs, allow_all);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().str()));
  return *r;
}

HttpRequestView req(std::string method, std::string target,
                    std::vector<std::pair<std::string, std::string>> headers = {},
                    std::string host = "api") {
  return {std::move(method), std::move(target), std::move(host), std::move(headers)};
}

}  // namespace

TEST_CASE("http rules: method, path and host are regexes matched whole (Cilium's anchoring)") {
  auto set = rules({{"GET", "/path1$", "", {}, {}},
                    {"PUT", "/path2$", "", {"X-My-Header: true"}, {}},
                    {"GET|HEAD", "/public/.*", "api\\.example\\.com", {}, {}}});
  struct Case {
    HttpRequestView r;
    bool allowed;
  };
  const Case cases[] = {
      {req("GET", "/path1"), true},
      {req("GET", "/path1/sub"), false},       // whole path: no prefix match
      {req("GET", "/x/path1"), false},         // anchored at the start too
      {req("GET", "/path1?a=1"), false},       // the query is part of the path
      {req("POST", "/path1"), false},
      {req("get", "/path1"), false},           // methods are case-sensitive
      {req("GETX", "/path1"), false},          // whole method
      {req("PUT", "/path2", {{"X-My-Header", "true"}}), true},
      {req("PUT", "/path2", {{"x-my-header", "true"}}), true},  // names case-insensitive
      {req("PUT", "/path2", {{"X-My-Header", "false"}}), false},
      {req("PUT", "/path2"), false},
      {req("HEAD", "/public/a", {}, "api.example.com"), true},
      {req("HEAD", "/public/a", {}, "apiXexample.com"), false},
      {req("GET", "/public/a", {}, "www.api.example.com"), false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.r.method);
    CAPTURE(c.r.target);
    CAPTURE(c.r.host);
    CHECK(set->check(c.r).allowed == c.allowed);
  }
  CHECK(rules({}, true)->check(req("DELETE", "/anything")).allowed);  // an L4-only allow too
  CHECK_FALSE(rules({})->check(req("GET", "/")).allowed);
  CHECK(rules({{"", "", "", {"X-Token"}, {}}})->check(req("GET", "/", {{"x-token", ""}})).allowed);
  CHECK_FALSE(HttpRuleSet::compile({{"", "([", "", {}, {}}}, false).ok());
}

TEST_CASE("http rules: headerMatches and their mismatch actions") {
  auto with = [](std::string mismatch, std::string secret = "") {
    HeaderMatch m{"X-Env", "prod", "", secret, std::move(mismatch)};
    return rules({{"GET", "", "", {}, {m}}});
  };
  CHECK(with("")->check(req("GET", "/", {{"X-Env", "prod"}})).allowed);
  CHECK_FALSE(with("")->check(req("GET", "/", {{"X-Env", "dev"}})).allowed);
  CHECK_FALSE(with("")->check(req("GET", "/")).allowed);
  auto v = with("LOG")->check(req("GET", "/", {{"X-Env", "dev"}}));
  CHECK(v.allowed);
  CHECK(v.logged == std::vector<std::string>{"X-Env"});
  v = with("ADD")->check(req("GET", "/"));
  CHECK(v.allowed);
  CHECK(v.add == std::vector<std::pair<std::string, std::string>>{{"X-Env", "prod"}});
  v = with("DELETE")->check(req("GET", "/", {{"X-Env", "dev"}}));
  CHECK(v.allowed);
  CHECK(v.remove == std::vector<std::string>{"X-Env"});
  v = with("REPLACE")->check(req("GET", "/", {{"X-Env", "dev"}}));
  CHECK(v.remove == std::vector<std::string>{"X-Env"});
  CHECK(v.add == std::vector<std::pair<std::string, std::string>>{{"X-Env", "prod"}});
  // A value from a Secret is never read: the match never holds (fail closed).
  CHECK_FALSE(with("", "token")->check(req("GET", "/", {{"X-Env", "prod"}})).allowed);
}

namespace {

// A real HTTP server on loopback: echoes method, path, a header and the
// body's length.
struct Backend : Served {
  Backend()
      : Served([](httplib::Server& server) {
          auto echo = [](const httplib::Request& r, httplib::Response& res) {
            res.set_content("method=" + r.method + " path=" + r.path + " env=" +
                                r.get_header_value("X-Env") + " len=" + std::to_string(r.body.size()),
                            "text/plain");
          };
          server.Get(".*", echo);
          server.Put(".*", echo);
          server.Post(".*", echo);
        }) {}
};

struct Proxy {
  std::unique_ptr<HttpProxy> proxy;
  std::vector<RequestRecord> records;
  std::mutex mu;
  Proxy(std::shared_ptr<const HttpRuleSet> set, int upstream_port, ProxyOptions o = {}) {
    o.port = 0;
    o.address = "127.0.0.1";
    o.transparent = false;
    proxy = std::make_unique<HttpProxy>(
        o,
        [set, upstream_port](const ConnectionInfo&) {
          Decision d;
          d.rules = set;
          d.upstream_ip = "127.0.0.1";
          d.upstream_port = static_cast<uint16_t>(upstream_port);
          return d;
        },
        [this](const RequestRecord& r) {
          std::lock_guard l(mu);
          records.push_back(r);
        });
    auto st = proxy->start();
    REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.error().str()));
  }
};

int connect_loopback(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  return fd;
}

// Whether `out` ends with a whole answer saying "Connection: close" (the
// proxy then waits for the client to close first).
bool last_answer_closes(const std::string& out) {
  const size_t start = out.rfind("HTTP/1.1 ");
  if (start == std::string::npos) return false;
  const size_t end = out.find("\r\n\r\n", start);
  if (end == std::string::npos) return false;
  const std::string head = out.substr(start, end - start);
  if (head.find("Connection: close") == std::string::npos &&
      head.find("connection: close") == std::string::npos)
    return false;
  const size_t cl = head.find("Content-Length: ");
  if (cl == std::string::npos) return false;
  return out.size() >= end + 4 + std::stoul(head.substr(cl + 16));
}

// Sends `bytes` on a fresh connection, then reads until the peer closes,
// a whole answer closing the connection came, or `wait` passes with
// nothing more.
std::string exchange(uint16_t port, const std::string& bytes,
                     std::chrono::milliseconds wait = std::chrono::milliseconds(3000)) {
  const int fd = connect_loopback(port);
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  std::string out;
  char buf[65536];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(wait.count())) <= 0) break;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (last_answer_closes(out)) break;  // as a client does: it closes first
  }
  close(fd);
  return out;
}

// One kept-alive client connection: request() sends and reads one whole
// answer (headers, then Content-Length bytes), or what came within 3 s.
struct KeepAlive {
  int fd;
  explicit KeepAlive(uint16_t port) : fd(connect_loopback(port)) {}
  ~KeepAlive() { close(fd); }
  std::string request(const std::string& bytes) {
    REQUIRE(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
    std::string out;
    char buf[4096];
    auto complete = [&] {
      size_t end = out.find("\r\n\r\n");
      if (end == std::string::npos) return false;
      size_t cl = out.find("Content-Length: ");
      if (cl == std::string::npos || cl > end) return true;
      return out.size() >= end + 4 + std::stoul(out.substr(cl + 16));
    };
    while (!complete()) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 3000) <= 0) break;
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
};

}  // namespace

TEST_CASE("proxy: allowed requests reach the server, others get 403 Access denied, on one keep-alive connection") {
  Backend backend;
  Proxy p(rules({{"GET", "/path1$", "", {}, {}}, {"PUT", "/path2$", "", {"X-My-Header: true"}, {}}}),
          backend.port);
  const std::string got = exchange(
      p.proxy->port(),
      "GET /path1 HTTP/1.1\r\nHost: api\r\n\r\n"
      "POST /path1/sub HTTP/1.1\r\nHost: api\r\n\r\n"
      "PUT /path2 HTTP/1.1\r\nHost: api\r\nX-My-Header: true\r\nContent-Length: 5\r\n\r\nhello"
      "PUT /path2 HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n",
      std::chrono::milliseconds(3000));
  // Four answers, in order, on the one connection.
  size_t a = got.find("HTTP/1.1 200");
  size_t b = got.find("HTTP/1.1 403", a);
  size_t c = got.find("HTTP/1.1 200", b);
  size_t d = got.find("HTTP/1.1 403", c);
  CHECK(a != std::string::npos);
  CHECK(b != std::string::npos);
  CHECK(c != std::string::npos);
  CHECK(d != std::string::npos);
  CHECK(got.find("method=GET path=/path1 ") != std::string::npos);
  CHECK(got.find("method=PUT path=/path2 env= len=5") != std::string::npos);
  CHECK(got.find("Access denied\r\n") != std::string::npos);
  CHECK(got.find("/path1/sub") == std::string::npos);  // never reached the server
  // A record is made once its answer is written: the client may have read
  // the last answer before the proxy's write completed.
  auto recorded = [&p] {
    std::lock_guard l(p.mu);
    return p.records.size();
  };
  for (int i = 0; i < 200 && recorded() < 4; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto st = p.proxy->stats();
  CHECK(st.connections == 1);
  CHECK(st.requests == 4);
  CHECK(st.denied == 2);
  std::lock_guard l(p.mu);
  REQUIRE(p.records.size() == 4);
  CHECK(p.records[0].code == 200);
  CHECK(p.records[0].forwarded);
  CHECK(p.records[0].url == "http://api/path1");
  CHECK(p.records[1].code == 403);
  CHECK_FALSE(p.records[1].forwarded);
  CHECK(p.records[1].method == "POST");
}

TEST_CASE("proxy: fields beyond a connection's field block, between small requests, reach the server whole") {
  // The proxy keeps a connection's header fields in one 2 KiB block (taken
  // back whole after each request); 60 fields of ~100 bytes go past it.
  Backend backend;
  Proxy p(rules({{"GET", "", "", {}, {}}}), backend.port);
  KeepAlive c(p.proxy->port());
  std::string many;
  for (int i = 0; i < 60; ++i) many += "X-Filler-" + std::to_string(i) + ": " + std::string(90, 'a' + i % 26) + "\r\n";
  for (int round = 0; round < 3; ++round) {
    const std::string env = "big" + std::to_string(round);
    std::string got = c.request("GET /small HTTP/1.1\r\nHost: api\r\nX-Env: small\r\n\r\n");
    CHECK(got.find("HTTP/1.1 200") == 0);
    CHECK(got.find("method=GET path=/small env=small len=0") != std::string::npos);
    got = c.request("GET /big HTTP/1.1\r\nHost: api\r\n" + many + "X-Env: " + env + "\r\n\r\n");
    CHECK(got.find("HTTP/1.1 200") == 0);
    CHECK(got.find("method=GET path=/big env=" + env + " len=0") != std::string::npos);
  }
  for (int i = 0; i < 200 && [&p] { std::lock_guard l(p.mu); return p.records.size(); }() < 6; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::lock_guard l(p.mu);
  REQUIRE(p.records.size() == 6);
  CHECK(p.records[1].headers.size() == 62);
  CHECK(p.records[1].headers[30].second == std::string(90, 'a' + 29 % 26));
  CHECK(p.records[5].headers.back() == std::pair<std::string, std::string>{"X-Env", "big2"});
  CHECK(p.proxy->stats().connections == 1);
}

TEST_CASE("proxy: a large body is streamed both ways, a REPLACE header edit applied") {
  Backend backend;
  HeaderMatch m{"X-Env", "prod", "", "", "REPLACE"};
  Proxy p(rules({{"POST", "", "", {}, {m}}}), backend.port);
  const std::string body(5 * 1024 * 1024, 'x');
  std::string got = exchange(p.proxy->port(),
                             "POST /upload HTTP/1.1\r\nHost: api\r\nX-Env: dev\r\nConnection: close\r\n"
                             "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  CHECK(got.find("HTTP/1.1 200") == 0);
  CHECK(got.find("env=prod len=5242880") != std::string::npos);
  // Chunked in, as sent.
  got = exchange(p.proxy->port(),
                 "POST /c HTTP/1.1\r\nHost: api\r\nX-Env: prod\r\nTransfer-Encoding: chunked\r\n"
                 "Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  CHECK(got.find("len=11") != std::string::npos);
}

TEST_CASE("proxy: malformed and oversized requests get Envoy's status codes; a dead upstream 503") {
  Backend backend;
  ProxyOptions o;
  o.header_limit = 4096;
  o.body_limit = 1024;
  o.header_timeout = std::chrono::milliseconds(300);
  o.idle_timeout = std::chrono::milliseconds(300);
  Proxy p(rules({}, true), backend.port, o);
  struct Case {
    const char* what;
    std::string bytes;
    const char* status;
  };
  const Case cases[] = {
      {"garbage request line", "HELLO\r\n\r\n", "HTTP/1.1 400"},
      {"bad version", "GET / HTTP/9\r\nHost: a\r\n\r\n", "HTTP/1.1 400"},
      {"space in the target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 400"},
      {"header without colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", "HTTP/1.1 400"},
      {"bad content-length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n", "HTTP/1.1 400"},
      {"two content-lengths", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "HTTP/1.1 400"},
      {"request line too long", "GET /" + std::string(5000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 431"},
      {"headers too long", "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(5000, 'b') + "\r\n\r\n", "HTTP/1.1 431"},
      {"body over the limit", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4096\r\n\r\n", "HTTP/1.1 413"},
      {"request not finished in time", "GET / HTTP/1.1\r\nHost: a\r\n", "HTTP/1.1 408"},
  };
  for (const auto& c : cases) {
    const std::string got = exchange(p.proxy->port(), c.bytes);
    const std::string what = std::string(c.what) + ": " + got.substr(0, 40);
    CHECK_MESSAGE(got.rfind(c.status, 0) == 0, what);
  }
  // Idle keep-alive connection: closed without an answer.
  CHECK(exchange(p.proxy->port(), "").empty());

  Proxy dead(rules({}, true), 1 /* nothing listens on port 1 */);
  const std::string got = exchange(dead.proxy->port(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK(got.rfind("HTTP/1.1 503", 0) == 0);
  CHECK(got.find("upstream connect error") != std::string::npos);
}

TEST_CASE("proxy: a policy change applies to the next request of a kept-alive connection") {
  Backend backend;
  auto open_rules = rules({}, true);
  auto closed_rules = rules({{"GET", "/only$", "", {}, {}}});
  std::atomic<bool> closed{false};
  ProxyOptions o;
  o.port = 0;
  o.address = "127.0.0.1";
  o.transparent = false;
  HttpProxy proxy(o, [&](const ConnectionInfo&) {
    Decision d;
    d.rules = closed.load() ? closed_rules : open_rules;
    d.upstream_ip = "127.0.0.1";
    d.upstream_port = static_cast<uint16_t>(backend.port);
    return d;
  });
  REQUIRE(proxy.start().ok());
  KeepAlive conn(proxy.port());
  auto request = [&](const std::string& bytes) { return conn.request(bytes); };
  CHECK(request("GET /x HTTP/1.1\r\nHost: a\r\n\r\n").rfind("HTTP/1.1 200", 0) == 0);
  closed = true;  // the policy changed: same connection, next request
  const std::string second = request("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK_MESSAGE(second.rfind("HTTP/1.1 403", 0) == 0, second);
  CHECK(request("GET /only HTTP/1.1\r\nHost: a\r\n\r\n").rfind("HTTP/1.1 200", 0) == 0);
  CHECK(proxy.stats().connections == 1);
}

namespace {

// A raw HTTP server that answers the first request of each connection
// (kept alive) and closes the connection when the next one comes without
// answering it: the upstream closing an idle keep-alive connection just as
// the proxy sends on it.
struct OneShotServer {
  int fd = -1;
  uint16_t port = 0;
  std::atomic<int> accepted{0};
  std::atomic<bool> stop{false};
  std::thread thread;
  OneShotServer() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    REQUIRE(listen(fd, 16) == 0);
    socklen_t len = sizeof(a);
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    thread = std::thread([this] {
      while (!stop) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        const int c = accept(fd, nullptr, nullptr);
        if (c < 0) continue;
        ++accepted;
        std::string in;
        char buf[4096];
        auto read_request = [&] {
          while (in.find("\r\n\r\n") == std::string::npos) {
            pollfd q{c, POLLIN, 0};
            if (poll(&q, 1, 3000) <= 0) return false;
            ssize_t n = recv(c, buf, sizeof(buf), 0);
            if (n <= 0) return false;
            in.append(buf, static_cast<size_t>(n));
          }
          in.erase(0, in.find("\r\n\r\n") + 4);
          return true;
        };
        if (read_request()) {
          const std::string answer =
              "HTTP/1.1 200 OK\r\nContent-Length: 9\r\nContent-Type: text/plain\r\n\r\nconn=" +
              std::to_string(accepted.load() % 10) + "ok\n";
          send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
          read_request();  // the next one: not answered
        }
        close(c);
      }
    });
  }
  ~OneShotServer() {
    stop = true;
    thread.join();
    close(fd);
  }
};

}  // namespace

TEST_CASE("proxy: routed requests share a pool of upstream connections across client connections") {
  Backend backend;
  backend.server.set_keep_alive_max_count(100);  // (5 by default: then it closes)
  Proxy p(rules({}, true), backend.port);
  for (int i = 0; i < 3; ++i) {
    KeepAlive conn(p.proxy->port());
    for (int j = 0; j < 2; ++j)
      CHECK(conn.request("GET /p HTTP/1.1\r\nHost: a\r\n\r\n").rfind("HTTP/1.1 200", 0) == 0);
    // The client connection ends: its upstream goes back to the pool (its
    // session ends on the proxy's thread; wait for it).
    close(conn.fd);
    conn.fd = -1;
    for (int k = 0; k < 100 && p.proxy->stats().requests < uint64_t(2 * (i + 1)); ++k)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const auto st = p.proxy->stats();
  CHECK(st.requests == 6);
  CHECK(st.connections == 3);
  CHECK(st.upstream_connects == 1);  // one upstream connection served all three
  CHECK(st.upstream_reused == 2);
}

TEST_CASE("proxy: several threads (a loop each on the one listener) serve concurrent kept-alive clients") {
  Backend backend;
  backend.server.set_keep_alive_max_count(1000);
  ProxyOptions o;
  o.threads = 3;
  Proxy p(rules({}, true), backend.port, o);
  constexpr int kClients = 6, kRequests = 40;  // (the backend serves 8 connections at once)
  std::atomic<int> ok{0};
  {
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c)
      clients.emplace_back([&, c] {
        KeepAlive conn(p.proxy->port());
        for (int r = 0; r < kRequests; ++r) {
          const std::string env = std::to_string(c) + "-" + std::to_string(r);
          const std::string got = conn.request("GET /t HTTP/1.1\r\nHost: a\r\nX-Env: " + env + "\r\n\r\n");
          if (got.rfind("HTTP/1.1 200", 0) == 0 && got.find("env=" + env + " ") != std::string::npos) ++ok;
        }
      });
    for (auto& t : clients) t.join();
  }
  CHECK(ok == kClients * kRequests);
  const auto st = p.proxy->stats();
  CHECK(st.connections == uint64_t(kClients));
  CHECK(st.requests == uint64_t(kClients * kRequests));
  // Upstream connections are shared across the threads through the pool:
  // never more than one per client connection.
  CHECK(st.upstream_connects <= uint64_t(kClients));
}

TEST_CASE("proxy: a kept-alive connection's requests routed to different upstreams") {
  Backend a, b;
  std::atomic<int> asked{0};
  auto open = rules({}, true);
  HttpProxy proxy(ProxyOptions{.port = 0, .address = "127.0.0.1", .transparent = false},
                  [&](const ConnectionInfo&) {
                    Decision d;
                    d.rules = open;
                    d.upstream_ip = "127.0.0.1";
                    d.upstream_port = static_cast<uint16_t>(asked++ % 2 ? b.port : a.port);
                    return d;
                  });
  REQUIRE(proxy.start().ok());
  std::atomic<int> hits_a{0}, hits_b{0};
  a.server.set_logger([&](const httplib::Request&, const httplib::Response&) { ++hits_a; });
  b.server.set_logger([&](const httplib::Request&, const httplib::Response&) { ++hits_b; });
  KeepAlive conn(proxy.port());
  for (int i = 0; i < 4; ++i)
    CHECK(conn.request("GET /r HTTP/1.1\r\nHost: a\r\n\r\n").rfind("HTTP/1.1 200", 0) == 0);
  // The servers log a request after its answer went out: wait for the last.
  for (int k = 0; k < 200 && hits_a.load() + hits_b.load() < 4; ++k)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(hits_a.load() == 2);
  CHECK(hits_b.load() == 2);
  // a, b, then each taken back from the pool.
  CHECK(proxy.stats().upstream_connects == 2);
  CHECK(proxy.stats().upstream_reused == 2);
}

TEST_CASE("proxy: a request without a body that finds its kept-alive upstream closed is sent again once") {
  OneShotServer server;
  Proxy p(rules({}, true), server.port);
  KeepAlive conn(p.proxy->port());
  CHECK(conn.request("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n").rfind("HTTP/1.1 200", 0) == 0);
  const std::string second = conn.request("GET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK_MESSAGE(second.rfind("HTTP/1.1 200", 0) == 0, second);
  CHECK(server.accepted.load() == 2);
  // With a body it is not sent again (the body is gone): 503.
  const std::string third =
      conn.request("POST /3 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi");
  CHECK_MESSAGE(third.rfind("HTTP/1.1 503", 0) == 0, third);
  CHECK(p.proxy->stats().upstream_connects == 2);
}

// The proxy as its own process talks to the agent over a unix socket
// (agent_link.h): here both ends in one test, the agent's end
// (ProxyProcess, no process started) and an HttpProxy on an AgentLink, as
// `axon agent proxy` runs it.
TEST_CASE("proxy process: the agent's answers over its socket, cached per revision; records back; fail closed") {
  Backend backend;
  char dir[] = "/tmp/axon-proxy-link-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  const std::string sock = std::string(dir) + "/proxy.sock";
  auto open_rules = rules({{"GET", "", "", {}, {}}});
  auto closed_rules = rules({{"GET", "/only$", "", {}, {}}});
  std::atomic<bool> closed{false};
  std::atomic<int> asked{0};
  std::vector<RequestRecord> records;
  std::mutex mu;
  axon::agent::ProxyProcessConfig pc;
  pc.exe = "";
  pc.socket = sock;
  auto agent = std::make_unique<axon::agent::ProxyProcess>(
      pc,
      [&](const ConnectionInfo& c) {
        ++asked;
        Decision d;
        d.rules = closed.load() ? closed_rules : open_rules;
        d.src_identity = 1234;
        d.upstream_ip = "127.0.0.1";
        d.upstream_port = static_cast<uint16_t>(backend.port);
        d.reason = c.src_ip;
        return d;
      },
      [&](const RequestRecord& r) {
        std::lock_guard l(mu);
        records.push_back(r);
      });
  REQUIRE(agent->start().ok());

  AgentLink link(sock, std::chrono::milliseconds(500));
  link.start();
  ProxyOptions o;
  o.port = 0;
  o.address = "127.0.0.1";
  o.transparent = false;
  auto proxy = linked_proxy(o, link);
  REQUIRE(proxy->start().ok());
  {
    KeepAlive conn(proxy->port());
    // Asked before the link is even up: the request waits for the answer.
    CHECK(conn.request("GET /x HTTP/1.1\r\nHost: a\r\n\r\n").rfind("HTTP/1.1 200", 0) == 0);
    CHECK(conn.request("POST /x HTTP/1.1\r\nHost: a\r\n\r\n").rfind("HTTP/1.1 403", 0) == 0);
    CHECK(conn.request("GET /y HTTP/1.1\r\nHost: a\r\n\r\n").rfind("HTTP/1.1 200", 0) == 0);
    CHECK(asked.load() == 1);  // one answer, kept for the connection's flow
    CHECK(link.connected());
    // The policy changes: the next request asks again and gets the new answer.
    closed = true;
    agent->policy_changed();
    std::string got;
    for (int i = 0; i < 50; ++i) {
      got = conn.request("GET /y HTTP/1.1\r\nHost: a\r\n\r\n");
      if (got.rfind("HTTP/1.1 403", 0) == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK_MESSAGE(got.rfind("HTTP/1.1 403", 0) == 0, got);
    CHECK(conn.request("GET /only HTTP/1.1\r\nHost: a\r\n\r\n").rfind("HTTP/1.1 200", 0) == 0);
    CHECK(asked.load() == 2);
  }
  // Every request came back to the agent as a record (L7 flows).
  for (int i = 0; i < 100 && agent->state().requests < 5; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  {
    const auto st = agent->state();
    CHECK(st.requests >= 5);
    CHECK(st.denied >= 2);
    std::lock_guard l(mu);
    REQUIRE(records.size() >= 2);
    CHECK(records[0].method == "GET");
    CHECK(records[0].code == 200);
    CHECK(records[0].src_identity == 1234);
    CHECK(records[1].code == 403);
    CHECK_FALSE(records[1].forwarded);
  }
  // The agent gone: nothing known is kept, every request denied (fail closed).
  agent.reset();
  for (int i = 0; i < 100 && link.connected(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK_FALSE(link.connected());
  {
    KeepAlive conn(proxy->port());
    const std::string got = conn.request("GET /only HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_MESSAGE(got.rfind("HTTP/1.1 403", 0) == 0, got);
  }
  proxy->stop();
  link.stop();
  std::filesystem::remove_all(dir);
}

TEST_CASE("proxy process: the wire round-trips decisions (rules recompiled) and records") {
  Decision d;
  HeaderMatch m{"X-Env", "prod", "", "", "REPLACE"};
  d.rules = rules({{"PUT", "/path2$", "api", {"X-My-Header: true"}, {m}}});
  d.peer_rules = rules({}, true);
  d.src_identity = 7;
  d.dst_identity = 9;
  d.ingress = false;
  d.keep_source = true;
  auto back = wire::decision_from_json(nlohmann::json::parse(wire::to_json(d).dump()));
  REQUIRE(back.ok());
  REQUIRE(back->rules);
  CHECK(back->rules->source() == d.rules->source());
  CHECK(back->peer_rules->allow_all());
  CHECK(back->src_identity == 7);
  CHECK(back->dst_identity == 9);
  CHECK_FALSE(back->ingress);
  CHECK(back->keep_source);
  Decision none;
  none.reason = "denied";
  auto b2 = wire::decision_from_json(wire::to_json(none));
  REQUIRE(b2.ok());
  CHECK_FALSE(b2->rules);
  CHECK(b2->reason == "denied");
  // A rule that does not compile: an error, not an allow.
  auto bad = wire::to_json(d);
  bad["rules"]["http"][0]["path"] = "(";
  CHECK_FALSE(wire::decision_from_json(bad).ok());

  RequestRecord r;
  r.connection = {"10.0.1.5", 40000, "10.0.2.7", 8080, 15001, {}};
  r.method = "GET";
  r.url = "http://api/x";
  r.headers = {{"Host", "api"}};
  r.code = 200;
  r.forwarded = true;
  r.latency = std::chrono::microseconds(1500);
  // The line a proxy sends per request (written by hand, read without a
  // DOM by the agent): the same record, and JSON any parser reads.
  RequestRecord odd = r;
  odd.headers.push_back({"X-Odd", "a\"b\\c\td\xe9"});
  const auto line = wire::record_line(odd);
  CHECK(line.back() == '\n');
  const auto dom = nlohmann::json::parse(line)["record"];
  CHECK(dom["method"] == "GET");
  CHECK(dom["headers"][1][1] == "a\"b\\c\td\u00e9");  // the byte 0xe9 as Latin-1 é
  const auto r4 = wire::read_record_line(line);
  REQUIRE(r4);
  CHECK(r4->connection.src_ip == "10.0.1.5");
  CHECK(r4->connection.src_port == 40000);
  CHECK(r4->connection.dst_port == 8080);
  CHECK(r4->connection.listener_port == 15001);
  CHECK(r4->method == "GET");
  CHECK(r4->url == "http://api/x");
  CHECK(r4->code == 200);
  CHECK(r4->forwarded);
  CHECK(r4->latency == r.latency);
  REQUIRE(r4->headers.size() == 2);
  CHECK(r4->headers[0] == std::pair<std::string, std::string>{"Host", "api"});
  CHECK(r4->headers[1].second == "a\"b\\c\td\u00e9");
  // Any order, keys it does not know, escapes a JSON writer may use.
  const auto other = wire::read_record_line(
      R"({"v":[1,2.5e3,{"x":null}],"record":{"code":404,"extra":{"a":[true,false]},)"
      R"("headers":[["A","\u00e9\ud83d\ude00\n\/"],["only-one"]],"method":"PUT","forwarded":false,)"
      R"("connection":{"dst_port":80,"src_ip":"10.0.0.1"},"latency_ns":-1}} )" "\n");
  REQUIRE(other);
  CHECK(other->code == 404);
  CHECK(other->method == "PUT");
  CHECK(other->connection.dst_port == 80);
  CHECK(other->connection.src_ip == "10.0.0.1");
  REQUIRE(other->headers.size() == 1);
  CHECK(other->headers[0].second == "\u00e9\U0001F600\n/");
  CHECK_FALSE(wire::read_record_line(R"({"record":{"method":"GET"}} x)"));  // trailing bytes
  CHECK_FALSE(wire::read_record_line(R"({"record":{"method":"a\ud800"}})"));  // half a pair
  CHECK_FALSE(wire::read_record_line(R"({"other":{}})"));  // no record
  CHECK_FALSE(wire::read_record_line(R"({"record":{"method":"GET")"));  // cut short
  CHECK_FALSE(wire::read_record_line(R"({"record":[[[[[1]]]]]})"));    // not a record's shape
}

namespace {

// TIME_WAIT sockets whose local port is `port` (/proc/net/tcp).
int time_waits_at(uint16_t port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);
  int n = 0;
  char want[8];
  std::snprintf(want, sizeof(want), ":%04X", port);
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string sl, local, remote, st;
    f >> sl >> local >> remote >> st;
    if (st == "06" && local.size() > 5 && local.substr(local.size() - 5) == want) ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("proxy: after an answer that ends the connection the client closes first (no TIME_WAIT on the proxy's side)") {
  Backend backend;
  Proxy p(rules({{"GET", "", "", {}, {}}}), backend.port);
  const uint16_t port = p.proxy->port();
  for (int i = 0; i < 5; ++i) {
    CHECK(exchange(port, "GET /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").rfind("HTTP/1.1 200", 0) == 0);
    CHECK(exchange(port, "POST /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").rfind("HTTP/1.1 403", 0) == 0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(time_waits_at(port) == 0);
  // A client that does not close: the proxy closes after its delayed-close
  // grace (1 s), and the connection is gone.
  const int fd = connect_loopback(port);
  const std::string req = "POST /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
  REQUIRE(send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
  std::string got;
  char buf[4096];
  const auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    pollfd pf{fd, POLLIN, 0};
    if (poll(&pf, 1, 5000) <= 0) break;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;  // the proxy's FIN
    got.append(buf, static_cast<size_t>(n));
  }
  CHECK(got.rfind("HTTP/1.1 403", 0) == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(4));
  close(fd);
}

namespace {

// A Gateway listener's snapshot as the agent sends it: one HTTPRoute on
// gateway gw/web port 80, served at 127.0.0.1:<proxy port>.
nlohmann::json gateway_snapshot(uint16_t frontend_port, int backend_port) {
  GatewaySnapshot s;
  s.frontends.push_back({"127.0.0.1", frontend_port, "gw/web", 80});
  GatewaySnapshot::AttachedRoute r;
  r.object = axon::test::http_route("api", R"({"hostnames": ["api.example.com"], "rules": [
      {"matches": [{"path": {"type": "PathPrefix", "value": "/v1"}}],
       "filters": [{"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": [{"name": "X-Env", "value": "gw"}]}},
                   {"type": "ResponseHeaderModifier", "responseHeaderModifier": {"add": [{"name": "X-Served-By", "value": "gateway"}]}}],
       "backendRefs": [{"name": "api", "port": 80}]},
      {"matches": [{"path": {"type": "PathPrefix", "value": "/old"}}],
       "filters": [{"type": "RequestRedirect", "requestRedirect": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/new"}, "statusCode": 301}}]},
      {"matches": [{"path": {"type": "PathPrefix", "value": "/missing"}}], "backendRefs": [{"name": "gone", "port": 80}]},
      {"matches": [{"path": {"type": "PathPrefix", "value": "/empty"}}], "backendRefs": [{"name": "empty", "port": 80}]},
      {"matches": [{"path": {"type": "PathPrefix", "value": "/rewrite"}}],
       "filters": [{"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/inner"}}}],
       "backendRefs": [{"name": "api", "port": 80}]}]})");
  r.hostnames = {"api.example.com"};  // the listener has none: the route's own
  r.resolved = {{true}, {}, {false}, {true}, {true}};
  s.listeners.push_back({"gw/web", 80, "HTTP", {r}});
  s.endpoints["prod/api:80"] = {"127.0.0.1:" + std::to_string(backend_port)};
  s.endpoints["prod/empty:80"] = {};
  return wire::to_json(s);
}

}  // namespace

TEST_CASE("gateway listener: requests routed by the snapshot's routes; 404, 500, 503 and redirects answered") {
  Backend backend;
  GatewayListener gw;
  // The wire line round-trips, and the routes are built from it.
  const std::string line = wire::gateway_line(GatewaySnapshot{});
  CHECK(line.rfind(R"({"gateway":)", 0) == 0);
  gw.set(gateway_snapshot(gw.port(), backend.port));
  auto routes = gw.routes();
  CHECK(routes->listeners() == 1);

  KeepAlive conn(gw.port());
  std::string got = conn.request("GET /v1/users?id=1 HTTP/1.1\r\nHost: api.example.com\r\nX-Env: client\r\n\r\n");
  CHECK(got.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(got.find("path=/v1/users env=gw") != std::string::npos);  // the header set, replacing the client's
  CHECK(got.find("X-Served-By: gateway") != std::string::npos);
  got = conn.request("GET /v2 HTTP/1.1\r\nHost: api.example.com\r\n\r\n");
  CHECK(got.rfind("HTTP/1.1 404", 0) == 0);
  got = conn.request("GET /v1 HTTP/1.1\r\nHost: www.example.com\r\n\r\n");
  CHECK_MESSAGE(got.rfind("HTTP/1.1 404", 0) == 0, got);
  got = conn.request("GET /old/page?q=1 HTTP/1.1\r\nHost: api.example.com\r\n\r\n");
  CHECK(got.rfind("HTTP/1.1 301", 0) == 0);
  CHECK(got.find("Location: http://api.example.com/new/page?q=1") != std::string::npos);
  got = conn.request("GET /missing HTTP/1.1\r\nHost: api.example.com\r\n\r\n");
  CHECK(got.rfind("HTTP/1.1 500", 0) == 0);  // an unresolved backend
  got = conn.request("GET /empty HTTP/1.1\r\nHost: api.example.com\r\n\r\n");
  CHECK(got.rfind("HTTP/1.1 503", 0) == 0);  // no ready endpoint
  got = conn.request("GET /rewrite/x HTTP/1.1\r\nHost: api.example.com\r\n\r\n");
  CHECK(got.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(got.find("path=/inner/x") != std::string::npos);
  // The same connection served them all.
  CHECK(gw.proxy().stats().connections == 1);
  CHECK(gw.proxy().stats().requests == 7);
  // A frontend no listener serves: 404.
  ConnectionInfo other{"127.0.0.1", 1, "127.0.0.2", 80, 0, {}};
  CHECK(routes->route(other, {"GET", "/v1", "api.example.com", {}}).status == 404);
  // Malformed snapshots are refused whole.
  CHECK(!GatewayRoutes::from_json(nlohmann::json::parse(R"({"listeners": [{"routes": []}]})")).ok());
  CHECK(!GatewayRoutes::from_json(nlohmann::json::parse(
            R"({"endpoints": {"a/b:80": ["10.0.0.1"]}})")).ok());
}

TEST_CASE("gateway TCP relay: bytes both ways, half-close passed on; no route or upstream: reset") {
  // A line echo that closes after the client's FIN.
  int server = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(server, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  REQUIRE(listen(server, 8) == 0);
  socklen_t len = sizeof(a);
  REQUIRE(getsockname(server, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  const uint16_t echo_port = ntohs(a.sin_port);
  std::thread echo([server] {
    for (int i = 0; i < 2; ++i) {
      int c = accept(server, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      for (ssize_t n; (n = recv(c, buf, sizeof(buf), 0)) > 0;) send(c, buf, static_cast<size_t>(n), MSG_NOSIGNAL);
      close(c);
    }
  });
  std::atomic<int> mode{0};  // 0: the echo, 1: no route, 2: a closed port
  TcpRelayOptions o;
  o.address = "127.0.0.1";
  o.transparent = false;
  TcpRelay relay(o, [&](const ConnectionInfo& c) {
    RouteAnswer r;
    CHECK(c.dst_ip == "127.0.0.1");
    if (mode == 1) {
      r.status = 404;
    } else {
      r.upstream_ip = "127.0.0.1";
      r.upstream_port = mode == 0 ? echo_port : 1;
    }
    return r;
  });
  REQUIRE(relay.start().ok());

  for (int round = 0; round < 2; ++round) {
    int fd = connect_loopback(relay.port());
    const std::string big(200 * 1024, 'x');  // more than one window
    REQUIRE(send(fd, big.data(), big.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(big.size()));
    shutdown(fd, SHUT_WR);  // the echo sees our FIN, answers all, closes
    std::string got;
    char buf[65536];
    for (ssize_t n; (n = recv(fd, buf, sizeof(buf), 0)) > 0;) got.append(buf, static_cast<size_t>(n));
    CHECK(got.size() == big.size());
    close(fd);
  }
  for (int m : {1, 2}) {
    mode = m;
    int fd = connect_loopback(relay.port());
    char buf[16];
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    CHECK(n < 0);  // reset, not a clean end
    CHECK(errno == ECONNRESET);
    close(fd);
  }
  const auto st = relay.stats();
  CHECK(st.connections == 4);
  CHECK(st.forwarded == 2);
  CHECK(st.refused == 2);
  relay.stop();
  shutdown(server, SHUT_RDWR);
  close(server);
  echo.join();
}

TEST_CASE("gateway listener: a rule's timeouts: the answer's header late -> 504, in time -> forwarded") {
  std::atomic<bool> slow_done{false};
  Served slow([&](httplib::Server& server) {
    server.Get(".*", [&](const httplib::Request& r, httplib::Response& res) {
      if (r.path == "/slow") {
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        slow_done = true;
      }
      res.set_content("path=" + r.path, "text/plain");
    });
  });
  GatewaySnapshot::AttachedRoute r;
  r.object = axon::test::http_route("t", R"({"rules": [
      {"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
       "timeouts": {"request": "5s", "backendRequest": "300ms"},
       "backendRefs": [{"name": "api", "port": 80}]}]})");
  r.resolved = {{true}};
  GatewayListener gw(r, {{"prod/api:80", {"127.0.0.1:" + std::to_string(slow.port)}}});
  CHECK(gw.routes()->route({"127.0.0.1", 1, "127.0.0.1", gw.port(), 0, {}}, {"GET", "/", "x", {}}).timeout ==
        std::chrono::milliseconds(300));

  KeepAlive fast(gw.port());
  std::string got = fast.request("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(got.rfind("HTTP/1.1 200", 0) == 0);
  KeepAlive late(gw.port());
  got = late.request("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_MESSAGE(got.rfind("HTTP/1.1 504", 0) == 0, got);
  CHECK(got.find("upstream request timeout") != std::string::npos);
  // Answered at the timeout, before the backend's answer was even made.
  CHECK(!slow_done);
  // The kept-alive fast connection goes on (no cap left over).
  got = fast.request("GET /fast2 HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(got.find("path=/fast2") != std::string::npos);
}

TEST_CASE("gateway listener: RequestMirror sends each request's copy (body too, Host -shadow) and ignores its answer") {
  Backend backend;
  std::mutex mu;
  std::vector<std::string> seen;
  Served shadow([&](httplib::Server& server) {
    auto log = [&](const httplib::Request& r, httplib::Response& res) {
      std::lock_guard l(mu);
      seen.push_back(r.method + " " + r.path + " host=" + r.get_header_value("Host") + " body=" + r.body);
      res.status = 500;  // ignored
    };
    server.Get(".*", log);
    server.Post(".*", log);
  });
  GatewaySnapshot::AttachedRoute r;
  r.object = axon::test::http_route("m", R"({"rules": [
      {"matches": [{"path": {"type": "PathPrefix", "value": "/m"}}],
       "filters": [{"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "shadow", "port": 80}}},
                   {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "gone", "port": 80}}}],
       "backendRefs": [{"name": "api", "port": 80}]},
      {"matches": [{"path": {"type": "PathPrefix", "value": "/never"}}],
       "filters": [{"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "shadow", "port": 80}, "percent": 0}}],
       "backendRefs": [{"name": "api", "port": 80}]},
      {"matches": [{"path": {"type": "PathPrefix", "value": "/rare"}}],
       "filters": [{"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "shadow", "port": 80}, "fraction": {"numerator": 1, "denominator": 1000}}}],
       "backendRefs": [{"name": "api", "port": 80}]}]})");
  r.resolved = {{true}, {true}, {true}};
  r.mirrors = {{true, false}, {true}, {true}};  // "gone" did not resolve: no copies
  GatewayListener gw(r, {{"prod/api:80", {"127.0.0.1:" + std::to_string(backend.port)}},
                         {"prod/shadow:80", {"127.0.0.1:" + std::to_string(shadow.port)}},
                         {"prod/gone:80", {"127.0.0.1:1"}}});  // would fail if used

  // A fraction is the share asked, not rounded to whole percent (1/1000:
  // 0% rounded): 100,000 requests routed, ~100 mirrored (6 sigma: 40..160).
  {
    const ConnectionInfo ci{"127.0.0.1", 1, "127.0.0.1", gw.port(), 0, {}};
    int mirrored = 0;
    for (int i = 0; i < 100000; ++i) mirrored += !gw.routes()->route(ci, {"GET", "/rare", "x", {}}).mirrors.empty();
    CHECK(mirrored >= 40);
    CHECK(mirrored <= 160);
  }

  KeepAlive conn(gw.port());
  std::string got = conn.request("GET /m/1 HTTP/1.1\r\nHost: api.example.com\r\n\r\n");
  CHECK(got.rfind("HTTP/1.1 200", 0) == 0);  // the backend's answer, not the mirror's 500
  CHECK(got.find("path=/m/1") != std::string::npos);
  got = conn.request("POST /m/2 HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 5\r\n\r\nhello");
  CHECK(got.find("len=5") != std::string::npos);
  got = conn.request("POST /m/3 HTTP/1.1\r\nHost: api.example.com\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  CHECK(got.find("len=3") != std::string::npos);
  got = conn.request("GET /never HTTP/1.1\r\nHost: api.example.com\r\n\r\n");
  CHECK(got.rfind("HTTP/1.1 200", 0) == 0);
  // The copies arrive on their own time.
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard l(mu);
      if (seen.size() >= 3) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  {
    std::lock_guard l(mu);
    std::sort(seen.begin(), seen.end());
    CHECK(seen == std::vector<std::string>{"GET /m/1 host=api.example.com-shadow body=",
                                           "POST /m/2 host=api.example.com-shadow body=hello",
                                           "POST /m/3 host=api.example.com-shadow body=abc"});
  }
  CHECK(gw.proxy().stats().mirrored == 3);
  CHECK(gw.proxy().stats().mirror_skipped == 0);
}
