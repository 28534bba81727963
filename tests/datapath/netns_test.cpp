// Real packets between pod namespaces: three pods behind veths in one node
// namespace, the datapath attached to their host-side veths, TCP, UDP and
// ICMP from sockets inside the pods. Policy is enforced both ways, replies
// pass, a Service VIP reaches its backend and the reply comes back from the
// VIP, and every verdict shows up as an event.
#include "netns.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "fixture.h"

using namespace axon::datapath;
using namespace std::chrono_literals;
using axon::Fd;
using axon::test::connect_within;
using axon::test::Pod;
using axon::test::readable_within;
using axon::test::socket_in;

namespace {

constexpr uint32_t kIdA = 1000, kIdB = 2000, kIdC = 3000;
constexpr auto kTimeout = 400ms;  // a dropped SYN or datagram just times out

struct Lab {
  axon::test::Topology topo;
  axon::test::TestDatapath dp;
  EventReader events;

  static axon::test::Topology make_topology() {
    auto t = axon::test::Topology::create(
        {{"a", "10.244.1.10"}, {"b", "10.244.1.20"}, {"c", "10.244.1.30"}});
    REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.error().str()));
    return std::move(*t);
  }
  EventReader open_reader() {
    auto r = dp->open_events();
    REQUIRE(r.ok());
    return std::move(*r);
  }
  explicit Lab(DatapathConfig config = {})
      : topo(make_topology()), dp(config), events(open_reader()) {
    uint32_t ep_id = 1;
    for (auto [name, id] : {std::pair{"a", kIdA}, {"b", kIdB}, {"c", kIdC}}) {
      Pod& p = topo.pod(name);
      auto pod_ip = axon::test::ip(p.ip);
      REQUIRE(dp->ipcache().upsert({pod_ip, 32}, id).ok());
      axon::test::InNetns in(topo.node());
      auto s = dp->endpoints().attach({p.host_ifindex, pod_ip, id, ep_id++, p.mac});
      REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().str()));
    }
  }
  uint32_t ep(const std::string& name) { return name == "a" ? 1 : name == "b" ? 2 : 3; }
  std::vector<Event> drain() {
    std::this_thread::sleep_for(20ms);  // let the last packets' events land
    return axon::test::drain(events);
  }
};

// A TCP listener inside a pod.
Fd listen_in(Pod& pod, uint16_t port) {
  Fd fd = socket_in(pod.ns, AF_INET, SOCK_STREAM);
  REQUIRE(fd.valid());
  REQUIRE(axon::test::bind_to(fd.get(), "0.0.0.0", port).ok());
  REQUIRE(listen(fd.get(), 16) == 0);
  return fd;
}

// Connect from `client` to ip:port, send "ping", have the server answer
// "pong". True when the whole exchange worked.
bool tcp_exchange(Pod& client, const std::string& ip, uint16_t port, int listener) {
  Fd c = socket_in(client.ns, AF_INET, SOCK_STREAM);
  if (!connect_within(c.get(), ip, port, kTimeout)) return false;
  if (send(c.get(), "ping", 4, 0) != 4) return false;
  if (!readable_within(listener, kTimeout)) return false;
  Fd s(accept(listener, nullptr, nullptr));
  char buf[8] = {};
  if (!readable_within(s.get(), kTimeout) || recv(s.get(), buf, sizeof(buf), 0) != 4) return false;
  if (send(s.get(), "pong", 4, 0) != 4) return false;
  if (!readable_within(c.get(), kTimeout) || recv(c.get(), buf, sizeof(buf), 0) != 4) return false;
  return std::memcmp(buf, "pong", 4) == 0;
}

