// Datapath benchmarks (bench/README.md): Service scaling against iptables and
// nftables, Service load/change time, policy enforcement cost (iperf3,
// connections/s), per-packet program cost, NodePort from a LAN client
// against direct routing and iptables, and the cost of session affinity.
// Everything runs in network namespaces this program creates (axon-t<pid>-*)
// and removes; iptables and nftables rules go only into its node namespaces.
// Prints figures; asserts nothing about time.
//
//   axon_bench_datapath [services|policy|prog|nodeport|affinity]...   (default: all)
//   axon_bench_datapath connect-axon|connect-bare|connect-nodeport|connect-direct
//       (a steady connect loop for a profiler, AXON_BENCH_SECONDS)
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "axon/abi/datapath.h"
#include "axon/datapath/bpffs.h"
#include "axon/datapath/datapath.h"
#include "axon/datapath/libbpf_env.h"
#include "axon/datapath/prog_test_run.h"
#include "netns.h"
#include "packet_builder.h"
#include "two_nodes.h"

using namespace axon::datapath;
using namespace std::chrono;
using axon::Fd;
using axon::test::NetNs;
using axon::test::Pod;
using axon::test::Topology;

namespace {

// Failures unwind (so namespaces and pins are removed) to main().
[[noreturn]] void die(const std::string& what) {
  throw std::runtime_error(what);
}
template <typename T>
T must(axon::Result<T> r, const std::string& what) {
  if (!r) die(what + ": " + r.error().str());
  return std::move(*r);
}
void must(const axon::Status& s, const std::string& what) {
  if (!s) die(what + ": " + s.error().str());
}

Ipv4 ip(const std::string& s) {
  return Ipv4{axon::test::parse_ipv4(s)};
}
double secs(steady_clock::duration d) {
  return duration<double>(d).count();
}

// A Datapath pinned in a directory of its own, pins removed at the end.
struct BenchDatapath {
  std::string dir;
  std::optional<Datapath> dp;
  explicit BenchDatapath(DatapathConfig c = {}, const std::string& tag = "")
      : dir(std::string(kAxonPinRoot) + "/bench-" + std::to_string(getpid()) + tag) {
    c.pin_dir = dir;
    dp.emplace(must(Datapath::open(c), "open datapath"));
  }
  ~BenchDatapath() {
    dp.reset();
    (void)Datapath::remove_pins(dir);
    rmdir(std::string(kAxonPinRoot).c_str());
  }
  Datapath* operator->() { return &*dp; }
  Datapath& operator*() { return *dp; }
};

// A TCP server in a pod that accepts and closes connections until stopped.
struct AcceptLoop {
  Fd listener;
  std::atomic<bool> stop{false};
  std::thread thread;
  AcceptLoop(const NetNs& ns, uint16_t port) {
    listener = axon::test::socket_in(ns, AF_INET, SOCK_STREAM);
    must(axon::test::bind_to(listener.get(), "0.0.0.0", port), "bind");
    if (listen(listener.get(), 4096) != 0) die("listen");
    thread = std::thread([this] {
      while (!stop) {
        if (!axon::test::readable_within(listener.get(), milliseconds(50))) continue;
        int c = accept(listener.get(), nullptr, nullptr);
        if (c >= 0) close(c);
      }
    });
  }
  ~AcceptLoop() {
    stop = true;
    thread.join();
  }
};

// Connections per second from `client` to ip:port for `seconds` (connect,
// then close with RST so no TIME_WAIT piles up).
double connect_rate(const NetNs& client, const std::string& dst, uint16_t port, double seconds) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, dst.c_str(), &sa.sin_addr);
  linger lg{1, 0};
  uint64_t n = 0, failed = 0;
  axon::test::InNetns in(client);  // sockets below are the client's
  auto end = steady_clock::now() + duration<double>(seconds);
  auto start = steady_clock::now();
  while (steady_clock::now() < end) {
    Fd s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    setsockopt(s.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    timeval tv{1, 0};
    setsockopt(s.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0) {
      ++n;
    } else if (++failed > 10) {
      die("connections to " + dst + " fail: " + std::strerror(errno));
    }
  }
  return static_cast<double>(n) / secs(steady_clock::now() - start);
}

// The i-th Service VIP, inside 10.96.0.0/12.
std::string vip_hi(int i) {
  return "10." + std::to_string(96 + (i >> 16)) + "." + std::to_string((i >> 8) & 0xff) + "." +
         std::to_string(i & 0xff);
}

void attach_all(Datapath& dp, Topology& t,
                const std::vector<std::pair<std::string, uint32_t>>& pods) {
  axon::test::InNetns in(t.node());
  uint32_t ep = 1;
  for (const auto& [name, id] : pods) {
    Pod& p = t.pod(name);
    must(dp.endpoints().attach({p.host_ifindex, ip(p.ip), id, ep++, p.mac}), "attach " + name);
  }
}
void detach_all(Datapath& dp, Topology& t,
                const std::vector<std::pair<std::string, uint32_t>>& pods) {
  axon::test::InNetns in(t.node());
  for (const auto& [name, id] : pods)
    must(dp.endpoints().detach(t.pod(name).host_ifindex), "detach");
}

// Writes `text` to a file and runs `cmd file` in the node namespace.
void load_rules(const NetNs& node, const std::vector<std::string>& cmd, const std::string& text) {
  std::string path = "/tmp/axon-bench-" + std::to_string(getpid()) + ".rules";
  std::ofstream(path) << text;
  auto argv = cmd;
  argv.push_back(path);
  int rc = node.exec(argv);
  unlink(path.c_str());
  if (rc != 0) die(cmd[0] + " failed in " + node.name());
}

