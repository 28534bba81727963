// External traffic to Services with real sockets: two node namespaces and a
// client on one LAN (a bridge in a namespace of its own), each node with its
// datapath on its pods' veths and from-netdev on its LAN device. NodePort
// from the client to a backend on the same or the other node,
// externalTrafficPolicy Cluster (SNAT) and Local (client address kept, no
// local backend refused), UDP, a pod of the other node as client, and
// sessionAffinity ClientIP over 100 connections.
#include "netns.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "fixture.h"
#include "two_nodes.h"

using namespace axon::datapath;
using namespace std::chrono_literals;
using axon::Fd;
using axon::test::connect_within;
using axon::test::NetNs;
using axon::test::Pod;
using axon::test::readable_within;
using axon::test::socket_in;

namespace {

constexpr auto kTimeout = 1000ms;
constexpr uint16_t kNodePort = 30080;
using Lan = axon::test::TwoNodeLan;
const char* const kNode1 = Lan::kNode1;
const char* const kNode2 = Lan::kNode2;
const char* const kClient = Lan::kClient;
constexpr uint32_t kWorld = Lan::kWorld;

Lan two_node_lan() {
  auto t = Lan::create();
  REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.error().str()));
  return std::move(*t);
}

// node-1 (pods b1, c1), node-2 (pod b2), the client, one bridge
// (tests/support/two_nodes.h), and each node's datapath.
struct TwoNodes {
  Lan net = two_node_lan();
  NetNs& client = net.client;
  axon::test::TestDatapath dp1, dp2;

  explicit TwoNodes(DatapathConfig config = {}) : dp1(config), dp2(config) {
    for (auto [dp, node] : {std::pair{&dp1, 1}, {&dp2, 2}}) {
      auto s = net.setup(**dp, node);
      REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().str()));
    }
  }

  Pod& pod(const std::string& name) { return net.pod(name); }
};

Fd listen_in(const NetNs& ns, int type, uint16_t port) {
  Fd fd = socket_in(ns, AF_INET, type);
  REQUIRE(fd.valid());
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  REQUIRE(axon::test::bind_to(fd.get(), "0.0.0.0", port).ok());
  if (type == SOCK_STREAM) REQUIRE(listen(fd.get(), 128) == 0);
  return fd;
}

std::string addr_text(const sockaddr_in& a) {
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a.sin_addr, text, sizeof(text));
  return text;
}

// A TCP exchange from `from` to ip:port. Returns the address the accepting
// server saw as its peer, and which of `listeners` accepted ("" on failure).
struct Accepted {
  std::string peer;
  std::string by;
};
Accepted tcp_exchange(const NetNs& from, const std::string& ip, uint16_t port,
                      const std::map<std::string, int>& listeners) {
  Fd c = socket_in(from, AF_INET, SOCK_STREAM);
  if (!connect_within(c.get(), ip, port, kTimeout)) return {};
  if (send(c.get(), "ping", 4, 0) != 4) return {};
  std::vector<pollfd> fds;
  std::vector<std::string> names;
  for (const auto& [name, fd] : listeners) {
    fds.push_back({fd, POLLIN, 0});
    names.push_back(name);
  }
  if (poll(fds.data(), fds.size(), static_cast<int>(kTimeout.count())) <= 0) return {};
  for (size_t i = 0; i < fds.size(); ++i) {
    if (!(fds[i].revents & POLLIN)) continue;
    sockaddr_in peer{};
    socklen_t len = sizeof(peer);
    Fd s(accept(fds[i].fd, reinterpret_cast<sockaddr*>(&peer), &len));
    char buf[8] = {};
    if (!readable_within(s.get(), kTimeout) || recv(s.get(), buf, sizeof(buf), 0) != 4) return {};
    if (send(s.get(), "pong", 4, 0) != 4) return {};
    if (!readable_within(c.get(), kTimeout) || recv(c.get(), buf, sizeof(buf), 0) != 4) return {};
    if (std::memcmp(buf, "pong", 4) != 0) return {};
    return {addr_text(peer), names[i]};
  }
  return {};
}

// A UDP round trip; the server's view of the client and the source the
// client saw the reply come from ("" on failure).
std::pair<std::string, std::string> udp_exchange(const NetNs& from, const std::string& ip,
                                                 uint16_t port, int server) {
  Fd c = socket_in(from, AF_INET, SOCK_DGRAM);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &to.sin_addr);
  if (sendto(c.get(), "q", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 1) return {};
  if (!readable_within(server, kTimeout)) return {};
  sockaddr_in peer{};
  socklen_t len = sizeof(peer);
  char buf[16];
  if (recvfrom(server, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&peer), &len) != 1)
    return {};
  if (sendto(server, "a", 1, 0, reinterpret_cast<sockaddr*>(&peer), len) != 1) return {};
  if (!readable_within(c.get(), kTimeout)) return {};
  sockaddr_in src{};
  len = sizeof(src);
  if (recvfrom(c.get(), buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&src), &len) != 1)
    return {};
  return {addr_text(peer), addr_text(src) + ":" + std::to_string(ntohs(src.sin_port))};
}

