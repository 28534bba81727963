// The node's DNS proxy on its own (issue 19's target: >= 20k queries/s on
// one core with none lost): a real dnsmasq on 127.0.0.1 answers; a UDP
// client keeps a window of queries outstanding for a few seconds, first to
// dnsmasq directly, then through the proxy (one io thread, a dns rule
// matchPattern checked per query, every query and answer recorded as the
// agent's flows are). Queries not answered within 1 s count as lost. Prints
// one line per run: queries/s, lost, p50/p99 latency.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "axon/proxy/dns_proxy.h"

using Clock = std::chrono::steady_clock;

namespace {

std::vector<uint8_t> query(uint16_t id, const std::string& name) {
  std::vector<uint8_t> q = {static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    q.push_back(static_cast<uint8_t>(dot - start));
    q.insert(q.end(), name.begin() + static_cast<long>(start), name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  q.insert(q.end(), {0, 0, 1, 0, 1});
  return q;
}

struct Result {
  double qps = 0;
  uint64_t answered = 0, lost = 0;
  double p50_us = 0, p99_us = 0;
};

// A window of `window` queries outstanding against 127.0.0.1:port for `secs`.
Result load(int port, int window, double secs) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to);
  std::vector<Clock::time_point> sent(65536);
  std::vector<bool> pending(65536, false);
  std::vector<double> lat;
  lat.reserve(1 << 20);
  uint16_t next = 0;
  int outstanding = 0;
  Result r;
  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::duration<double>(secs);
  const std::string names[] = {"a.bench.test", "b.bench.test", "c.bench.test", "d.bench.test"};
  auto send_one = [&] {
    while (pending[next]) ++next;  // still outstanding (lost): skip its id
    auto q = query(next, names[next % 4]);
    if (::send(fd, q.data(), q.size(), 0) < 0) return;
    sent[next] = Clock::now();
    pending[next] = true;
    ++next;
    ++outstanding;
  };
  uint8_t buf[1500];
  auto last_sweep = t0;
  while (Clock::now() < end || outstanding > 0) {
    const bool sending = Clock::now() < end;
    while (sending && outstanding < window) send_one();
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, 10);
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n < 2) break;
      const uint16_t id = static_cast<uint16_t>(buf[0] << 8 | buf[1]);
      if (!pending[id]) continue;
      pending[id] = false;
      --outstanding;
      ++r.answered;
      lat.push_back(std::chrono::duration<double, std::micro>(Clock::now() - sent[id]).count());
    }
    const auto now = Clock::now();
    if (now - last_sweep > std::chrono::milliseconds(100)) {
      last_sweep = now;
      for (size_t i = 0; i < pending.size(); ++i) {
        if (pending[i] && now - sent[i] > std::chrono::seconds(1)) {
          pending[i] = false;
          --outstanding;
          ++r.lost;
        }
      }
    }
    if (!sending && now > end + std::chrono::seconds(2)) break;
  }
  ::close(fd);
  r.qps = static_cast<double>(r.answered) / secs;
  std::sort(lat.begin(), lat.end());
  if (!lat.empty()) {
    r.p50_us = lat[lat.size() / 2];
    r.p99_us = lat[lat.size() * 99 / 100];
  }
  return r;
}

void print(const char* what, const Result& r) {
  std::printf("%-34s %9.0f queries/s  lost %llu  p50 %.0f us  p99 %.0f us\n", what, r.qps,
              static_cast<unsigned long long>(r.lost), r.p50_us, r.p99_us);
}

}  // namespace

int main(int argc, char** argv) {
  double secs = argc > 1 ? std::stod(argv[1]) : 5;
  const int dns_port = 25353;
  pid_t dnsmasq = ::fork();
  if (dnsmasq == 0) {
    ::execlp("dnsmasq", "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--bind-interfaces",
             "--listen-address=127.0.0.1", ("--port=" + std::to_string(dns_port)).c_str(), "--pid-file=",
             "--user=root", "--local-ttl=30", "--address=/bench.test/10.1.2.3", "--dns-forward-max=10000",
             static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::printf("dnsmasq on 127.0.0.1:%d; %.0f s per run, loopback UDP, A queries for 4 names\n", dns_port, secs);

  auto rules = axon::proxy::DnsRuleSet::compile({{"", "*.bench.test"}}, false);
  std::atomic<uint64_t> recorded{0};
  axon::proxy::DnsProxyOptions o;
  o.port = 0;
  o.address = "127.0.0.1";
  o.transparent = false;
  o.upstream = "127.0.0.1:" + std::to_string(dns_port);
  axon::proxy::DnsProxy proxy(
      o, [&](const axon::proxy::ConnectionInfo&, bool) { return axon::proxy::DnsDecision{*rules, "", 1, 2}; },
      [&](const axon::proxy::DnsExchange& e) { recorded += e.ips.size() + 1; },
      [&](const axon::proxy::ConnectionInfo&, const axon::proxy::DnsDecision&, const axon::proxy::DnsMessage&) {});
  if (!proxy.start()) return 1;

  for (int window : {16, 64}) {
    char what[64];
    std::snprintf(what, sizeof what, "direct to dnsmasq (window %d)", window);
    print(what, load(dns_port, window, secs));
    std::snprintf(what, sizeof what, "through the proxy (window %d)", window);
    print(what, load(proxy.port(), window, secs));
  }
  auto st = proxy.stats();
  std::printf("proxy: %llu queries, %llu refused, %llu SERVFAIL\n", static_cast<unsigned long long>(st.queries),
              static_cast<unsigned long long>(st.refused), static_cast<unsigned long long>(st.failed));
  proxy.stop();
  ::kill(dnsmasq, SIGTERM);
  ::waitpid(dnsmasq, nullptr, 0);
  return 0;
}