// ---------------------------------------------------------------------------
// The rules of a kube-proxy-style iptables NAT table: one rule per Service in
// KUBE-SERVICES, each jumping to its own KUBE-SVC chain with the DNAT.
std::string iptables_rules(int n, const std::string& backend) {
  std::string ipt = "*nat\n:KUBE-SERVICES - [0:0]\n";
  for (int i = 0; i < n; ++i) ipt += ":KUBE-SVC-" + std::to_string(i) + " - [0:0]\n";
  ipt += "-A PREROUTING -j KUBE-SERVICES\n";
  for (int i = 0; i < n; ++i) {
    ipt += "-A KUBE-SERVICES -d " + vip_hi(i) + "/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-" +
           std::to_string(i) + "\n";
    ipt += "-A KUBE-SVC-" + std::to_string(i) + " -p tcp -j DNAT --to-destination " + backend +
           ":8080\n";
  }
  return ipt + "COMMIT\n";
}

// kube-proxy's nftables mode: a verdict map VIP . proto . port -> a chain per
// Service with the DNAT.
std::string nft_rules(int n, const std::string& backend) {
  std::string nft = "table ip axon_bench {\n";
  for (int i = 0; i < n; ++i) {
    nft +=
        " chain svc" + std::to_string(i) + " { meta l4proto tcp dnat to " + backend + ":8080; }\n";
  }
  nft += " map service_ips { type ipv4_addr . inet_proto . inet_service : verdict;\n  elements = {";
  for (int i = 0; i < n; ++i) {
    nft += (i ? ", " : " ") + vip_hi(i) + " . tcp . 80 : goto svc" + std::to_string(i);
  }
  nft +=
      " }; }\n chain prerouting { type nat hook prerouting priority dstnat;\n"
      "  ip daddr . meta l4proto . th dport vmap @service_ips; }\n}\n";
  return nft;
}

void bench_services() {
  std::printf(
      "\n== services: TCP connections/s to the last Service's VIP\n"
      "   (9 rounds; each round measures every count and mode in turn, 0.5 s each;\n"
      "    best round shown, so drift from other load on the machine hits all alike)\n");
  auto topo =
      must(Topology::create({{"client", "10.244.1.10"}, {"backend", "10.244.1.20"}}), "topology");
  Pod& client = topo.pod("client");
  Pod& backend = topo.pod("backend");
  const std::vector<std::pair<std::string, uint32_t>> pods = {{"client", 1000}, {"backend", 2000}};
  AcceptLoop server(backend.ns, 8080);
  BenchDatapath dp;
  const double T = 0.5;
  const int rounds = 9;
  const std::vector<int> counts = {10, 1000, 10000, 30000};
  std::map<int, std::array<double, 3>> best;  // count -> axon, iptables, nft
  std::map<int, double> load_s, change_ms;
  int loaded = 0;
  for (int round = 0; round < rounds; ++round) {
    for (int n : counts) {
      // axon: n Services from empty; the last one is the target. Fillers
      // point at the same backend pod, as in kube-proxy's own scale tests.
      for (int i = 0; i < loaded; ++i) {
        must(dp->services().erase({ip(vip_hi(i)), 80, IPPROTO_TCP}), "erase");
      }
      auto t0 = steady_clock::now();
      for (int i = 0; i < n; ++i) {
        must(dp->services().upsert(
                 {{ip(vip_hi(i)), 80, IPPROTO_TCP}, {{ip(backend.ip), 8080}}, std::nullopt}),
             "upsert service");
      }
      double l = secs(steady_clock::now() - t0);
      load_s[n] = round == 0 ? l : std::min(load_s[n], l);
      loaded = n;
      // Change one Service (its backend set alternates), 200 times.
      auto t1 = steady_clock::now();
      for (int k = 0; k < 200; ++k) {
        std::vector<Backend> bs = {{ip(backend.ip), 8080}};
        if (k % 2 == 0) bs.push_back({ip("10.244.9." + std::to_string(1 + k % 200)), 8080});
        must(dp->services().upsert({{ip(vip_hi(n / 2)), 80, IPPROTO_TCP}, bs, std::nullopt}),
             "change");
      }
      double c = secs(steady_clock::now() - t1) * 1000 / 200;
      change_ms[n] = round == 0 ? c : std::min(change_ms[n], c);
      const std::string target = vip_hi(n - 1);
      auto& b = best[n];

      attach_all(*dp, topo, pods);
      (void)connect_rate(client.ns, target, 80, 0.2);  // warm up
      b[0] = std::max(b[0], connect_rate(client.ns, target, 80, T));
      detach_all(*dp, topo, pods);
      must(dp->conntrack().flush(), "flush");

      load_rules(topo.node(), {"iptables-restore"}, iptables_rules(n, backend.ip));
      (void)connect_rate(client.ns, target, 80, 0.2);
      b[1] = std::max(b[1], connect_rate(client.ns, target, 80, T));
      load_rules(topo.node(), {"iptables-restore"}, "*nat\nCOMMIT\n");  // flush
      topo.node().exec({"iptables", "-t", "nat", "-X"});

      load_rules(topo.node(), {"nft", "-f"}, nft_rules(n, backend.ip));
      (void)connect_rate(client.ns, target, 80, 0.2);
      b[2] = std::max(b[2], connect_rate(client.ns, target, 80, T));
      topo.node().exec({"nft", "delete", "table", "ip", "axon_bench"});
      std::fprintf(stderr, "round %d, %d services done\n", round + 1, n);
    }
  }
  std::printf("%-8s %10s %10s %10s %8s %8s %8s %12s %14s\n", "services", "axon c/s", "iptables",
              "nft vmap", "axon/10", "ipt/10", "axon/nft", "axon load s", "axon change ms");
  for (int n : counts) {
    const auto& b = best[n];
    std::printf("%-8d %10.0f %10.0f %10.0f %8.3f %8.3f %8.3f %12.3f %14.3f\n", n, b[0], b[1], b[2],
                b[0] / best[10][0], b[1] / best[10][1], b[0] / b[2], load_s[n], change_ms[n]);
  }
}

