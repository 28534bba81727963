// from-netdev with BPF_PROG_TEST_RUN on crafted packets: each translation
// (NodePort to a local backend, SNAT to a backend on another node and the
// reply translated back) and each drop reason (no backend: 158, and the
// reject answer; no route: 169). A test run sees skb->ifindex 1 (the
// loopback of the namespace it runs in): the device is recorded on ifindex 1,
// never attached, and the runs that look routes up happen inside a test
// namespace of their own with a route to the other node's pods.
#include <doctest/doctest.h>
#include <array>
#include <linux/pkt_cls.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "axon/abi/lb.h"
#include "axon/base/fd.h"
#include "fixture.h"
#include "netns.h"

using namespace axon::datapath;
using axon::test::drain;
using axon::test::ip;
using axon::test::kTcpAck;
using axon::test::kTcpSyn;
using axon::test::PacketBuilder;
using axon::test::run;

namespace {

constexpr const char* kNode = "10.0.0.11";
constexpr const char* kClient = "10.0.0.100";
constexpr const char* kLocal = "10.244.1.10";   // a backend on this node
constexpr const char* kRemote = "10.244.2.10";  // a backend on another node
constexpr uint16_t kNodePort = 30080;

// To the test run's device (the loopback, MAC zero): the skb is PACKET_HOST,
// as a frame sent to the node's own MAC.
constexpr const char* kDevMac = "00:00:00:00:00:00";

std::vector<uint8_t> tcp(const char* s, const char* d, uint16_t sp, uint16_t dp, uint8_t flags,
                         const char* dst_mac = kDevMac) {
  return PacketBuilder()
      .eth("02:00:00:00:00:01", dst_mac)
      .ipv4(s, d)
      .tcp(sp, dp, flags)
      .payload("x")
      .build();
}
uint16_t get16(const std::vector<uint8_t>& p, size_t off) {
  return static_cast<uint16_t>(p[off] << 8 | p[off + 1]);
}
uint32_t get32(const std::vector<uint8_t>& p, size_t off) {
  return static_cast<uint32_t>(get16(p, off)) << 16 | get16(p, off + 2);
}
struct Tuple {
  uint32_t saddr, daddr;
  uint16_t sport, dport;
};
Tuple tuple(const std::vector<uint8_t>& p) {
  return {get32(p, 26), get32(p, 30), get16(p, 34), get16(p, 36)};
}

Service frontend(std::vector<Backend> backends, bool snat, bool external = true) {
  Service s{{ip(kNode), kNodePort, IPPROTO_TCP}, std::move(backends), std::nullopt};
  s.external = external;
  s.snat = snat;
  return s;
}

// A namespace whose loopback (ifindex 1) can forward and that routes the
// other node's pods via 10.0.0.12 on a veth.
axon::test::NetNs routed_netns() {
  auto ns = axon::test::NetNs::create("fib");
  REQUIRE(ns.ok());
  for (std::vector<std::string> cmd :
       {std::vector<std::string>{"ip", "link", "set", "lo", "up"},
        {"ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"},
        {"ip", "link", "set", "eth1", "up"},
        {"ip", "link", "set", "eth0", "up"},
        {"ip", "addr", "add", std::string(kNode) + "/24", "dev", "eth0"},
        {"ip", "route", "add", "10.244.2.0/24", "via", "10.0.0.12"},
        {"sysctl", "-qw", "net.ipv4.ip_forward=1"}}) {
    REQUIRE_MESSAGE(ns->exec(cmd) == 0, cmd[0] << " " << cmd[1] << " " << cmd[2]);
  }
  return std::move(*ns);
}

struct Env {
  axon::test::TestDatapath dp;
  Env(DatapathConfig config = {}) : dp(config) {
    REQUIRE(dp->endpoints().record({7, ip(kLocal), 4000, 1}).ok());
    REQUIRE(dp->ipcache().upsert({ip(kLocal), 32}, 4000).ok());
    REQUIRE(dp->ipcache().upsert({ip(kNode), 32}, 1).ok());
    REQUIRE(dp->netdevs().record({1, ip(kNode)}).ok());
  }
  TestRunResult netdev(const std::vector<uint8_t>& p) { return run(dp->from_netdev(), p); }
};

}  // namespace