Service node_port(const char* node, uint8_t proto, std::vector<Backend> backends, bool snat,
                  uint32_t affinity_s = 0) {
  Service s{{axon::test::ip(node), kNodePort, proto}, std::move(backends), std::nullopt};
  s.external = true;
  s.snat = snat;
  s.affinity_timeout_s = affinity_s;
  return s;
}

// A backend as node-1's agent gives it: pods of node-1 are local.
Backend backend(const std::string& ip, uint16_t port = 8080) {
  return {axon::test::ip(ip), port, ip.rfind("10.244.1.", 0) == 0};
}
// The same as node-2's agent gives it.
Backend backend2(const std::string& ip, uint16_t port = 8080) {
  return {axon::test::ip(ip), port, ip.rfind("10.244.2.", 0) == 0};
}

}  // namespace

TEST_CASE("netns: NodePort from the LAN, externalTrafficPolicy Cluster and Local") {
  TwoNodes lab;
  Pod &b1 = lab.pod("b1"), &b2 = lab.pod("b2"), &c1 = lab.pod("c1");
  Fd l1 = listen_in(b1.ns, SOCK_STREAM, 8080), l2 = listen_in(b2.ns, SOCK_STREAM, 8080);
  const std::map<std::string, int> both = {{"b1", l1.get()}, {"b2", l2.get()}};

  SUBCASE("Cluster, backend on the other node: SNAT to the node, reply from the NodePort") {
    REQUIRE(lab.dp1->services().upsert(node_port(kNode1, IPPROTO_TCP, {backend(b2.ip)}, true)).ok());
    for (int i = 0; i < 3; ++i) {
      auto a = tcp_exchange(lab.client, kNode1, kNodePort, both);
      CHECK(a.by == "b2");
      CHECK(a.peer == kNode1);  // the backend sees the node that translated
    }
  }
  SUBCASE("Cluster, backend on the receiving node: the client's address is kept") {
    auto events = lab.dp1->open_events();
    REQUIRE(events.ok());
    REQUIRE(lab.dp1->services().upsert(node_port(kNode1, IPPROTO_TCP, {backend(b1.ip)}, true)).ok());
    auto a = tcp_exchange(lab.client, kNode1, kNodePort, both);
    CHECK(a.by == "b1");
    CHECK(a.peer == kClient);
    // The backend's flow names the frontend the client asked for (its
    // Service, to observe) and the pod it reached.
    std::this_thread::sleep_for(20ms);
    bool named = false;
    for (const auto& e : axon::test::drain(*events)) {
      named |= e.type != EventType::drop && e.orig.saddr.str() == kClient && e.orig.daddr.str() == kNode1 &&
               e.orig.dport == kNodePort && e.xlated.daddr.str() == b1.ip && e.src_identity == kWorld;
    }
    CHECK(named);
  }
  SUBCASE("Local: the node's own backend, client address kept") {
    REQUIRE(lab.dp2->services().upsert(node_port(kNode2, IPPROTO_TCP, {backend2(b2.ip)}, false)).ok());
    auto a = tcp_exchange(lab.client, kNode2, kNodePort, both);
    CHECK(a.by == "b2");
    CHECK(a.peer == kClient);
  }
  SUBCASE("Local on a node without a backend: refused at once, dropped with reason 158") {
    auto events = lab.dp1->open_events();
    REQUIRE(events.ok());
    REQUIRE(lab.dp1->services().upsert(node_port(kNode1, IPPROTO_TCP, {}, false)).ok());
    CHECK(axon::test::connect_error(lab.client, kNode1, kNodePort, kTimeout) == ECONNREFUSED);
    std::this_thread::sleep_for(20ms);
    bool dropped = false;
    for (const auto& e : axon::test::drain(*events)) {
      dropped |= e.type == EventType::drop && e.drop_reason == AXON_DROP_NO_SERVICE &&
                 e.orig.saddr.str() == kClient && e.orig.daddr.str() == kNode1 &&
                 e.src_identity == kWorld;
    }
    CHECK(dropped);
  }
  SUBCASE("a pod of another node as client, to both kinds of backend") {
    REQUIRE(lab.dp2->services().upsert(node_port(kNode2, IPPROTO_TCP, {backend2(b2.ip)}, true)).ok());
    auto a = tcp_exchange(c1.ns, kNode2, kNodePort, both);
    CHECK(a.by == "b2");
    CHECK(a.peer == c1.ip);
    REQUIRE(lab.dp2->services().upsert(node_port(kNode2, IPPROTO_TCP, {backend2(b1.ip)}, true)).ok());
    a = tcp_exchange(c1.ns, kNode2, kNodePort, both);
    CHECK(a.by == "b1");
    CHECK(a.peer == kNode2);
  }
  SUBCASE("a port that is no frontend is the node's own business") {
    REQUIRE(lab.dp1->services().upsert(node_port(kNode1, IPPROTO_TCP, {backend(b2.ip)}, true)).ok());
    CHECK(axon::test::connect_error(lab.client, kNode1, kNodePort + 1, kTimeout) == ECONNREFUSED);  // the node's RST
  }
}