// ---------------------------------------------------------------------------
// 1,000 identities in the ipcache and a 16k-entry policy on each endpoint.
void load_policy_state(Datapath& dp) {
  for (int i = 0; i < 1000; ++i) {
    must(dp.ipcache().upsert(
             {ip("10.250." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1)), 32},
             static_cast<uint32_t>(10000 + i)),
         "ipcache");
  }
  must(dp.ipcache().upsert({ip("10.244.1.10"), 32}, 1000), "ipcache");
  must(dp.ipcache().upsert({ip("10.244.1.20"), 32}, 2000), "ipcache");
  EndpointPolicy pol{true, true, {}};
  for (uint32_t id = 10000; id < 11000; ++id) {
    for (uint16_t j = 0; j < 16; ++j) {
      pol.entries.push_back({j % 2 ? Direction::egress : Direction::ingress, id, IPPROTO_TCP,
                             static_cast<uint16_t>(1000 + 2 * j),
                             static_cast<uint16_t>(1000 + 2 * j), PolicyAction::allow, 0});
    }
  }
  // What the traffic needs: client -> backend on 5201 (iperf3) and 8080.
  for (uint16_t port : {5201, 8080}) {
    pol.entries.push_back(
        {Direction::egress, 2000, IPPROTO_TCP, port, port, PolicyAction::allow, 0});
    pol.entries.push_back(
        {Direction::ingress, 1000, IPPROTO_TCP, port, port, PolicyAction::allow, 0});
  }
  std::printf("policy: %zu PolicyEntry -> %zu trie entries per endpoint\n", pol.entries.size(),
              encode_policy_trie(pol).size());
  must(dp.policy().replace(1, pol), "policy");
  must(dp.policy().replace(2, pol), "policy");
}

struct ProgStats {
  uint64_t run_ns = 0, runs = 0;
};
ProgStats prog_stats(const bpf_program* p) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len) != 0) return {};
  return {info.run_time_ns, info.run_cnt};
}
// Both programs of a datapath together (a tail call counts in its caller).
ProgStats prog_stats(Datapath& dp) {
  auto f = prog_stats(dp.from_container()), t = prog_stats(dp.to_container());
  return {f.run_ns + t.run_ns, f.runs + t.runs};
}
ProgStats operator-(const ProgStats& a, const ProgStats& b) {
  return {a.run_ns - b.run_ns, a.runs - b.runs};
}

// A client and a backend pod (the backend accepting on 8080) and the
// datapath state the policy benchmarks load.
struct TwoPods {
  Topology topo =
      must(Topology::create({{"client", "10.244.1.10"}, {"backend", "10.244.1.20"}}), "topology");
  Pod& client = topo.pod("client");
  Pod& backend = topo.pod("backend");
  const std::vector<std::pair<std::string, uint32_t>> pods = {{"client", 1000}, {"backend", 2000}};
  AcceptLoop server{backend.ns, 8080};
};

// iperf3 client in `client` against a one-off server in `server`; Gbit/s.
double iperf3(const Pod& client, const Pod& server, double seconds) {
  pid_t srv = fork();
  if (srv == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execlp("ip", "ip", "netns", "exec", server.ns.name().c_str(), "iperf3", "-s", "-1", "-p",
           "5201", nullptr);
    _exit(127);
  }
  std::this_thread::sleep_for(milliseconds(300));
  std::string cmd = "ip netns exec " + client.ns.name() + " iperf3 -c " + server.ip +
                    " -p 5201 -t " + std::to_string(static_cast<int>(seconds)) + " -J 2>/dev/null";
  FILE* f = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (f && std::fgets(buf, sizeof(buf), f)) out += buf;
  if (f) pclose(f);
  kill(srv, SIGTERM);  // our own child, by pid
  waitpid(srv, nullptr, 0);
  // "sum_received": {... "bits_per_second": X
  auto at = out.find("\"sum_received\"");
  if (at == std::string::npos) return 0;
  at = out.find("\"bits_per_second\":", at);
  if (at == std::string::npos) return 0;
  return std::atof(out.c_str() + at + 18) / 1e9;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}
double best_of(const std::vector<double>& v) {
  return v.empty() ? 0 : *std::max_element(v.begin(), v.end());
}
// The median of per-round ratios v[i] / base[i]: each round's base run is its
// pair, so drift of the machine between rounds cancels out.
double paired(const std::vector<double>& v, const std::vector<double>& base) {
  std::vector<double> r;
  for (size_t i = 0; i < v.size() && i < base.size(); ++i) {
    if (base[i] > 0) r.push_back(v[i] / base[i]);
  }
  return median(r);
}