TEST_CASE("from-netdev: frames to another host's MAC pass untouched (a switch flooding them)") {
  Env env;
  REQUIRE(env.dp->services().upsert(frontend({{ip(kLocal), 8080, true}}, true)).ok());
  auto mine = env.netdev(tcp(kClient, kNode, 40000, kNodePort, kTcpSyn));
  CHECK(tuple(mine.packet_out).daddr == ip(kLocal).addr);  // translated
  const auto flooded = tcp(kClient, kNode, 40001, kNodePort, kTcpSyn, "02:00:00:00:00:99");
  auto out = env.netdev(flooded);
  CHECK(out.retval == TC_ACT_OK);
  CHECK(out.packet_out == flooded);  // another node's to answer
}

TEST_CASE("from-netdev: packets that are not for an external frontend pass untouched") {
  Env env;
  REQUIRE(env.dp->services()
              .upsert({{ip("10.96.0.10"), 80, IPPROTO_TCP}, {{ip(kLocal), 8080}}, std::nullopt})
              .ok());
  for (const auto& p : {tcp(kClient, "10.96.0.10", 40000, 80, kTcpSyn),  // a ClusterIP
                        tcp(kClient, kNode, 40000, 22, kTcpSyn),          // the node's own port
                        tcp(kClient, kLocal, 40000, 8080, kTcpSyn)}) {    // a pod, routed
    auto out = env.netdev(p);
    CHECK(out.retval == TC_ACT_OK);
    CHECK(out.packet_out == p);
  }
}

TEST_CASE("from-netdev: NodePort to a backend of this node keeps the client's address") {
  for (bool snat : {true, false}) {  // eTP Cluster or Local: a local backend is never SNATed
    CAPTURE(snat);
    Env env;
    REQUIRE(env.dp->services().upsert(frontend({{ip(kLocal), 8080, true}}, snat)).ok());
    auto out = env.netdev(tcp(kClient, kNode, 40000, kNodePort, kTcpSyn));
    CHECK(out.retval == TC_ACT_OK);  // on to the stack, which routes it to the pod
    auto t = tuple(out.packet_out);
    CHECK(t.saddr == ip(kClient).addr);
    CHECK(t.sport == 40000);
    CHECK(t.daddr == ip(kLocal).addr);
    CHECK(t.dport == 8080);
  }
}

TEST_CASE("from-netdev: a frontend without backends drops (158), or answers ICMP (reject)") {
  for (bool reject : {true, false}) {
    CAPTURE(reject);
    DatapathConfig config;
    config.no_backend_reject = reject;
    Env env(config);
    auto events = env.dp->open_events();
    REQUIRE(events.ok());
    REQUIRE(env.dp->services().upsert(frontend({}, false)).ok());
    auto out = env.netdev(tcp(kClient, kNode, 40000, kNodePort, kTcpSyn));
    if (reject) {
      CHECK(out.retval == TC_ACT_REDIRECT);
      CHECK(out.packet_out[23] == IPPROTO_ICMP);
      CHECK(get32(out.packet_out, 26) == ip(kNode).addr);  // from the frontend
      CHECK(get32(out.packet_out, 30) == ip(kClient).addr);
    } else {
      CHECK(out.retval == TC_ACT_SHOT);
    }
    auto evs = drain(*events);
    REQUIRE(!evs.empty());
    CHECK(evs.back().drop_reason == AXON_DROP_NO_SERVICE);
    CHECK(evs.back().src_identity == 2);  // world
  }
}