TEST_CASE("netns: NodePort over UDP, both kinds of backend") {
  TwoNodes lab;
  Pod &b1 = lab.pod("b1"), &b2 = lab.pod("b2");
  Fd u1 = listen_in(b1.ns, SOCK_DGRAM, 5353), u2 = listen_in(b2.ns, SOCK_DGRAM, 5353);
  REQUIRE(lab.dp1->services().upsert(node_port(kNode1, IPPROTO_UDP, {backend(b2.ip, 5353)}, true)).ok());
  auto [peer, from] = udp_exchange(lab.client, kNode1, kNodePort, u2.get());
  CHECK(peer == kNode1);
  CHECK(from == std::string(kNode1) + ":" + std::to_string(kNodePort));
  REQUIRE(lab.dp1->services().upsert(node_port(kNode1, IPPROTO_UDP, {backend(b1.ip, 5353)}, true)).ok());
  std::tie(peer, from) = udp_exchange(lab.client, kNode1, kNodePort, u1.get());
  CHECK(peer == kClient);
  CHECK(from == std::string(kNode1) + ":" + std::to_string(kNodePort));
}

TEST_CASE("netns: sessionAffinity ClientIP keeps a client on one backend over 100 connections") {
  for (const char* algorithm : {"maglev", "random"}) {
    CAPTURE(algorithm);
    DatapathConfig config;
    config.default_algorithm =
        std::string(algorithm) == "maglev" ? LbAlgorithm::maglev : LbAlgorithm::random;
    TwoNodes lab(config);
    Pod &b1 = lab.pod("b1"), &b2 = lab.pod("b2"), &c1 = lab.pod("c1");
    Fd l1 = listen_in(b1.ns, SOCK_STREAM, 8080), l2 = listen_in(b2.ns, SOCK_STREAM, 8080);
    const std::map<std::string, int> both = {{"b1", l1.get()}, {"b2", l2.get()}};
    const std::vector<Backend> backends = {backend(b1.ip), backend(b2.ip)};

    // Without affinity, 100 connections reach both backends.
    REQUIRE(lab.dp1->services().upsert(node_port(kNode1, IPPROTO_TCP, backends, true)).ok());
    std::map<std::string, int> seen;
    for (int i = 0; i < 100; ++i) ++seen[tcp_exchange(lab.client, kNode1, kNodePort, both).by];
    CHECK(seen.size() == 2);
    CHECK(seen.count("") == 0);

    // With it, all 100 reach one backend: from the LAN and from a pod (ClusterIP).
    REQUIRE(lab.dp1->services().upsert(node_port(kNode1, IPPROTO_TCP, backends, true, 10800)).ok());
    Service cluster_ip{{axon::test::ip("10.96.0.80"), 80, IPPROTO_TCP}, backends, std::nullopt};
    cluster_ip.affinity_timeout_s = 10800;
    REQUIRE(lab.dp1->services().upsert(cluster_ip).ok());
    for (auto [from, ip, port] : {std::tuple{&lab.client, std::string(kNode1), kNodePort},
                                  {&c1.ns, std::string("10.96.0.80"), uint16_t{80}}}) {
      seen.clear();
      for (int i = 0; i < 100; ++i) ++seen[tcp_exchange(*from, ip, port, both).by];
      CHECK(seen.size() == 1);
      CHECK(seen.count("") == 0);
    }

    // A backend that leaves the service is not followed; the client moves on
    // and stays on the one that is left.
    const std::string kept = seen.begin()->first == "b1" ? "b2" : "b1";
    Service one = cluster_ip;
    one.backends = {backend(lab.pod(kept).ip)};
    REQUIRE(lab.dp1->services().upsert(one).ok());
    seen.clear();
    for (int i = 0; i < 10; ++i) ++seen[tcp_exchange(c1.ns, "10.96.0.80", 80, both).by];
    CHECK(seen == std::map<std::string, int>{{kept, 10}});
  }
}