// Bare veths (the node's IP stack routes) against axon's programs, once
// routing through the node's stack (legacy) and once with BPF host routing
// (axon's default), in alternating rounds on the same pods.
void bench_policy() {
  std::printf("\n== policy: two pods, bare veths vs axon (1,000 identities, 16k-entry policy)\n");
  TwoPods two;
  auto& [topo, client, backend, pods, server] = two;
  DatapathConfig legacy_cfg;
  legacy_cfg.host_routing = false;
  BenchDatapath legacy(legacy_cfg, "-legacy"), routed;
  load_policy_state(*legacy);
  load_policy_state(*routed);
  const char* env = std::getenv("AXON_BENCH_ROUNDS");
  const int rounds = env ? std::max(1, std::atoi(env)) : 9;
  struct Mode {
    Mode(const char* n, BenchDatapath* d) : name(n), dp(d) {}
    const char* name;
    BenchDatapath* dp;
    std::vector<double> bw, cps;
    ProgStats bpf_iperf, bpf_conn;
    double conns = 0;
  };
  std::vector<Mode> modes = {
      {"bare veths", nullptr}, {"axon, legacy routing", &legacy}, {"axon, host routing", &routed}};
  std::printf("%-6s", "round");
  for (const auto& m : modes) std::printf(" %22s", m.name);
  std::printf("   (Gbit/s, connections/s)\n");
  for (int r = 0; r < rounds; ++r) {
    std::printf("%-6d", r + 1);
    // Rotate the order so no mode always runs first after a pause.
    for (size_t k = 0; k < modes.size(); ++k) {
      Mode& m = modes[(k + static_cast<size_t>(r)) % modes.size()];
      if (m.dp) attach_all(**m.dp, topo, pods);
      m.bw.push_back(iperf3(client, backend, 2));
      m.cps.push_back(connect_rate(client.ns, backend.ip, 8080, 1));
      if (m.dp) {
        detach_all(**m.dp, topo, pods);
        must((*m.dp)->conntrack().flush(), "flush");
      }
    }
    for (const auto& m : modes) std::printf(" %9.2f %12.0f", m.bw.back(), m.cps.back());
    std::printf("\n");
    std::fflush(stdout);
  }
  // Best and median of each mode against bare veths' best and median, and
  // the median of the per-round ratios (each round's bare run is its pair:
  // drift of the machine between rounds cancels out).
  const Mode& bare = modes[0];
  std::printf("\n%-22s %16s %16s %7s %18s %18s %7s\n", "", "Gbit/s best", "Gbit/s median", "paired",
              "connections best", "connections median", "paired");
  for (const auto& m : modes) {
    std::printf("%-22s %8.2f (%.3fx) %8.2f (%.3fx) %6.3fx %10.0f (%.3fx) %10.0f (%.3fx) %6.3fx\n",
                m.name, best_of(m.bw), best_of(m.bw) / best_of(bare.bw), median(m.bw),
                median(m.bw) / median(bare.bw), paired(m.bw, bare.bw), best_of(m.cps),
                best_of(m.cps) / best_of(bare.cps), median(m.cps), median(m.cps) / median(bare.cps),
                paired(m.cps, bare.cps));
  }
  // The kernel's BPF run-time stats cost time themselves (two clock reads
  // per run): measured apart from the timed rounds.
  int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
  if (stats_fd < 0) return;
  Fd stats_guard(stats_fd);
  for (auto& m : modes) {
    if (!m.dp) continue;
    attach_all(**m.dp, topo, pods);
    auto s0 = prog_stats(**m.dp);
    (void)iperf3(client, backend, 2);
    auto s1 = prog_stats(**m.dp);
    m.conns = connect_rate(client.ns, backend.ip, 8080, 1);
    m.bpf_iperf = s1 - s0;
    m.bpf_conn = prog_stats(**m.dp) - s1;
    detach_all(**m.dp, topo, pods);
    must((*m.dp)->conntrack().flush(), "flush");
  }
  std::printf(
      "kernel BPF run-time stats (separate runs; a tail call counts in its caller's run):\n");
  for (const auto& m : modes) {
    if (!m.dp || !m.bpf_iperf.runs || !m.bpf_conn.runs || m.conns <= 0) continue;
    std::printf(
        "%s: BPF %.0f ns/run during iperf3; during the connection runs %.0f ns/run, %.1f runs and "
        "%.2f us of BPF per connection\n",
        m.name, double(m.bpf_iperf.run_ns) / double(m.bpf_iperf.runs),
        double(m.bpf_conn.run_ns) / double(m.bpf_conn.runs), double(m.bpf_conn.runs) / m.conns,
        double(m.bpf_conn.run_ns) / m.conns / 1000);
  }
}

// A steady connect loop for a profiler (`perf record -a` beside it):
// AXON_BENCH_SECONDS (default 10) of connections, with axon's programs
// attached ("connect-axon") or on bare veths ("connect-bare").
void bench_connect(bool with_axon) {
  const char* env = std::getenv("AXON_BENCH_SECONDS");
  const double seconds = env ? std::atof(env) : 10;
  TwoPods two;
  auto& [topo, client, backend, pods, server] = two;
  BenchDatapath dp;
  load_policy_state(*dp);
  if (with_axon) attach_all(*dp, topo, pods);
  (void)connect_rate(client.ns, backend.ip, 8080, 0.2);
  std::printf("%s: %.0f connections/s over %.1f s\n", with_axon ? "axon" : "bare",
              connect_rate(client.ns, backend.ip, 8080, seconds), seconds);
  if (with_axon) detach_all(*dp, topo, pods);
}