// A UDP round trip; returns the source address of the reply ("" if none).
std::string udp_exchange(Pod& client, const std::string& ip, uint16_t port, int server) {
  Fd c = socket_in(client.ns, AF_INET, SOCK_DGRAM);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &to.sin_addr);
  if (sendto(c.get(), "q", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 1) return "";
  if (!readable_within(server, kTimeout)) return "";
  sockaddr_in from{};
  socklen_t len = sizeof(from);
  char buf[16];
  if (recvfrom(server, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len) != 1)
    return "";
  if (sendto(server, "a", 1, 0, reinterpret_cast<sockaddr*>(&from), len) != 1) return "";
  if (!readable_within(c.get(), kTimeout)) return "";
  sockaddr_in src{};
  len = sizeof(src);
  if (recvfrom(c.get(), buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&src), &len) != 1)
    return "";
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &src.sin_addr, text, sizeof(text));
  return std::string(text) + ":" + std::to_string(ntohs(src.sin_port));
}

uint16_t icmp_checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// One ping; the TTL the echo reply arrived with, or -1 if none did.
int ping_ttl(Pod& from, const std::string& ip, uint16_t id) {
  Fd s = socket_in(from.ns, AF_INET, SOCK_RAW, IPPROTO_ICMP);
  uint8_t pkt[16] = {8, 0, 0, 0, static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0, 1};
  uint16_t c = icmp_checksum(pkt, sizeof(pkt));
  pkt[2] = static_cast<uint8_t>(c >> 8);
  pkt[3] = static_cast<uint8_t>(c);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  inet_pton(AF_INET, ip.c_str(), &to.sin_addr);
  if (sendto(s.get(), pkt, sizeof(pkt), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) < 0) {
    return -1;
  }
  auto deadline = std::chrono::steady_clock::now() + kTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!readable_within(s.get(), kTimeout)) return -1;
    uint8_t buf[128];
    ssize_t n = recv(s.get(), buf, sizeof(buf), 0);  // with the IPv4 header
    if (n >= 28 && buf[20] == 0 && (buf[24] << 8 | buf[25]) == id) return buf[8];
  }
  return -1;
}
bool ping(Pod& from, const std::string& ip, uint16_t id) {
  return ping_ttl(from, ip, id) >= 0;
}

// Datagrams the node's IP stack forwarded (Ip: ForwDatagrams of its
// /proc/net/snmp).
uint64_t forwarded_by_node(const axon::test::NetNs& node) {
  axon::test::InNetns in(node);
  std::ifstream f("/proc/thread-self/net/snmp");
  std::string header, values;
  while (std::getline(f, header) && std::getline(f, values)) {
    if (header.rfind("Ip:", 0) != 0) continue;
    std::istringstream h(header), v(values);
    std::string name, value;
    while (h >> name && v >> value) {
      if (name == "ForwDatagrams") return std::stoull(value);
    }
  }
  FAIL("no Ip: ForwDatagrams in the node's /proc/net/snmp");
  return 0;
}

DatapathConfig with_host_routing(bool on) {
  DatapathConfig config;
  config.host_routing = on;
  return config;
}

PolicyEntry allow(Direction d, uint32_t id, uint8_t proto, uint16_t port) {
  return PolicyEntry{d, id, proto, port, port, PolicyAction::allow, 0};
}

