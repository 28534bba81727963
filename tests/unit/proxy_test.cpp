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

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "axon/proxy/http_proxy.h"
#include "axon/proxy/http_rules.h"

using namespace axon::proxy;
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
struct Backend {
  httplib::Server server;
  int port = 0;
  std::thread thread;
  Backend() {
    auto echo = [](const httplib::Request& r, httplib::Response& res) {
      res.set_content("method=" + r.method + " path=" + r.path + " env=" +
                          r.get_header_value("X-Env") + " len=" + std::to_string(r.body.size()),
                      "text/plain");
    };
    server.Get(".*", echo);
    server.Put(".*", echo);
    server.Post(".*", echo);
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~Backend() {
    server.stop();
    thread.join();
  }
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

// Sends `bytes` on a fresh connection, then reads until the peer closes or
// `wait` passes with nothing more.
std::string exchange(uint16_t port, const std::string& bytes,
                     std::chrono::milliseconds wait = std::chrono::milliseconds(3000)) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
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
  }
  close(fd);
  return out;
}

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
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(proxy.port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  auto request = [&](const std::string& bytes) {
    REQUIRE(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
    std::string out;
    char buf[4096];
    // One whole answer: headers, then Content-Length bytes.
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
  };
  CHECK(request("GET /x HTTP/1.1\r\nHost: a\r\n\r\n").rfind("HTTP/1.1 200", 0) == 0);
  closed = true;  // the policy changed: same connection, next request
  const std::string second = request("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK_MESSAGE(second.rfind("HTTP/1.1 403", 0) == 0, second);
  CHECK(request("GET /only HTTP/1.1\r\nHost: a\r\n\r\n").rfind("HTTP/1.1 200", 0) == 0);
  close(fd);
  CHECK(proxy.stats().connections == 1);
}