// ---------------------------------------------------------------------------
void bench_prog() {
  std::printf("\n== prog: per-packet cost, BPF_PROG_TEST_RUN (repeat 1,000,000)\n");
  BenchDatapath dp;
  load_policy_state(*dp);
  must(dp->endpoints().record({1, ip("10.244.1.10"), 1000, 1}), "record");
  for (int i = 0; i < 10000; ++i) {
    must(dp->services().upsert(
             {{ip(vip_hi(i)), 80, IPPROTO_TCP}, {{ip("10.244.1.20"), 8080}}, std::nullopt}),
         "svc");
  }
  using axon::test::PacketBuilder;
  auto pb = [] { return PacketBuilder().eth("02:00:00:00:00:01", "02:00:00:00:00:02"); };
  // Prime conntrack so the timed runs hit established connections.
  auto syn = pb().ipv4("10.244.1.10", "10.244.1.20").tcp(40000, 8080, axon::test::kTcpSyn).build();
  auto ack = pb().ipv4("10.244.1.10", "10.244.1.20")
                 .tcp(40000, 8080, axon::test::kTcpAck)
                 .payload(std::string(64, 'x'))
                 .build();
  auto reply = pb().ipv4("10.244.1.20", "10.244.1.10")
                   .tcp(8080, 40000, axon::test::kTcpAck)
                   .payload(std::string(64, 'x'))
                   .build();
  auto svc = pb().ipv4("10.244.1.10", vip_hi(9999))
                 .tcp(40001, 80, axon::test::kTcpAck)
                 .payload(std::string(64, 'x'))
                 .build();
  auto in_new =
      pb().ipv4("10.250.0.5", "10.244.1.10").tcp(40002, 1001, axon::test::kTcpSyn).build();
  auto arp = pb().eth("02:00:00:00:00:01", "ff:ff:ff:ff:ff:ff", 0x0806)
                 .payload(std::string(28, 0))
                 .build();
  (void)must(prog_test_run(dp->from_container(), syn), "prime");
  (void)must(prog_test_run(dp->from_container(), svc), "prime");
  struct Case {
    const char* what;
    const bpf_program* prog;
    const std::vector<uint8_t>* pkt;
  };
  std::vector<Case> cases = {
      {"from-container: established TCP, egress policy lookup (policy path)", dp->from_container(),
       &ack},
      {"to-container: reply of an established connection (no policy)", dp->to_container(), &reply},
      {"from-container: established TCP to a Service VIP (10k services), DNAT",
       dp->from_container(), &svc},
      {"to-container: ingress policy lookup, denied (drop + event)", dp->to_container(), &in_new},
      {"from-container: ARP passthrough", dp->from_container(), &arp},
  };
  for (const auto& c : cases) {
    double best = 1e9;
    for (int k = 0; k < 3; ++k) {
      auto r = must(prog_test_run(c.prog, *c.pkt, 1000000), c.what);
      best = std::min(best, double(r.duration_ns));
    }
    std::printf("%6.0f ns  %s\n", best, c.what);
  }

  // New connections: each SYN distinct (repeat 1), so every run takes the
  // new-connection path: ipcache + policy trie lookup + conntrack insert.
  {
    auto reader = must(dp->open_events(), "events");  // drain so events are really written
    double sum = 0;
    const int n = 20000;
    for (int i = 0; i < n; ++i) {
      auto pkt = pb().ipv4("10.244.1.10", "10.244.1.20")
                     .tcp(static_cast<uint16_t>(1024 + i), 8080, axon::test::kTcpSyn)
                     .build();
      sum += must(prog_test_run(dp->from_container(), pkt, 1), "syn").duration_ns;
      if (i % 1000 == 999) (void)reader.poll(milliseconds(0), nullptr);
    }
    std::printf(
        "%6.0f ns  from-container: new connection (SYN): policy lookup, CT insert, event "
        "(mean of %d distinct SYNs, single runs)\n",
        sum / n, n);
    // The same single-run measurement of an established packet: what a run
    // costs outside a hot repeat loop (cold caches, timer overhead).
    double est = 0;
    for (int i = 0; i < n; ++i)
      est += must(prog_test_run(dp->from_container(), ack, 1), "ack").duration_ns;
    std::printf(
        "%6.0f ns  from-container: established TCP, single runs (baseline for the line above)\n",
        est / n);
  }

  // The Service lookup does not depend on how many Services exist: the same
  // established packet to a VIP with 10 and with 30,000 Services loaded,
  // alternated five times (best of each).
  auto svc10 = pb().ipv4("10.244.1.10", vip_hi(9))
                   .tcp(40003, 80, axon::test::kTcpAck)
                   .payload(std::string(64, 'x'))
                   .build();
  double best_small = 1e9, best_large = 1e9;
  int loaded = 10000;
  for (int k = 0; k < 5; ++k) {
    for (int n : {10, 30000}) {
      for (int i = loaded; i < n; ++i) {
        must(dp->services().upsert(
                 {{ip(vip_hi(i)), 80, IPPROTO_TCP}, {{ip("10.244.1.20"), 8080}}, std::nullopt}),
             "svc");
      }
      for (int i = n; i < loaded; ++i)
        must(dp->services().erase({ip(vip_hi(i)), 80, IPPROTO_TCP}), "erase");
      loaded = n;
      (void)must(prog_test_run(dp->from_container(), svc10), "prime");
      auto r = must(prog_test_run(dp->from_container(), svc10, 1000000), "service path");
      (n == 10 ? best_small : best_large) =
          std::min(n == 10 ? best_small : best_large, double(r.duration_ns));
    }
  }
  std::printf("%6.0f ns  from-container: established TCP to a Service VIP, 10 services loaded\n",
              best_small);
  std::printf("%6.0f ns  from-container: the same, 30,000 services loaded\n", best_large);
}

// ---------------------------------------------------------------------------
// NodePort: TCP connections/s from a LAN client (10.0.0.100) to node-1's
// address:NodePort whose one backend is node-2's pod b2
// (externalTrafficPolicy Cluster: node-1's from-netdev SNATs to its address
// and sends the packet on at once), against the client reaching b2 directly
// (a route in the client's namespace to node-2's pod CIDR via node-2),
// against kube-proxy-style iptables rules doing the NodePort job on node-1
// (from-netdev detached for those runs), and against the client reaching b2
// through node-1 plainly routed both ways (the extra LAN hop alone). Two
// nodes and the client on one bridge (tests/support/two_nodes.h), both
// datapaths as the agent sets them up.

// The measured Service listens on kNodePort; the other n - 1 on the ports
// above it. It stays loaded while the others come and go: axon's SNAT state
// of a client port is kept per backend (6 h, axon_snat4_v1), and a second
// frontend reusing it would break the first's later connections from the
// same client port (see bench/RESULTS.md, ninth session).
constexpr uint16_t kNodePort = 30000;
uint16_t filler_port(int i) {
  return static_cast<uint16_t>(kNodePort + 1 + i);
}