bool has_event(const std::vector<Event>& evs, EventType type, uint32_t ifindex, uint8_t sub,
               const std::string& src, const std::string& dst) {
  for (const auto& e : evs) {
    uint8_t esub = type == EventType::drop ? e.drop_reason : e.trace_point;
    if (e.type == type && e.ifindex == ifindex && esub == sub && e.orig.saddr.str() == src &&
        e.orig.daddr.str() == dst) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("netns: policy both ways, replies, Service VIP, events") {
  Lab lab;
  Pod &a = lab.topo.pod("a"), &b = lab.topo.pod("b"), &c = lab.topo.pod("c");
  Fd b8080 = listen_in(b, 8080), b9090 = listen_in(b, 9090), c8080 = listen_in(c, 8080);
  Fd b5353 = socket_in(b.ns, AF_INET, SOCK_DGRAM);
  REQUIRE(axon::test::bind_to(b5353.get(), "0.0.0.0", 5353).ok());

  SUBCASE("without policy everything flows") {
    CHECK(tcp_exchange(a, b.ip, 8080, b8080.get()));
    CHECK(tcp_exchange(c, b.ip, 9090, b9090.get()));
    CHECK(udp_exchange(a, b.ip, 5353, b5353.get()) == b.ip + ":5353");
    CHECK(ping(a, b.ip, 7));
    auto evs = lab.drain();
    CHECK(has_event(evs, EventType::trace, a.host_ifindex, AXON_TRACE_FROM_ENDPOINT, a.ip, b.ip));
    CHECK(has_event(evs, EventType::trace, b.host_ifindex, AXON_TRACE_TO_ENDPOINT, a.ip, b.ip));
    CHECK(has_event(evs, EventType::trace, b.host_ifindex, AXON_TRACE_FROM_ENDPOINT, b.ip, a.ip));
    CHECK(has_event(evs, EventType::trace, a.host_ifindex, AXON_TRACE_TO_ENDPOINT, b.ip, a.ip));
  }

  SUBCASE("policy is enforced at both ends; replies pass") {
    // b: ingress from a on TCP 8080, UDP 5353 and ping; egress default deny
    // (its replies must still pass).
    REQUIRE(lab.dp->policy()
                .replace(lab.ep("b"), {true,
                                       true,
                                       {allow(Direction::ingress, kIdA, IPPROTO_TCP, 8080),
                                        allow(Direction::ingress, kIdA, IPPROTO_UDP, 5353),
                                        allow(Direction::ingress, kIdA, IPPROTO_ICMP, 8)}})
                .ok());
    // a: egress to b only, and a deny on TCP 7070 to b.
    REQUIRE(lab.dp->policy()
                .replace(lab.ep("a"),
                         {false,
                          true,
                          {PolicyEntry{Direction::egress, kIdB, 0, 0, 0, PolicyAction::allow, 0},
                           PolicyEntry{Direction::egress, kIdB, IPPROTO_TCP, 7070, 7070,
                                       PolicyAction::deny, 0}}})
                .ok());
    (void)lab.drain();

    CHECK(tcp_exchange(a, b.ip, 8080, b8080.get()));
    CHECK(udp_exchange(a, b.ip, 5353, b5353.get()) == b.ip + ":5353");
    CHECK(ping(a, b.ip, 8));
    auto ok = lab.drain();
    CHECK(has_event(ok, EventType::trace, b.host_ifindex, AXON_TRACE_TO_ENDPOINT, a.ip, b.ip));
    // b's replies left through its enforced egress.
    bool reply_seen = false;
    for (const auto& e : ok) {
      if (e.ifindex == b.host_ifindex && e.direction == AXON_DIR_EGRESS && e.is_reply) {
        reply_seen = true;
      }
    }
    CHECK(reply_seen);

    // Ingress of b denies another port and another peer.
    CHECK_FALSE(tcp_exchange(a, b.ip, 9090, b9090.get()));
    CHECK_FALSE(tcp_exchange(c, b.ip, 8080, b8080.get()));
    CHECK_FALSE(ping(c, b.ip, 9));
    auto denied = lab.drain();
    CHECK(has_event(denied, EventType::drop, b.host_ifindex, AXON_DROP_POLICY_DENIED, a.ip, b.ip));
    CHECK(has_event(denied, EventType::drop, b.host_ifindex, AXON_DROP_POLICY_DENIED, c.ip, b.ip));

    // Egress of a: c is not allowed; b's 7070 is denied by a deny rule.
    CHECK_FALSE(tcp_exchange(a, c.ip, 8080, c8080.get()));
    Fd b7070 = listen_in(b, 7070);
    CHECK_FALSE(tcp_exchange(a, b.ip, 7070, b7070.get()));
    auto eg = lab.drain();
    CHECK(has_event(eg, EventType::drop, a.host_ifindex, AXON_DROP_POLICY_DENIED, a.ip, c.ip));
    CHECK(has_event(eg, EventType::drop, a.host_ifindex, AXON_DROP_POLICY_DENY, a.ip, b.ip));
    // b itself may not open connections (egress default deny).
    Fd a8080 = listen_in(a, 8080);
    CHECK_FALSE(tcp_exchange(b, a.ip, 8080, a8080.get()));
  }

  SUBCASE("an ICMP error about a tracked flow reaches its sender through default deny") {
    // a: egress to b allowed, ingress default deny. A datagram to a closed
    // port of b comes back as "port unreachable": a related packet.
    REQUIRE(lab.dp->policy()
                .replace(lab.ep("a"),
                         {true,
                          true,
                          {PolicyEntry{Direction::egress, kIdB, 0, 0, 0, PolicyAction::allow, 0}}})
                .ok());
    (void)lab.drain();
    Fd u = socket_in(a.ns, AF_INET, SOCK_DGRAM);
    REQUIRE(connect_within(u.get(), b.ip, 9999, kTimeout));  // UDP: sets the peer
    REQUIRE(send(u.get(), "x", 1, 0) == 1);
    CHECK(readable_within(u.get(), kTimeout));
    char buf[4];
    CHECK(recv(u.get(), buf, sizeof(buf), MSG_DONTWAIT) < 0);
    CHECK(errno == ECONNREFUSED);
    bool related = false;
    for (const auto& e : lab.drain()) {
      if (e.ifindex == a.host_ifindex && e.trace_reason == AXON_TRACE_REASON_RELATED)
        related = true;
    }
    CHECK(related);
  }

  SUBCASE("a Service VIP reaches its backend and the reply comes from the VIP") {
    const std::string vip = "10.96.0.10";
    REQUIRE(lab.dp->services()
                .upsert({{axon::test::ip(vip), 80, IPPROTO_TCP},
                         {{axon::test::ip(b.ip), 8080}},
                         std::nullopt})
                .ok());
    REQUIRE(lab.dp->services()
                .upsert({{axon::test::ip(vip), 53, IPPROTO_UDP},
                         {{axon::test::ip(b.ip), 5353}},
                         std::nullopt})
                .ok());
    // The policy of b sees a as the peer, on the backend port.
    REQUIRE(lab.dp->policy()
                .replace(lab.ep("b"), {true,
                                       true,
                                       {allow(Direction::ingress, kIdA, IPPROTO_TCP, 8080),
                                        allow(Direction::ingress, kIdA, IPPROTO_UDP, 5353)}})
                .ok());
    (void)lab.drain();
    // TCP: the handshake only completes if the SYN-ACK comes from VIP:80.
    CHECK(tcp_exchange(a, vip, 80, b8080.get()));
    CHECK(udp_exchange(a, vip, 53, b5353.get()) == vip + ":53");
    auto evs = lab.drain();
    bool dnat = false, revnat = false;
    for (const auto& e : evs) {
      if (e.ifindex == a.host_ifindex && e.nat && e.orig.daddr.str() == vip &&
          e.xlated.daddr.str() == b.ip) {
        dnat = true;
      }
      if (e.ifindex == a.host_ifindex && e.nat && e.is_reply && e.orig.saddr.str() == b.ip &&
          e.xlated.saddr.str() == vip) {
        revnat = true;
      }
    }
    CHECK(dnat);
    CHECK(revnat);
    // c is not allowed by b's policy, through the VIP neither.
    CHECK_FALSE(tcp_exchange(c, vip, 80, b8080.get()));
    // No backends: the VIP drops with "Service backend not found".
    REQUIRE(
        lab.dp->services().upsert({{axon::test::ip(vip), 80, IPPROTO_TCP}, {}, std::nullopt}).ok());
    (void)lab.drain();
    CHECK_FALSE(tcp_exchange(a, vip, 80, b8080.get()));
    CHECK(has_event(lab.drain(), EventType::drop, a.host_ifindex, AXON_DROP_NO_SERVICE, a.ip, vip));
  }
}

TEST_CASE("netns: a pod reaches itself through a Service (hairpin), whatever its policy") {
  for (bool host_routing : {true, false}) {
    CAPTURE(host_routing);
    Lab lab(with_host_routing(host_routing));
    Pod& a = lab.topo.pod("a");
    const std::string vip = "10.96.0.40";
    Fd a8080 = listen_in(a, 8080);
    Fd a5353 = socket_in(a.ns, AF_INET, SOCK_DGRAM);
    REQUIRE(axon::test::bind_to(a5353.get(), "0.0.0.0", 5353).ok());
    REQUIRE(lab.dp->services()
                .upsert({{axon::test::ip(vip), 80, IPPROTO_TCP},
                         {{axon::test::ip(a.ip), 8080}},
                         std::nullopt})
                .ok());
    REQUIRE(lab.dp->services()
                .upsert({{axon::test::ip(vip), 53, IPPROTO_UDP},
                         {{axon::test::ip(a.ip), 5353}},
                         std::nullopt})
                .ok());
    // Default deny both ways, nothing allowed: a pod cannot block itself.
    REQUIRE(lab.dp->policy().replace(lab.ep("a"), {true, true, {}}).ok());
    (void)lab.drain();
    const uint64_t before = forwarded_by_node(lab.topo.node());
    // TCP completes only if the SYN-ACK comes back from VIP:80.
    CHECK(tcp_exchange(a, vip, 80, a8080.get()));
    CHECK(udp_exchange(a, vip, 53, a5353.get()) == vip + ":53");
    CHECK(forwarded_by_node(lab.topo.node()) == before);  // never through the node
    auto evs = lab.drain();
    bool out = false, back = false;
    for (const auto& e : evs) {
      CHECK(e.type == EventType::trace);
      if (e.orig.daddr.str() == vip && e.xlated.saddr.str() == "169.254.42.1") out = true;
      if (e.is_reply && e.orig.daddr.str() == "169.254.42.1" && e.xlated.saddr.str() == vip &&
          e.xlated.daddr.str() == a.ip) {
        back = true;
      }
    }
    CHECK(out);
    CHECK(back);
    // The policy still holds for others: a to b is denied.
    Pod& b = lab.topo.pod("b");
    Fd b8080 = listen_in(b, 8080);
    CHECK_FALSE(tcp_exchange(a, b.ip, 8080, b8080.get()));
  }
}

// A UDP socket of `client` connected to ip:port, one datagram sent: an ICMP
// error about it shows as ECONNREFUSED on the socket.
Fd udp_send_connected(Pod& client, const std::string& ip, uint16_t port) {
  Fd c = socket_in(client.ns, AF_INET, SOCK_DGRAM);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &to.sin_addr);
  REQUIRE(connect(c.get(), reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0);
  REQUIRE(send(c.get(), "q", 1, 0) == 1);
  return c;
}

TEST_CASE("netns: an ICMP error from a Service's backend reaches the client about the VIP") {
  for (bool host_routing : {true, false}) {
    CAPTURE(host_routing);
    Lab lab(with_host_routing(host_routing));
    Pod &a = lab.topo.pod("a"), &b = lab.topo.pod("b");
    const std::string vip = "10.96.0.50";
    REQUIRE(lab.dp->services()
                .upsert({{axon::test::ip(vip), 53, IPPROTO_UDP},
                         {{axon::test::ip(b.ip), 5399}},  // nothing listens there
                         std::nullopt})
                .ok());
    (void)lab.drain();
    // A connected UDP socket learns of the backend's "port unreachable" only
    // if the error quotes the packet as sent: to VIP:53.
    Fd c = udp_send_connected(a, vip, 53);
    REQUIRE(readable_within(c.get(), kTimeout));
    char buf[4];
    errno = 0;
    CHECK(recv(c.get(), buf, sizeof(buf), MSG_DONTWAIT) == -1);
    CHECK(errno == ECONNREFUSED);
    bool related = false;
    for (const auto& e : lab.drain()) {
      if (e.ifindex == a.host_ifindex && e.trace_reason == AXON_TRACE_REASON_RELATED &&
          e.orig.saddr.str() == b.ip && e.xlated.saddr.str() == vip && e.src_identity == kIdB) {
        related = true;
      }
    }
    CHECK(related);
  }
}

TEST_CASE("netns: a Service without backends is refused at once (reject), or times out (drop)") {
  for (bool host_routing : {true, false}) {
    CAPTURE(host_routing);
    for (bool reject : {true, false}) {
      CAPTURE(reject);
      DatapathConfig config = with_host_routing(host_routing);
      config.no_backend_reject = reject;
      Lab lab(config);
      Pod& a = lab.topo.pod("a");
      const std::string vip = "10.96.0.60";
      REQUIRE(lab.dp->services().upsert({{axon::test::ip(vip), 80, IPPROTO_TCP}, {}, std::nullopt}).ok());
      REQUIRE(lab.dp->services().upsert({{axon::test::ip(vip), 53, IPPROTO_UDP}, {}, std::nullopt}).ok());
      // a in default deny both ways: the answer still reaches it (no policy
      // stands between a client and its Service's answer).
      REQUIRE(lab.dp->policy().replace(lab.ep("a"), {true, true, {}}).ok());
      (void)lab.drain();
      const int err = axon::test::connect_error(a.ns, vip, 80, 1500ms);
      if (reject) {
        CHECK(err == ECONNREFUSED);  // as a TCP client sees ICMP port unreachable
      } else {
        CHECK(err == ETIMEDOUT);
      }
      CHECK(has_event(lab.drain(), EventType::drop, a.host_ifindex, AXON_DROP_NO_SERVICE, a.ip, vip));
      // UDP: a connected socket learns ECONNREFUSED (reject) or nothing (drop).
      Fd u = udp_send_connected(a, vip, 53);
      if (reject) {
        REQUIRE(readable_within(u.get(), kTimeout));
        char buf[4];
        errno = 0;
        CHECK(recv(u.get(), buf, sizeof(buf), MSG_DONTWAIT) == -1);
        CHECK(errno == ECONNREFUSED);
      } else {
        CHECK_FALSE(readable_within(u.get(), kTimeout));
      }
    }
  }
}

TEST_CASE("netns: host routing takes pod-to-pod packets past the node's IP stack") {
  for (bool host_routing : {true, false}) {
    CAPTURE(host_routing);
    Lab lab(with_host_routing(host_routing));
    Pod &a = lab.topo.pod("a"), &b = lab.topo.pod("b");
    Fd listener = listen_in(b, 8080);
    REQUIRE(lab.dp->services()
                .upsert({{axon::test::ip("10.96.0.30"), 80, IPPROTO_TCP},
                         {{axon::test::ip(b.ip), 8080}},
                         std::nullopt})
                .ok());
    const uint64_t before = forwarded_by_node(lab.topo.node());
    CHECK(tcp_exchange(a, b.ip, 8080, listener.get()));
    CHECK(tcp_exchange(a, "10.96.0.30", 80, listener.get()));
    CHECK(ping_ttl(a, b.ip, 11) == 63);  // one routed hop either way
    const uint64_t forwarded = forwarded_by_node(lab.topo.node()) - before;
    auto st = lab.dp->stats();
    REQUIRE(st.ok());
    if (host_routing) {
      CHECK(forwarded == 0);
      CHECK(st->host_routed >= 10);
    } else {
      CHECK(forwarded >= 10);
      CHECK(st->host_routed == 0);
    }
    // The node's own address is reached through its stack either way, and
    // a pod without a known MAC is reached through the stack too.
    CHECK(ping(a, "10.244.1.1", 12));
    auto eps = lab.dp->endpoints().list();
    REQUIRE(eps.ok());
    for (auto ep : *eps) {
      if (ep.ifindex != b.host_ifindex) continue;
      CHECK(ep.mac == b.mac);
      ep.mac = {};
      axon::test::InNetns in(lab.topo.node());
      REQUIRE(lab.dp->endpoints().attach(ep).ok());
    }
    const uint64_t before_unknown = forwarded_by_node(lab.topo.node());
    CHECK(tcp_exchange(a, b.ip, 8080, listener.get()));
    CHECK(forwarded_by_node(lab.topo.node()) - before_unknown >= 3);
  }
}

TEST_CASE(
    "netns: a connection between pods of a node has one conntrack entry; each end "
    "reports and enforces its own policy") {
  for (bool host_routing : {true, false}) {
    CAPTURE(host_routing);
    Lab lab(with_host_routing(host_routing));
    Pod &a = lab.topo.pod("a"), &b = lab.topo.pod("b");
    const EndpointPolicy b_allows_a{
        true, false, {allow(Direction::ingress, kIdA, IPPROTO_TCP, 8080)}};
    const EndpointPolicy a_allows_b{
        false, true, {allow(Direction::egress, kIdB, IPPROTO_TCP, 8080)}};
    REQUIRE(lab.dp->policy().replace(lab.ep("b"), b_allows_a).ok());
    REQUIRE(lab.dp->policy().replace(lab.ep("a"), a_allows_b).ok());
    Fd listener = listen_in(b, 8080);
    Fd conn = socket_in(a.ns, AF_INET, SOCK_STREAM);
    REQUIRE(connect_within(conn.get(), b.ip, 8080, kTimeout));
    REQUIRE(readable_within(listener.get(), kTimeout));
    Fd served(accept(listener.get(), nullptr, nullptr));
    char buf[8];
    REQUIRE(send(served.get(), "hi", 2, 0) == 2);
    REQUIRE(readable_within(conn.get(), kTimeout));
    REQUIRE(recv(conn.get(), buf, sizeof(buf), 0) == 2);

    // Both ends saw the opening and the replies and said so.
    auto evs = lab.drain();
    CHECK(has_event(evs, EventType::trace, a.host_ifindex, AXON_TRACE_FROM_ENDPOINT, a.ip, b.ip));
    CHECK(has_event(evs, EventType::trace, b.host_ifindex, AXON_TRACE_TO_ENDPOINT, a.ip, b.ip));
    CHECK(has_event(evs, EventType::trace, b.host_ifindex, AXON_TRACE_FROM_ENDPOINT, b.ip, a.ip));
    CHECK(has_event(evs, EventType::trace, a.host_ifindex, AXON_TRACE_TO_ENDPOINT, b.ip, a.ip));
    int replies_reported = 0;
    for (const auto& e : evs)
      replies_reported += e.is_reply && (e.tcp_flags & axon::test::kTcpSyn) ? 1 : 0;
    CHECK(replies_reported == 2);  // the SYN-ACK, once at each end

    // One entry, admitted by both ends.
    auto ct = lab.dp->conntrack().dump();
    REQUIRE(ct.ok());
    int entries = 0;
    for (const auto& e : *ct) {
      if (e.key.scope != AXON_CT_CONN || e.key.proto != IPPROTO_TCP) continue;
      ++entries;
      CHECK(e.key.saddr == axon::test::ip(a.ip).network_order());
      CHECK(e.key.daddr == axon::test::ip(b.ip).network_order());
      CHECK(ntohs(e.key.dport) == 8080);
      CHECK((e.value.flags & AXON_CT_F_EGRESS) != 0);
      CHECK((e.value.flags & AXON_CT_F_INGRESS) != 0);
      CHECK(((e.value.flags & AXON_CT_F_LOCAL_PEER) != 0) == host_routing);
    }
    CHECK(entries == 1);

    // Each end checks the connection against its own policy when policy
    // changes: b's ingress first, then a's egress.
    REQUIRE(lab.dp->policy().replace(lab.ep("b"), {true, false, {}}).ok());
    (void)lab.drain();
    REQUIRE(send(conn.get(), "x", 1, 0) == 1);
    CHECK_FALSE(readable_within(served.get(), 200ms));
    auto cut = lab.drain();
    CHECK(has_event(cut, EventType::drop, b.host_ifindex, AXON_DROP_POLICY_DENIED, a.ip, b.ip));
    CHECK_FALSE(
        has_event(cut, EventType::drop, a.host_ifindex, AXON_DROP_POLICY_DENIED, a.ip, b.ip));
    REQUIRE(lab.dp->policy().replace(lab.ep("b"), b_allows_a).ok());
    REQUIRE(readable_within(served.get(), 2s));  // the retransmission passes
    REQUIRE(recv(served.get(), buf, sizeof(buf), 0) == 1);
    REQUIRE(lab.dp->policy().replace(lab.ep("a"), {false, true, {}}).ok());
    (void)lab.drain();
    REQUIRE(send(conn.get(), "y", 1, 0) == 1);
    CHECK_FALSE(readable_within(served.get(), 200ms));
    cut = lab.drain();
    CHECK(has_event(cut, EventType::drop, a.host_ifindex, AXON_DROP_POLICY_DENIED, a.ip, b.ip));
    CHECK_FALSE(
        has_event(cut, EventType::drop, b.host_ifindex, AXON_DROP_POLICY_DENIED, a.ip, b.ip));
  }
}

TEST_CASE("netns: an agent restart keeps state and traffic flowing") {
  // The maps are pinned: a second Datapath on the same pin directory sees
  // the first one's policy, services and connections; attaching again
  // swaps its programs in.
  auto topo = axon::test::Topology::create({{"a", "10.244.1.10"}, {"b", "10.244.1.20"}}, "r");
  REQUIRE(topo.ok());
  Pod &a = topo->pod("a"), &b = topo->pod("b");
  axon::test::TestDatapath first;
  const Endpoint ea{a.host_ifindex, axon::test::ip(a.ip), kIdA, 1, a.mac};
  const Endpoint eb{b.host_ifindex, axon::test::ip(b.ip), kIdB, 2, b.mac};
  {
    axon::test::InNetns in(topo->node());
    REQUIRE(first->endpoints().attach(ea).ok());
    REQUIRE(first->endpoints().attach(eb).ok());
  }
  REQUIRE(first->ipcache().upsert({axon::test::ip(a.ip), 32}, kIdA).ok());
  REQUIRE(first->policy()
              .replace(2, {true, false, {allow(Direction::ingress, kIdA, IPPROTO_TCP, 8080)}})
              .ok());
  REQUIRE(first->services()
              .upsert({{axon::test::ip("10.96.0.20"), 80, IPPROTO_TCP},
                       {{axon::test::ip(b.ip), 8080}},
                       std::nullopt})
              .ok());
  Fd listener = listen_in(b, 8080);
  Fd other = listen_in(b, 8081);
  // An established connection through the VIP, before the restart.
  Fd conn = socket_in(a.ns, AF_INET, SOCK_STREAM);
  REQUIRE(connect_within(conn.get(), "10.96.0.20", 80, kTimeout));
  REQUIRE(readable_within(listener.get(), kTimeout));
  Fd served(accept(listener.get(), nullptr, nullptr));

  DatapathConfig cfg;
  cfg.pin_dir = first.pin_dir();
  auto second = Datapath::open(cfg);  // the restarted agent
  REQUIRE_MESSAGE(second.ok(), (second.ok() ? "" : second.error().str()));
  CHECK(second->services().size() == 1);
  auto eps = second->endpoints().list();
  REQUIRE(eps.ok());
  CHECK(eps->size() == 2);
  {
    axon::test::InNetns in(topo->node());
    REQUIRE(second->endpoints().attach(ea).ok());
    REQUIRE(second->endpoints().attach(eb).ok());
  }
  // The old connection still works through the new programs...
  CHECK(send(conn.get(), "x", 1, 0) == 1);
  CHECK(readable_within(served.get(), kTimeout));
  // ...policy still holds, and the Service still balances.
  CHECK(tcp_exchange(a, "10.96.0.20", 80, listener.get()));
  CHECK_FALSE(tcp_exchange(a, b.ip, 8081, other.get()));
  REQUIRE(second->services()
              .upsert({{axon::test::ip("10.96.0.20"), 80, IPPROTO_TCP},
                       {{axon::test::ip(b.ip), 8080}},
                       std::nullopt})
              .ok());
  CHECK(second->services().size() == 1);
}