TEST_CASE("a Gateway's frontend (L7 LB): to the proxy's listener untouched, from outside and from pods; none: dropped") {
  DatapathConfig config;
  config.no_backend_reject = false;
  Env env(config);
  REQUIRE(env.dp->endpoints().record({1, ip("10.244.1.20"), 4100, 2}).ok());  // a client pod
  auto events = env.dp->open_events();
  REQUIRE(events.ok());
  // A listening socket of the test's namespace, as the proxy's gateway
  // listener (any address).
  axon::Fd fd(socket(AF_INET, SOCK_STREAM, 0));
  REQUIRE(fd.valid());
  sockaddr_in a{};
  a.sin_family = AF_INET;
  REQUIRE(bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  REQUIRE(listen(fd.get(), 4) == 0);
  socklen_t len = sizeof(a);
  REQUIRE(getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) == 0);
  const uint16_t proxy_port = ntohs(a.sin_port);

  Service gw = frontend({}, true);  // no backends: the proxy chooses them
  gw.l7_proxy_port = proxy_port;
  REQUIRE(env.dp->services().upsert(gw).ok());
  const auto syn = tcp(kClient, kNode, 40000, kNodePort, kTcpSyn);
  // A test run is no TC ingress: the kernel refuses the assignment of the
  // socket the lookup found. Nothing was rewritten, nothing chosen.
  auto out = env.netdev(syn);
  CHECK(out.retval == TC_ACT_SHOT);
  auto evs = drain(*events);
  REQUIRE(!evs.empty());
  CHECK(evs.back().drop_reason == AXON_DROP_SOCKET_ASSIGN_FAILED);
  CHECK(tuple(out.packet_out).daddr == ip(kNode).addr);
  CHECK(tuple(out.packet_out).dport == kNodePort);
  // From a pod (after its egress policy: none here): the same listener,
  // nothing translated; the connection's entry keeps the redirect for its
  // next packets.
  auto from_pod = run(env.dp->from_container(), tcp("10.244.1.20", kNode, 40001, kNodePort, kTcpSyn));
  CHECK(from_pod.retval == TC_ACT_SHOT);
  evs = drain(*events);
  REQUIRE(!evs.empty());
  CHECK(evs.back().drop_reason == AXON_DROP_SOCKET_ASSIGN_FAILED);
  CHECK(evs.back().proxy_port == proxy_port);
  CHECK(tuple(from_pod.packet_out).daddr == ip(kNode).addr);
  from_pod = run(env.dp->from_container(), tcp("10.244.1.20", kNode, 40001, kNodePort, kTcpAck));
  evs = drain(*events);
  REQUIRE(!evs.empty());
  CHECK(evs.back().drop_reason == AXON_DROP_SOCKET_ASSIGN_FAILED);
  // The proxy gone: dropped, never on to anything else.
  fd.reset();
  out = env.netdev(syn);
  CHECK(out.retval == TC_ACT_SHOT);
  evs = drain(*events);
  REQUIRE(!evs.empty());
  CHECK(evs.back().drop_reason == AXON_DROP_SOCKET_LOOKUP_FAILED);
  from_pod = run(env.dp->from_container(), tcp("10.244.1.20", kNode, 40002, kNodePort, kTcpSyn));
  CHECK(from_pod.retval == TC_ACT_SHOT);
  evs = drain(*events);
  REQUIRE(!evs.empty());
  CHECK(evs.back().drop_reason == AXON_DROP_SOCKET_LOOKUP_FAILED);
  // Back to an L4 Service: translated again.
  gw.l7_proxy_port = 0;
  gw.backends = {{ip(kLocal), 8080, true}};
  REQUIRE(env.dp->services().upsert(gw).ok());
  out = env.netdev(tcp(kClient, kNode, 40002, kNodePort, kTcpSyn));
  CHECK(out.retval == TC_ACT_OK);
  CHECK(tuple(out.packet_out).daddr == ip(kLocal).addr);
}