// kube-proxy's iptables NodePort chains: PREROUTING -> KUBE-SERVICES, whose
// rule for local addresses jumps to KUBE-NODEPORTS with one rule per Service
// port (the measured one last) -> KUBE-EXT (mark for masquerade) -> KUBE-SVC
// (DNAT); POSTROUTING -> KUBE-POSTROUTING masquerades marked traffic.
std::string iptables_nodeport_rules(int n, const std::string& backend) {
  std::string ipt =
      "*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-NODEPORTS - [0:0]\n:KUBE-POSTROUTING - [0:0]\n"
      ":KUBE-MARK-MASQ - [0:0]\n";
  for (int i = 0; i < n; ++i) {
    ipt += ":KUBE-EXT-" + std::to_string(i) + " - [0:0]\n:KUBE-SVC-" + std::to_string(i) +
           " - [0:0]\n";
  }
  ipt +=
      "-A PREROUTING -j KUBE-SERVICES\n"
      "-A POSTROUTING -j KUBE-POSTROUTING\n"
      "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n"
      "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n"
      "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0\n"
      "-A KUBE-POSTROUTING -j MASQUERADE\n"
      "-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n";
  for (int i = 0; i < n; ++i) {
    const std::string id = std::to_string(i);
    const uint16_t port = i == n - 1 ? kNodePort : filler_port(i);
    ipt += "-A KUBE-NODEPORTS -p tcp -m tcp --dport " + std::to_string(port) + " -j KUBE-EXT-" +
           id + "\n";
    ipt +=
        "-A KUBE-EXT-" + id + " -j KUBE-MARK-MASQ\n-A KUBE-EXT-" + id + " -j KUBE-SVC-" + id + "\n";
    ipt += "-A KUBE-SVC-" + id + " -p tcp -j DNAT --to-destination " + backend + ":8080\n";
  }
  return ipt + "COMMIT\n";
}

// A NodePort Service of node-1: external, eTP Cluster, the one backend on
// node-2.
Service nodeport_service(uint16_t port, const std::string& backend) {
  Service s{{ip(axon::test::TwoNodeLan::kNode1), port, IPPROTO_TCP},
            {{ip(backend), 8080, false}},
            std::nullopt};
  s.external = true;
  s.snat = true;
  return s;
}

// node-1's NodePort Services from `loaded` to `n` (the measured one and n - 1
// others).
void load_nodeports(Datapath& dp, int& loaded, int n, const std::string& backend) {
  if (loaded == 0) must(dp.services().upsert(nodeport_service(kNodePort, backend)), "svc");
  for (int i = std::max(loaded, 1) - 1; i < n - 1; ++i)
    must(dp.services().upsert(nodeport_service(filler_port(i), backend)), "svc");
  for (int i = n - 1; i < loaded - 1; ++i)
    must(dp.services().erase(nodeport_service(filler_port(i), backend).key), "erase");
  loaded = n;
}

// The two-node LAN with both datapaths set up and b2 accepting on 8080; the
// client can also reach node-2's pods directly.
struct NodePortLab {
  static constexpr const char* kLbIp = "10.0.0.241";
  axon::test::TwoNodeLan net = must(axon::test::TwoNodeLan::create(), "two-node LAN");
  BenchDatapath dp1{{}, "-n1"}, dp2{{}, "-n2"};
  Pod& backend = net.pod("b2");
  AcceptLoop server{backend.ns, 8080};
  AcceptLoop lb_server{backend.ns, 8081};  // behind the LoadBalancer IP
  bool bridge_nf = false;
  NodePortLab() {
    // The bridge stands in for the LAN's switch: no iptables on bridged frames
    // in its namespace (br_netfilter, when loaded, defaults to calling them:
    // a cost the NodePort path, crossing the LAN twice, would pay twice).
    // AXON_BENCH_BRIDGE_NF=1 keeps it on. A per-namespace sysctl.
    const char* nf = std::getenv("AXON_BENCH_BRIDGE_NF");
    bridge_nf = nf && std::string(nf) == "1";
    if (!bridge_nf && access("/proc/sys/net/bridge", F_OK) == 0) {
      (void)net.lan.exec({"sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=0"});
    }
    must(net.setup(*dp1, 1), "node-1 datapath");
    must(net.setup(*dp2, 2), "node-2 datapath");
    if (net.client.exec(
            {"ip", "route", "add", "10.244.2.0/24", "via", axon::test::TwoNodeLan::kNode2}) != 0) {
      die("client route to node-2's pods");
    }
    // A LoadBalancer IP node-1 announces (its ARP responder answers the
    // client), the same pod behind it on a port of its own: the two
    // frontends' connections do not compete for node-1's SNAT ports
    // towards one backend address and port (closed ones hold theirs for the
    // close timeout; the rates here would exhaust the range between them).
    Service lb = nodeport_service(80, backend.ip);
    lb.key.vip = ip(kLbIp);
    lb.backends.front().port = 8081;
    must(dp1->services().upsert(lb), "LoadBalancer IP");
    must(dp1->l2().announce({ip(kLbIp), net.n1_eth0}), "announce");
    must(dp1->l2().hold_until(std::chrono::steady_clock::now() + std::chrono::hours(24)), "L2 lease");
    // Routed through node-1, the client must not take node-1's ICMP
    // redirects (node-2 is on the same LAN) as a shortcut.
    for (const char* dev : {"all", "eth0"}) {
      (void)net.client.exec(
          {"sysctl", "-qw", std::string("net.ipv4.conf.") + dev + ".accept_redirects=0"});
    }
  }
  // The client's traffic to b2 and b2's replies through node-1 (routed), or
  // directly between the client and node-2 again.
  void route_via_node1(bool on) {
    const char* n1 = axon::test::TwoNodeLan::kNode1;
    const char* n2 = axon::test::TwoNodeLan::kNode2;
    bool ok =
        net.client.exec({"ip", "route", "replace", "10.244.2.0/24", "via", on ? n1 : n2}) == 0 &&
        net.n2.node().exec({"ip", "route", on ? "add" : "del", "10.0.0.100/32", "via", n1}) == 0;
    if (!ok) die("routes through node-1");
  }
  void flush() {
    must(dp1->conntrack().flush(), "flush");
    must(dp2->conntrack().flush(), "flush");
  }
};

