// The DNS proxy's rules (Cilium's matchName/matchPattern forms), its message
// handling, and the proxy itself between dig and a real dnsmasq on loopback
// (UDP and TCP, REFUSED, SERVFAIL, what Learn and Record see).
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "axon/proxy/dns.h"
#include "axon/proxy/dns_proxy.h"

using axon::proxy::DnsMatcher;

namespace {

bool matches(const std::string& value, bool pattern, const std::string& name) {
  auto m = DnsMatcher::compile(value, pattern);
  REQUIRE(m.ok());
  return m->matches(axon::proxy::normalize_dns_name(name));
}

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  ::pclose(p);
  return out;
}

// dnsmasq on 127.0.0.1:port answering two names; stopped by pid.
struct Dnsmasq {
  pid_t pid = -1;
  int port = 0;
  explicit Dnsmasq(int p) : port(p) {
    pid = ::fork();
    if (pid == 0) {
      const std::string port_arg = "--port=" + std::to_string(port);
      ::execlp("dnsmasq", "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts",
               "--bind-interfaces", "--listen-address=127.0.0.1", port_arg.c_str(), "--pid-file=",
               "--user=root", "--local-ttl=30", "--address=/allowed.test/10.1.2.3",
               "--address=/other.test/10.9.9.9", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Ready when it answers.
    for (int i = 0; i < 50; ++i) {
      if (run("dig +short +time=1 +tries=1 @127.0.0.1 -p " + std::to_string(port) + " allowed.test")
              .find("10.1.2.3") != std::string::npos)
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ~Dnsmasq() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

}  // namespace

TEST_CASE("dns rules: matchName and matchPattern as Cilium's") {
  struct Case {
    const char* value;
    bool pattern;
    const char* name;
    bool want;
  } cases[] = {
      {"cilium.io", false, "cilium.io", true},
      {"cilium.io", false, "cilium.io.", true},
      {"cilium.io.", false, "CILIUM.IO", true},  // case-insensitive, trailing dot optional
      {"cilium.io", false, "sub.cilium.io", false},
      {"cilium.io", false, "cilium.io.evil", false},
      {"*", true, "anything.at.all", true},  // "*" alone: every name
      {"*", true, ".", true},
      {"*.cilium.io", true, "a.cilium.io", true},
      {"*.cilium.io", true, "A-b_1.cilium.io", true},
      {"*.cilium.io", true, "cilium.io", false},       // not the parent
      {"*.cilium.io", true, "a.b.cilium.io", false},   // one label only
      {"*.cilium.io", true, "a.cilium.io.evil", false},  // anchored
      {"*.cilium.io", true, "acilium.io", false},
      {"**.cilium.io", true, "a.cilium.io", true},  // one or more labels
      {"**.cilium.io", true, "a.b.cilium.io", true},
      {"**.cilium.io", true, "cilium.io", false},
      {"api*.cilium.io", true, "api.cilium.io", true},
      {"api*.cilium.io", true, "api-v2.cilium.io", true},
      {"api*.cilium.io", true, "x.api.cilium.io", false},
      {"api*.cilium.io", true, "web.cilium.io", false},
      {"cilium.*", true, "cilium.io", true},
      {"cilium.*", true, "cilium.io.evil", false},
      {"cilium.io", true, "ciliumxio", false},  // the dot is literal
  };
  for (const auto& c : cases) {
    CAPTURE(c.value);
    CAPTURE(c.name);
    CHECK(matches(c.value, c.pattern, c.name) == c.want);
  }
  CHECK_FALSE(DnsMatcher::compile("a(b).io", true).ok());

  auto set = axon::proxy::DnsRuleSet::compile({{"a.io", ""}, {"", "*.b.io"}}, false);
  REQUIRE(set.ok());
  CHECK((*set)->allows("a.io."));
  CHECK((*set)->allows("x.b.io."));
  CHECK_FALSE((*set)->allows("c.io."));
  auto all = axon::proxy::DnsRuleSet::compile({}, true);  // an L4-only allow of the flow
  REQUIRE(all.ok());
  CHECK((*all)->allows("c.io."));
}

TEST_CASE("dns messages: a query parsed, answered REFUSED with its question") {
  // id 0x1234, RD, one question: Www.Example.COM A IN.
  std::vector<uint8_t> q = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  for (std::string label : {"Www", "Example", "COM"}) {
    q.push_back(static_cast<uint8_t>(label.size()));
    q.insert(q.end(), label.begin(), label.end());
  }
  q.insert(q.end(), {0, 0, 1, 0, 1});
  auto m = axon::proxy::parse_dns(q);
  REQUIRE(m.has_value());
  CHECK(m->id == 0x1234);
  CHECK_FALSE(m->response);
  CHECK(m->qname == "www.example.com.");
  CHECK(m->qtype == axon::proxy::kDnsTypeA);
  auto r = axon::proxy::dns_error_reply(q, *m, axon::proxy::kDnsRefused);
  auto a = axon::proxy::parse_dns(r);
  REQUIRE(a.has_value());
  CHECK(a->id == 0x1234);
  CHECK(a->response);
  CHECK(a->rcode == axon::proxy::kDnsRefused);
  CHECK(a->qname == "www.example.com.");
  CHECK(a->answers.empty());
  CHECK((r[2] & 0x01) == 0x01);  // RD kept

  // Not messages: short, a name running off the end, a pointer loop.
  CHECK_FALSE(axon::proxy::parse_dns(std::vector<uint8_t>(q.begin(), q.begin() + 11)).has_value());
  CHECK_FALSE(axon::proxy::parse_dns(std::vector<uint8_t>(q.begin(), q.begin() + 20)).has_value());
  std::vector<uint8_t> loop = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
  CHECK_FALSE(axon::proxy::parse_dns(loop).has_value());
}

TEST_CASE("dns proxy: allowed names answered by the server over UDP and TCP, others REFUSED; a dead server SERVFAIL") {
  // Both come with the test command's packages (dnsmasq-base, bind9-dnsutils).
  REQUIRE(!run("command -v dnsmasq && command -v dig").empty());
  const int dns_port = 20000 + static_cast<int>(::getpid() % 20000);
  Dnsmasq server(dns_port);

  std::mutex mu;
  std::vector<axon::proxy::DnsExchange> seen;
  std::vector<std::string> learned;
  axon::proxy::DnsProxyOptions o;
  o.port = 0;
  o.address = "127.0.0.1";
  o.transparent = false;
  o.upstream = "127.0.0.1:" + std::to_string(dns_port);
  auto rules = axon::proxy::DnsRuleSet::compile({{"allowed.test", ""}}, false);
  REQUIRE(rules.ok());
  axon::proxy::DnsProxy proxy(
      o,
      [&](const axon::proxy::ConnectionInfo&, bool) {
        return axon::proxy::DnsDecision{*rules, "", 7, 8};
      },
      [&](const axon::proxy::DnsExchange& e) {
        std::lock_guard lock(mu);
        seen.push_back(e);
      },
      [&](const axon::proxy::ConnectionInfo&, const axon::proxy::DnsDecision&, const axon::proxy::DnsMessage& m) {
        std::lock_guard lock(mu);
        for (const auto& r : m.answers) learned.push_back(m.qname + " " + r.data);
      });
  REQUIRE(proxy.start().ok());
  const std::string dig = "dig +time=2 +tries=1 @127.0.0.1 -p " + std::to_string(proxy.port()) + " ";

  CHECK(run(dig + "+short allowed.test") == "10.1.2.3\n");
  CHECK(run(dig + "+short +tcp allowed.test") == "10.1.2.3\n");
  CHECK(run(dig + "+short ALLOWED.test") == "10.1.2.3\n");  // names compare case-insensitively
  const std::string refused = run(dig + "other.test");
  CHECK(refused.find("status: REFUSED") != std::string::npos);
  CHECK(refused.find("10.9.9.9") == std::string::npos);
  CHECK(run(dig + "+tcp other.test").find("status: REFUSED") != std::string::npos);
  // Several queries on one TCP connection.
  CHECK(run(dig + "+short +tcp +keepopen allowed.test other.test allowed.test") == "10.1.2.3\n10.1.2.3\n");
  {
    std::lock_guard lock(mu);
    CHECK(learned.size() >= 4);
    CHECK(learned.front() == "allowed.test. 10.1.2.3");
    size_t refused_answers = 0, ok_answers = 0;
    for (const auto& e : seen) {
      if (e.response && e.rcode == axon::proxy::kDnsRefused) {
        ++refused_answers;
        CHECK_FALSE(e.forwarded);
        CHECK(e.query == "other.test.");
      }
      if (e.response && e.rcode == 0) {
        ++ok_answers;
        CHECK(e.ips == std::vector<std::string>{"10.1.2.3"});
        CHECK(e.ttl == 30);
        CHECK(e.src_identity == 7);
      }
    }
    CHECK(refused_answers == 3);
    CHECK(ok_answers >= 4);
  }
  auto st = proxy.stats();
  CHECK(st.refused == 3);
  proxy.stop();

  // No server: SERVFAIL once the timeout passes, over UDP and TCP.
  o.upstream = "127.0.0.1:1";
  o.timeout = std::chrono::milliseconds(300);
  axon::proxy::DnsProxy dead(o, [&](const axon::proxy::ConnectionInfo&, bool) {
    return axon::proxy::DnsDecision{*rules, "", 0, 0};
  });
  REQUIRE(dead.start().ok());
  const std::string dig2 = "dig +time=3 +tries=1 @127.0.0.1 -p " + std::to_string(dead.port()) + " ";
  CHECK(run(dig2 + "allowed.test").find("status: SERVFAIL") != std::string::npos);
  CHECK(run(dig2 + "+tcp allowed.test").find("status: SERVFAIL") != std::string::npos);
  CHECK(dead.stats().failed == 2);
}