TEST_CASE("from-netdev: SNAT to a backend on another node, and the reply translated back") {
  auto ns = routed_netns();
  axon::test::InNetns in(ns);
  Env env;
  REQUIRE(env.dp->services().upsert(frontend({{ip(kRemote), 8080}}, true)).ok());
  auto out = env.netdev(tcp(kClient, kNode, 40000, kNodePort, kTcpSyn));
  CHECK(out.retval == TC_ACT_REDIRECT);  // out of the FIB's device at once
  auto t = tuple(out.packet_out);
  CHECK(t.saddr == ip(kNode).addr);  // the node's address ...
  CHECK(t.sport == 40000);           // ... with the client's port while it is free
  CHECK(t.daddr == ip(kRemote).addr);
  CHECK(t.dport == 8080);
  // The same connection keeps its mapping.
  CHECK(tuple(env.netdev(tcp(kClient, kNode, 40000, kNodePort, kTcpAck)).packet_out).sport == 40000);

  // Another client with the same port towards the same backend gets another.
  auto other = env.netdev(tcp("10.0.0.101", kNode, 40000, kNodePort, kTcpSyn));
  CHECK(other.retval == TC_ACT_REDIRECT);
  const uint16_t other_port = tuple(other.packet_out).sport;
  CHECK(other_port != 40000);
  CHECK(other_port >= 32768);

  // Replies: back to each client, from the NodePort. (The client's route
  // is the veth's subnet.)
  auto reply = env.netdev(tcp(kRemote, kNode, 8080, 40000, kTcpSyn | kTcpAck));
  CHECK(reply.retval == TC_ACT_REDIRECT);
  auto r = tuple(reply.packet_out);
  CHECK(r.saddr == ip(kNode).addr);
  CHECK(r.sport == kNodePort);
  CHECK(r.daddr == ip(kClient).addr);
  CHECK(r.dport == 40000);
  r = tuple(env.netdev(tcp(kRemote, kNode, 8080, other_port, kTcpAck)).packet_out);
  CHECK(r.daddr == ip("10.0.0.101").addr);
  CHECK(r.dport == 40000);

  SUBCASE("one client port to two NodePorts of one backend: two mappings, neither lost") {
    Service second = frontend({{ip(kRemote), 8080}}, true);
    second.key.port = kNodePort + 1;
    REQUIRE(env.dp->services().upsert(second).ok());
    auto out2 = env.netdev(tcp(kClient, kNode, 40000, kNodePort + 1, kTcpSyn));
    CHECK(out2.retval == TC_ACT_REDIRECT);
    const uint16_t port2 = tuple(out2.packet_out).sport;
    CHECK(port2 != 40000);  // 40000 towards that backend is the first connection's
    // The first connection keeps its mapping, and each reply finds its frontend.
    CHECK(tuple(env.netdev(tcp(kClient, kNode, 40000, kNodePort, kTcpAck)).packet_out).sport ==
          40000);
    auto r1 = tuple(env.netdev(tcp(kRemote, kNode, 8080, 40000, kTcpAck)).packet_out);
    CHECK(r1.sport == kNodePort);
    CHECK(r1.dport == 40000);
    auto r2 = tuple(env.netdev(tcp(kRemote, kNode, 8080, port2, kTcpAck)).packet_out);
    CHECK(r2.sport == kNodePort + 1);
    CHECK(r2.dport == 40000);
  }
  SUBCASE("no route to the backend: dropped, FIB lookup failed (169)") {
    auto events = env.dp->open_events();
    REQUIRE(events.ok());
    REQUIRE(env.dp->services().upsert(frontend({{ip("10.250.0.1"), 8080}}, true)).ok());
    CHECK(env.netdev(tcp(kClient, kNode, 40100, kNodePort, kTcpSyn)).retval == TC_ACT_SHOT);
    auto evs = drain(*events);
    REQUIRE(!evs.empty());
    CHECK(evs.back().drop_reason == AXON_DROP_NO_FIB);
  }
}

TEST_CASE("externalTrafficPolicy Local: outside traffic gets this node's backend, pods every one") {
  Env env;
  REQUIRE(env.dp->endpoints().record({1, ip("10.244.1.20"), 4100, 2}).ok());  // a client pod
  Service outside = frontend({{ip(kLocal), 8080, true}}, false);
  outside.two_scopes = true;
  Service inside{{ip(kNode), kNodePort, IPPROTO_TCP, AXON_LB_SCOPE_INT},
                 {{ip(kRemote), 8080}},
                 std::nullopt};
  REQUIRE(env.dp->services().upsert(outside).ok());
  REQUIRE(env.dp->services().upsert(inside).ok());
  auto from_lan = env.netdev(tcp(kClient, kNode, 40000, kNodePort, kTcpSyn));
  CHECK(tuple(from_lan.packet_out).daddr == ip(kLocal).addr);
  auto from_pod = run(env.dp->from_container(), tcp("10.244.1.20", kNode, 40000, kNodePort, kTcpSyn));
  CHECK(from_pod.retval == TC_ACT_OK);
  CHECK(tuple(from_pod.packet_out).daddr == ip(kRemote).addr);
  // Without the internal entry a pod is not served the external one's
  // backends by mistake: the packet is left alone.
  REQUIRE(env.dp->services().erase(inside.key).ok());
  auto alone = run(env.dp->from_container(), tcp("10.244.1.20", kNode, 40001, kNodePort, kTcpSyn));
  CHECK(tuple(alone.packet_out).daddr == ip(kNode).addr);
}

namespace {

// An Ethernet ARP frame (op 1 request, 2 reply).
std::vector<uint8_t> arp(uint16_t op, const std::array<uint8_t, 6>& sha, const char* spa,
                         const char* tpa) {
  std::vector<uint8_t> f = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  f.insert(f.end(), sha.begin(), sha.end());
  f.insert(f.end(), {0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0, static_cast<uint8_t>(op)});
  auto ip4 = [&](const char* text) {
    const uint32_t a = ip(text).addr;  // host order
    f.insert(f.end(), {static_cast<uint8_t>(a >> 24), static_cast<uint8_t>(a >> 16),
                       static_cast<uint8_t>(a >> 8), static_cast<uint8_t>(a)});
  };
  f.insert(f.end(), sha.begin(), sha.end());
  ip4(spa);
  f.insert(f.end(), 6, 0);
  ip4(tpa);
  f.resize(60, 0);  // Ethernet minimum
  return f;
}

}  // namespace