void bench_nodeport() {
  const char* env = std::getenv("AXON_BENCH_ROUNDS");
  const int rounds = env ? std::max(1, std::atoi(env)) : 9;
  const double T = 1;
  std::printf(
      "\n== nodeport: TCP connections/s from a LAN client to node-1's NodePort, backend on "
      "node-2\n"
      "   (eTP Cluster: node-1 SNATs) vs the client to the backend pod directly, vs\n"
      "   kube-proxy-style iptables NodePort rules on node-1, and vs the client reaching the pod\n"
      "   through node-1 both ways, plainly routed (the extra hop alone), and to a LoadBalancer\n"
      "   IP node-1 announces (its eBPF ARP responder answers); %d rounds, each\n"
      "   measuring every count and mode in turn (order rotated), %.1f s each\n",
      rounds, T);
  NodePortLab lab;
  std::printf("   (iptables on the LAN bridge's frames: %s)\n", lab.bridge_nf ? "on" : "off");
  const std::string& b2 = lab.backend.ip;
  const std::string node1 = axon::test::TwoNodeLan::kNode1;
  const std::vector<int> counts = {10, 10000};
  struct Mode {
    const char* name;
    std::map<int, std::vector<double>> cps;  // count -> per round
  };
  std::vector<Mode> modes = {{"direct to pod", {}},
                             {"axon NodePort", {}},
                             {"iptables NodePort", {}},
                             {"routed via node-1", {}},
                             {"axon LB IP (L2)", {}}};
  int loaded = 0;
  for (int r = 0; r < rounds; ++r) {
    for (int n : counts) {
      load_nodeports(*lab.dp1, loaded, n, b2);
      const uint16_t port = kNodePort;
      std::printf("round %d, %5d services:", r + 1, n);
      for (size_t k = 0; k < modes.size(); ++k) {
        const size_t m = (k + static_cast<size_t>(r)) % modes.size();
        double c = 0;
        if (m == 0) {
          (void)connect_rate(lab.net.client, b2, 8080, 0.2);
          c = connect_rate(lab.net.client, b2, 8080, T);
        } else if (m == 1) {
          (void)connect_rate(lab.net.client, node1, port, 0.2);
          c = connect_rate(lab.net.client, node1, port, T);
        } else if (m == 4) {
          // The LoadBalancer IP node-1 answers ARP for: the path of NodePort
          // (from-netdev, SNAT) on an address of its own.
          (void)connect_rate(lab.net.client, NodePortLab::kLbIp, 80, 0.2);
          c = connect_rate(lab.net.client, NodePortLab::kLbIp, 80, T);
        } else if (m == 3) {
          // The floor of any NodePort on this LAN: the same extra hop through
          // node-1 both ways, plainly routed (no translation; from-netdev
          // passes the packets on to node-1's stack).
          lab.route_via_node1(true);
          (void)connect_rate(lab.net.client, b2, 8080, 0.2);
          c = connect_rate(lab.net.client, b2, 8080, T);
          lab.route_via_node1(false);
        } else {
          const auto& node = lab.net.n1.node();
          {
            axon::test::InNetns in(node);  // node-1's eth0: TC is per namespace
            must(lab.dp1->netdevs().detach(lab.net.n1_eth0), "detach from-netdev");
          }
          load_rules(node, {"iptables-restore"}, iptables_nodeport_rules(n, b2));
          (void)connect_rate(lab.net.client, node1, port, 0.2);
          c = connect_rate(lab.net.client, node1, port, T);
          load_rules(node, {"iptables-restore"}, "*nat\nCOMMIT\n");  // flush
          node.exec({"iptables", "-t", "nat", "-X"});
          axon::test::InNetns in(node);
          must(lab.dp1->netdevs().attach({lab.net.n1_eth0, ip(node1)}), "attach from-netdev");
        }
        lab.flush();
        modes[m].cps[n].push_back(c);
      }
      for (const auto& m : modes) std::printf("  %s %6.0f", m.name, m.cps.at(n).back());
      std::printf("\n");
      std::fflush(stdout);
    }
  }
  std::printf("\n%-9s %-18s %10s %8s %10s %8s %8s\n", "services", "mode", "best c/s", "/direct",
              "median", "/direct", "paired");
  for (int n : counts) {
    const auto& direct = modes[0].cps.at(n);
    for (const auto& m : modes) {
      const auto& v = m.cps.at(n);
      std::printf("%-9d %-18s %10.0f %7.3fx %10.0f %7.3fx %7.3fx\n", n, m.name, best_of(v),
                  best_of(v) / best_of(direct), median(v), median(v) / median(direct),
                  paired(v, direct));
    }
  }
  const auto& ax = modes[1].cps;
  std::printf("axon NodePort at 10,000 / at 10 services: best %.3fx, median %.3fx\n",
              best_of(ax.at(10000)) / best_of(ax.at(10)), median(ax.at(10000)) / median(ax.at(10)));
}

// A steady connect loop from the LAN client for a profiler, to node-1's
// NodePort (10 Services) or to the backend pod directly.
void bench_connect_nodeport(bool nodeport, bool lb = false) {
  const char* env = std::getenv("AXON_BENCH_SECONDS");
  const double seconds = env ? std::atof(env) : 10;
  NodePortLab lab;
  int loaded = 0;
  load_nodeports(*lab.dp1, loaded, 10, lab.backend.ip);
  const std::string dst = lb ? NodePortLab::kLbIp : nodeport ? axon::test::TwoNodeLan::kNode1 : lab.backend.ip;
  const uint16_t port = lb ? 80 : nodeport ? kNodePort : 8080;
  (void)connect_rate(lab.net.client, dst, port, 0.2);
  std::printf("%s: %.0f connections/s over %.1f s\n", nodeport ? "NodePort" : "direct",
              connect_rate(lab.net.client, dst, port, seconds), seconds);
}

// ---------------------------------------------------------------------------
// sessionAffinity ClientIP: what it adds to a new connection's first packet.
// from-container on distinct SYNs (single runs, fresh tuples: conntrack
// flushed before each run of SYNs) to a ClusterIP Service with three
// backends, with and without affinity (the same Service switched by an
// upsert), with 10,000 other Services loaded and the policy state of `prog`;
// a SYN straight to a pod for reference. The client is one pod, so after its
// first connection every SYN finds its affinity entry: the steady state of a
// client with affinity (lookup, backend check, last-use update).
void bench_affinity() {
  const char* env = std::getenv("AXON_BENCH_ROUNDS");
  const int rounds = env ? std::max(1, std::atoi(env)) : 9;
  const int n = 20000;
  std::printf(
      "\n== affinity: from-container, new connection (SYN) to a ClusterIP Service, with and\n"
      "   without sessionAffinity ClientIP (BPF_PROG_TEST_RUN, mean of %d distinct SYNs per\n"
      "   run, single runs; %d rounds alternating the modes)\n",
      n, rounds);
  BenchDatapath dp;
  load_policy_state(*dp);
  must(dp->endpoints().record({1, ip("10.244.1.10"), 1000, 1}), "record");
  const std::vector<Backend> backends = {
      {ip("10.244.1.20"), 8080}, {ip("10.244.1.21"), 8080}, {ip("10.244.1.22"), 8080}};
  for (const auto& b : backends) must(dp->ipcache().upsert({b.addr, 32}, 2000), "ipcache");
  for (int i = 0; i < 9999; ++i) {
    must(dp->services().upsert(
             {{ip(vip_hi(i)), 80, IPPROTO_TCP}, {{ip("10.244.1.20"), 8080}}, std::nullopt}),
         "svc");
  }
  const std::string vip = vip_hi(9999);
  auto reader = must(dp->open_events(), "events");  // drained so events are really written
  using axon::test::PacketBuilder;
  // Mean ns of n SYNs from the client pod to dst:port, each a new tuple.
  auto syns = [&](const std::string& dst, uint16_t port) {
    must(dp->conntrack().flush(), "flush");
    double sum = 0;
    for (int i = 0; i < n; ++i) {
      auto pkt = PacketBuilder()
                     .eth("02:00:00:00:00:01", "02:00:00:00:00:02")
                     .ipv4("10.244.1.10", dst)
                     .tcp(static_cast<uint16_t>(1024 + i), port, axon::test::kTcpSyn)
                     .build();
      sum += must(prog_test_run(dp->from_container(), pkt, 1), "syn").duration_ns;
      if (i % 1000 == 999) (void)reader.poll(milliseconds(0), nullptr);
    }
    return sum / n;
  };
  struct Mode {
    const char* name;
    int affinity;  // -1: no Service (straight to a pod)
    std::vector<double> ns;
  };
  std::vector<Mode> modes = {{"SYN to a pod (no Service)", -1, {}},
                             {"SYN to the Service, no affinity", 0, {}},
                             {"SYN to the Service, affinity", 1, {}}};
  for (int r = 0; r < rounds; ++r) {
    for (size_t k = 0; k < modes.size(); ++k) {
      Mode& m = modes[(k + static_cast<size_t>(r)) % modes.size()];
      if (m.affinity < 0) {
        m.ns.push_back(syns("10.244.1.20", 8080));
        continue;
      }
      Service s{{ip(vip), 80, IPPROTO_TCP}, backends, std::nullopt};
      s.affinity_timeout_s = m.affinity ? 10800 : 0;
      must(dp->services().upsert(s), "service");
      m.ns.push_back(syns(vip, 80));
    }
  }
  for (const auto& m : modes) {
    auto lowest = *std::min_element(m.ns.begin(), m.ns.end());
    std::printf("%6.0f ns best, %6.0f ns median  from-container: %s\n", lowest, median(m.ns),
                m.name);
  }
  const auto &off = modes[1].ns, &on = modes[2].ns;
  std::printf(
      "affinity / no affinity: best %.3fx, median %.3fx, paired (median of per-round ratios) "
      "%.3fx\n",
      *std::min_element(on.begin(), on.end()) / *std::min_element(off.begin(), off.end()),
      median(on) / median(off), paired(on, off));
}

}  // namespace

void run(const std::vector<std::string>& which);

int main(int argc, char** argv) {
  std::vector<std::string> which(argv + 1, argv + argc);
  if (which.empty()) which = {"prog", "services", "policy", "nodeport", "affinity"};
  signal(SIGPIPE, SIG_IGN);
  route_libbpf_logs();
  try {
    run(which);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "axon_bench_datapath: %s\n", e.what());
    return 1;
  }
  return 0;
}

void run(const std::vector<std::string>& which) {
  for (const auto& w : which) {
    if (w == "services") {
      bench_services();
    } else if (w == "policy") {
      bench_policy();
    } else if (w == "prog") {
      bench_prog();
    } else if (w == "nodeport") {
      bench_nodeport();
    } else if (w == "affinity") {
      bench_affinity();
    } else if (w == "connect-axon" || w == "connect-bare") {
      bench_connect(w == "connect-axon");
    } else if (w == "connect-nodeport" || w == "connect-direct" || w == "connect-lb") {
      bench_connect_nodeport(w == "connect-nodeport", w == "connect-lb");
    } else {
      die("unknown benchmark " + w +
          " (known: services, policy, prog, nodeport, affinity, connect-axon, connect-bare, "
          "connect-nodeport, connect-direct)");
    }
  }
}