TEST_CASE("L2 responder: ARP who-has an announced address is answered with the device's MAC") {
  Env env;
  const std::array<uint8_t, 6> dev = {0x02, 0xaa, 0, 0, 0, 0x11}, client = {0x02, 0xcc, 0, 0, 0, 1};
  REQUIRE(env.dp->netdevs().record({1, ip(kNode), dev}).ok());
  REQUIRE(env.dp->l2().announce({ip("10.0.0.241"), 1}).ok());
  REQUIRE(env.dp->l2().announce({ip("10.0.0.243"), 2}).ok());  // another device
  // No lease yet (or a lapsed one): the node answers nothing.
  CHECK(env.netdev(arp(1, client, kClient, "10.0.0.241")).retval == TC_ACT_OK);
  REQUIRE(env.dp->l2().hold_until(std::chrono::steady_clock::now() - std::chrono::milliseconds(1)).ok());
  CHECK(env.netdev(arp(1, client, kClient, "10.0.0.241")).retval == TC_ACT_OK);
  REQUIRE(env.dp->l2().hold_until(std::chrono::steady_clock::now() + std::chrono::minutes(1)).ok());

  auto out = env.netdev(arp(1, client, kClient, "10.0.0.241"));
  CHECK(out.retval == TC_ACT_REDIRECT);  // back out of the device it came in on
  const auto& r = out.packet_out;
  CHECK(std::vector<uint8_t>(r.begin(), r.begin() + 6) == std::vector<uint8_t>(client.begin(), client.end()));
  CHECK(std::vector<uint8_t>(r.begin() + 6, r.begin() + 12) == std::vector<uint8_t>(dev.begin(), dev.end()));
  CHECK(get16(r, 20) == 2);  // reply
  CHECK(std::vector<uint8_t>(r.begin() + 22, r.begin() + 28) == std::vector<uint8_t>(dev.begin(), dev.end()));
  CHECK(get32(r, 28) == ip("10.0.0.241").addr);
  CHECK(std::vector<uint8_t>(r.begin() + 32, r.begin() + 38) == std::vector<uint8_t>(client.begin(), client.end()));
  CHECK(get32(r, 38) == ip(kClient).addr);
  auto listed = env.dp->l2().list();
  REQUIRE(listed.size() == 2);
  for (const auto& [a, n] : listed) CHECK(n == (a.ip == ip("10.0.0.241") ? 1u : 0u));

  // Everything else passes untouched: other addresses, the other device's,
  // gratuitous ARP, replies.
  for (const auto& f : {arp(1, client, kClient, "10.0.0.242"), arp(1, client, kClient, "10.0.0.243"),
                        arp(1, client, "10.0.0.241", "10.0.0.241"),
                        arp(2, client, kClient, "10.0.0.241")}) {
    auto pass = env.netdev(f);
    CHECK(pass.retval == TC_ACT_OK);
    CHECK(pass.packet_out == f);
  }
  // The lease runs out (the agent stopped renewing): silent again.
  REQUIRE(env.dp->l2().hold_until(std::chrono::steady_clock::now()).ok());
  CHECK(env.netdev(arp(1, client, kClient, "10.0.0.241")).retval == TC_ACT_OK);
  REQUIRE(env.dp->l2().hold_until(std::chrono::steady_clock::now() + std::chrono::minutes(1)).ok());
  CHECK(env.netdev(arp(1, client, kClient, "10.0.0.241")).retval == TC_ACT_REDIRECT);
  REQUIRE(env.dp->l2().withdraw({ip("10.0.0.241"), 1}).ok());
  CHECK(env.netdev(arp(1, client, kClient, "10.0.0.241")).retval == TC_ACT_OK);

  // The announced address as a LoadBalancer frontend: translated like a NodePort.
  Service lb{{ip("10.0.0.241"), 80, IPPROTO_TCP}, {{ip(kLocal), 8080, true}}, std::nullopt};
  lb.external = true;
  lb.snat = true;
  REQUIRE(env.dp->services().upsert(lb).ok());
  auto to_lb = env.netdev(tcp(kClient, "10.0.0.241", 41000, 80, kTcpSyn));
  CHECK(to_lb.retval == TC_ACT_OK);
  CHECK(tuple(to_lb.packet_out).daddr == ip(kLocal).addr);
  CHECK(tuple(to_lb.packet_out).saddr == ip(kClient).addr);
}
