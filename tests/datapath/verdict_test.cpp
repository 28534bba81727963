// Every verdict path of the datapath programs, run in the kernel with
// BPF_PROG_TEST_RUN on crafted packets. The endpoint under test is pod A
// (10.244.1.10, identity 1000); its peers are known through the ipcache.
// A test run sees skb->ifindex 1, so A is recorded on ifindex 1 (never
// attached: these tests touch no interface).
#include <bpf/bpf.h>
#include <doctest/doctest.h>

#include "axon/base/fd.h"
#include "axon/datapath/drop_reason.h"
#include "fixture.h"

using namespace axon::datapath;
using axon::test::drain;
using axon::test::ip;
using axon::test::kTcpAck;
using axon::test::kTcpFin;
using axon::test::kTcpRst;
using axon::test::kTcpSyn;
using axon::test::PacketBuilder;
using axon::test::run;

namespace {

constexpr uint32_t kIdA = 1000, kIdB = 2000, kIdC = 3000, kIdCidr = 16777217;
constexpr const char* kA = "10.244.1.10";
constexpr const char* kB = "10.244.2.20";
constexpr const char* kC = "10.244.3.30";
constexpr const char* kVip = "10.96.0.10";

PacketBuilder frame() {
  return PacketBuilder().eth("02:00:00:00:00:01", "02:00:00:00:00:02");
}
std::vector<uint8_t> tcp(const char* s, const char* d, uint16_t sp, uint16_t dp, uint8_t flags) {
  return frame().ipv4(s, d).tcp(sp, dp, flags).payload("x").build();
}
std::vector<uint8_t> udp(const char* s, const char* d, uint16_t sp, uint16_t dp) {
  return frame().ipv4(s, d).udp(sp, dp).payload("dns?").build();
}

// Fields of a packet the tests look at after NAT.
struct Ipv4View {
  uint32_t saddr, daddr;
  uint16_t sport, dport;
};
uint16_t get16(const std::vector<uint8_t>& p, size_t off) {
  return static_cast<uint16_t>(p[off] << 8 | p[off + 1]);
}
uint32_t get32(const std::vector<uint8_t>& p, size_t off) {
  return static_cast<uint32_t>(get16(p, off)) << 16 | get16(p, off + 2);
}
Ipv4View view(const std::vector<uint8_t>& p) {
  return {get32(p, 26), get32(p, 30), get16(p, 34), get16(p, 36)};
}
uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}
// True when the IPv4 header and TCP/UDP checksums of `p` verify.
bool checksums_ok(const std::vector<uint8_t>& p) {
  uint32_t sum = 0;
  for (size_t i = 14; i < 34; i += 2) sum += get16(p, i);
  if (fold(sum) != 0xffff) return false;
  const uint8_t proto = p[23];
  const size_t l4 = 34, len = p.size() - l4;
  sum = 0;
  for (size_t i = 26; i < 34; i += 2) sum += get16(p, i);
  sum += proto;
  sum += static_cast<uint32_t>(len);
  for (size_t i = 0; i + 1 < len; i += 2) sum += get16(p, l4 + i);
  if (len % 2) sum += static_cast<uint32_t>(p[l4 + len - 1] << 8);
  return fold(sum) == 0xffff;
}

// A datapath with pod A recorded on ifindex 1 and the peers in the ipcache.
struct Env {
  axon::test::TestDatapath dp;
  EventReader events;

  explicit Env(DatapathConfig config = {}) : dp(config), events(open_reader()) {
    REQUIRE(dp->endpoints().record({1, ip(kA), kIdA, 1}).ok());
    REQUIRE(dp->ipcache().upsert({ip(kA), 32}, kIdA).ok());
    REQUIRE(dp->ipcache().upsert({ip(kB), 32}, kIdB).ok());
    REQUIRE(dp->ipcache().upsert({ip(kC), 32}, kIdC).ok());
    REQUIRE(dp->ipcache().upsert({ip("192.168.0.0"), 16}, kIdCidr).ok());
  }
  EventReader open_reader() {
    auto r = dp->open_events();
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().str()));
    return std::move(*r);
  }
  uint32_t from(const std::vector<uint8_t>& p) { return run(dp->from_container(), p).retval; }
  uint32_t to(const std::vector<uint8_t>& p) { return run(dp->to_container(), p).retval; }
  void policy(const EndpointPolicy& pol) {
    auto s = dp->policy().replace(1, pol);
    REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().str()));
  }
  // The single event the last packet produced.
  Event last_event() {
    auto evs = drain(events);
    REQUIRE(!evs.empty());
    return evs.back();
  }
};

PolicyEntry entry(Direction dir, uint32_t id, uint8_t proto, uint16_t lo, uint16_t hi,
                  PolicyAction action = PolicyAction::allow, uint16_t proxy = 0) {
  return PolicyEntry{dir, id, proto, lo, hi, action, proxy};
}
constexpr auto In = Direction::ingress;
constexpr auto Eg = Direction::egress;

}  // namespace

TEST_CASE("no policy selecting the endpoint allows everything, and says so") {
  Env env;
  CHECK(env.from(tcp(kA, kB, 40000, 80, kTcpSyn)) == TC_ACT_OK);
  auto e = env.last_event();
  CHECK(e.type == EventType::trace);
  CHECK(e.trace_point == AXON_TRACE_FROM_ENDPOINT);
  CHECK(e.verdict == AXON_VERDICT_FORWARDED);
  CHECK(e.trace_reason == AXON_TRACE_REASON_NEW);
  CHECK(e.direction == AXON_DIR_EGRESS);
  CHECK(e.src_identity == kIdA);
  CHECK(e.dst_identity == kIdB);
  CHECK(e.match_type == AXON_MATCH_NONE);
  CHECK(e.tcp_flags == kTcpSyn);
  CHECK(e.orig == e.xlated);
  CHECK(e.orig.saddr == ip(kA));
  CHECK(e.orig.dport == 80);
  CHECK(e.ifindex == 1);
  CHECK(env.to(tcp(kC, kA, 40000, 22, kTcpSyn)) == TC_ACT_OK);
  CHECK(env.to(udp("8.8.8.8", kA, 53, 40000)) == TC_ACT_OK);
}

TEST_CASE("allow: only the allowed identity, protocol and port pass ingress") {
  Env env;
  env.policy({true, false, {entry(In, kIdB, IPPROTO_TCP, 80, 80)}});
  CHECK(env.to(tcp(kB, kA, 40000, 80, kTcpSyn)) == TC_ACT_OK);
  auto ok = env.last_event();
  CHECK(ok.match_type == AXON_MATCH_L3_L4);
  CHECK(ok.trace_point == AXON_TRACE_TO_ENDPOINT);
  CHECK(ok.src_identity == kIdB);
  CHECK(ok.dst_identity == kIdA);

  CHECK(env.to(tcp(kB, kA, 40001, 81, kTcpSyn)) == TC_ACT_SHOT);
  auto denied = env.last_event();
  CHECK(denied.type == EventType::drop);
  CHECK(denied.drop_reason == AXON_DROP_POLICY_DENIED);
  CHECK(drop_reason_text(denied.drop_reason) == "Policy denied");
  CHECK(denied.verdict == AXON_VERDICT_DROPPED);
  CHECK(denied.direction == AXON_DIR_INGRESS);

  CHECK(env.to(tcp(kC, kA, 40002, 80, kTcpSyn)) == TC_ACT_SHOT);
  CHECK(env.last_event().src_identity == kIdC);
  CHECK(env.to(udp(kB, kA, 40003, 80)) == TC_ACT_SHOT);
  // Egress is not enforced.
  CHECK(env.from(tcp(kA, kC, 40004, 9999, kTcpSyn)) == TC_ACT_OK);
}

TEST_CASE("deny: a deny entry drops with its own reason, and beats any allow") {
  Env env;
  env.policy({true,
              false,
              {entry(In, 0, 0, 0, 0),  // allow all
               entry(In, kIdB, IPPROTO_TCP, 80, 80, PolicyAction::deny)}});
  CHECK(env.to(tcp(kB, kA, 40000, 80, kTcpSyn)) == TC_ACT_SHOT);
  auto e = env.last_event();
  CHECK(e.drop_reason == AXON_DROP_POLICY_DENY);
  CHECK(drop_reason_text(e.drop_reason) == "Policy denied by denylist");
  CHECK(drop_reason_name(e.drop_reason) == "POLICY_DENY");
  CHECK(e.match_type == AXON_MATCH_L3_L4);
  CHECK(env.to(tcp(kB, kA, 40000, 81, kTcpSyn)) == TC_ACT_OK);
  CHECK(env.last_event().match_type == AXON_MATCH_ALL);
  CHECK(env.to(tcp(kC, kA, 40000, 80, kTcpSyn)) == TC_ACT_OK);

  SUBCASE("a wildcard deny beats a more specific allow") {
    env.policy({true,
                false,
                {entry(In, kIdB, IPPROTO_TCP, 443, 443),
                 entry(In, 0, IPPROTO_TCP, 400, 500, PolicyAction::deny)}});
    CHECK(env.to(tcp(kB, kA, 40010, 443, kTcpSyn)) == TC_ACT_SHOT);
    CHECK(env.last_event().drop_reason == AXON_DROP_POLICY_DENY);
  }
}

TEST_CASE("port ranges are inclusive and per protocol") {
  Env env;
  env.policy({true, false, {entry(In, kIdB, IPPROTO_TCP, 8000, 8080)}});
  CHECK(env.to(tcp(kB, kA, 1, 7999, kTcpSyn)) == TC_ACT_SHOT);
  CHECK(env.to(tcp(kB, kA, 2, 8000, kTcpSyn)) == TC_ACT_OK);
  CHECK(env.to(tcp(kB, kA, 3, 8041, kTcpSyn)) == TC_ACT_OK);
  CHECK(env.to(tcp(kB, kA, 4, 8080, kTcpSyn)) == TC_ACT_OK);
  CHECK(env.to(tcp(kB, kA, 5, 8081, kTcpSyn)) == TC_ACT_SHOT);
  CHECK(env.to(udp(kB, kA, 6, 8041)) == TC_ACT_SHOT);
  CHECK(env.to(tcp(kC, kA, 7, 8041, kTcpSyn)) == TC_ACT_SHOT);
}

TEST_CASE("wildcard identity: a port allowed for any peer, CIDR identities included") {
  Env env;
  env.policy({true, false, {entry(In, 0, IPPROTO_TCP, 443, 443)}});
  CHECK(env.to(tcp(kB, kA, 1, 443, kTcpSyn)) == TC_ACT_OK);
  CHECK(env.last_event().match_type == AXON_MATCH_L4_ONLY);
  CHECK(env.to(tcp(kC, kA, 2, 443, kTcpSyn)) == TC_ACT_OK);
  CHECK(env.to(tcp("192.168.7.7", kA, 3, 443, kTcpSyn)) == TC_ACT_OK);
  CHECK(env.last_event().src_identity == kIdCidr);
  CHECK(env.to(tcp("8.8.8.8", kA, 4, 443, kTcpSyn)) == TC_ACT_OK);
  CHECK(env.last_event().src_identity == AXON_IDENTITY_WORLD);
  CHECK(env.to(tcp(kB, kA, 5, 80, kTcpSyn)) == TC_ACT_SHOT);

  SUBCASE("an L3 entry on a CIDR identity") {
    env.policy({true, false, {entry(In, kIdCidr, 0, 0, 0)}});
    CHECK(env.to(udp("192.168.200.1", kA, 1, 5353)) == TC_ACT_OK);
    CHECK(env.last_event().match_type == AXON_MATCH_L3_ONLY);
    CHECK(env.to(udp("192.169.0.1", kA, 1, 5353)) == TC_ACT_SHOT);
  }
}

TEST_CASE("default deny is per direction") {
  Env env;
  SUBCASE("ingress only") {
    env.policy({true, false, {}});
    CHECK(env.to(tcp(kB, kA, 1, 80, kTcpSyn)) == TC_ACT_SHOT);
    CHECK(env.from(tcp(kA, kB, 2, 80, kTcpSyn)) == TC_ACT_OK);
    CHECK(env.last_event().match_type == AXON_MATCH_NONE);
  }
  SUBCASE("egress only") {
    env.policy({false, true, {entry(In, kIdB, IPPROTO_TCP, 0, 0)}});
    // Ingress is not in default deny: its allows restrict nothing.
    CHECK(env.to(tcp(kC, kA, 1, 80, kTcpSyn)) == TC_ACT_OK);
    CHECK(env.last_event().match_type == AXON_MATCH_NONE);
    CHECK(env.from(tcp(kA, kB, 2, 80, kTcpSyn)) == TC_ACT_SHOT);
    auto e = env.last_event();
    CHECK(e.drop_reason == AXON_DROP_POLICY_DENIED);
    CHECK(e.direction == AXON_DIR_EGRESS);
    CHECK(e.dst_identity == kIdB);
  }
  SUBCASE("removing the policy allows everything again") {
    env.policy({true, true, {}});
    CHECK(env.to(tcp(kB, kA, 1, 80, kTcpSyn)) == TC_ACT_SHOT);
    REQUIRE(env.dp->policy().erase(1).ok());
    CHECK(env.to(tcp(kB, kA, 1, 80, kTcpSyn)) == TC_ACT_OK);
  }
}

TEST_CASE("deny entries are enforced in a direction without default deny") {
  // egressDeny to a CIDR with enableDefaultDeny: {egress: false}: the CIDR
  // is dropped by the denylist, everything else passes (issue 17, defect 1).
  Env env;
  env.policy({false, false, {entry(Eg, kIdCidr, 0, 0, 0, PolicyAction::deny)}});
  CHECK(env.from(tcp(kA, "192.168.1.1", 1, 443, kTcpSyn)) == TC_ACT_SHOT);
  auto e = env.last_event();
  CHECK(e.drop_reason == AXON_DROP_POLICY_DENY);
  CHECK(e.match_type == AXON_MATCH_L3_ONLY);
  CHECK(env.from(tcp(kA, kB, 2, 443, kTcpSyn)) == TC_ACT_OK);
  CHECK(env.last_event().match_type == AXON_MATCH_NONE);
  CHECK(env.from(tcp(kA, "8.8.8.8", 3, 443, kTcpSyn)) == TC_ACT_OK);
  CHECK(env.to(tcp(kB, kA, 4, 80, kTcpSyn)) == TC_ACT_OK);  // ingress untouched

  SUBCASE("ingress too, and a port deny for every peer") {
    env.policy({false, false,
                {entry(In, kIdB, 0, 0, 0, PolicyAction::deny),
                 entry(In, 0, IPPROTO_TCP, 22, 22, PolicyAction::deny),
                 entry(In, kIdC, IPPROTO_TCP, 22, 22)}});  // an allow changes nothing
    CHECK(env.to(tcp(kB, kA, 5, 80, kTcpSyn)) == TC_ACT_SHOT);
    CHECK(env.last_event().drop_reason == AXON_DROP_POLICY_DENY);
    CHECK(env.to(tcp(kC, kA, 6, 22, kTcpSyn)) == TC_ACT_SHOT);
    CHECK(env.last_event().drop_reason == AXON_DROP_POLICY_DENY);
    CHECK(env.to(tcp(kC, kA, 7, 80, kTcpSyn)) == TC_ACT_OK);
  }
  SUBCASE("a deny of everything from anyone") {
    env.policy({false, false, {entry(Eg, 0, 0, 0, 0, PolicyAction::deny)}});
    CHECK(env.from(tcp(kA, kB, 8, 80, kTcpSyn)) == TC_ACT_SHOT);
    CHECK(env.last_event().drop_reason == AXON_DROP_POLICY_DENY);
    CHECK(env.to(tcp(kB, kA, 9, 80, kTcpSyn)) == TC_ACT_OK);
  }
}

TEST_CASE("replies of allowed connections pass without a policy lookup") {
  Env env;
  SUBCASE("egress connection, ingress default deny") {
    env.policy({true, true, {entry(Eg, kIdB, IPPROTO_TCP, 80, 80)}});
    CHECK(env.from(tcp(kA, kB, 40000, 80, kTcpSyn)) == TC_ACT_OK);
    (void)drain(env.events);
    CHECK(env.to(tcp(kB, kA, 80, 40000, kTcpSyn | kTcpAck)) == TC_ACT_OK);
    auto e = env.last_event();
    CHECK(e.is_reply);
    CHECK(e.trace_reason == AXON_TRACE_REASON_REPLY);
    // The same peer opening its own connection is denied.
    CHECK(env.to(tcp(kB, kA, 80, 40001, kTcpSyn)) == TC_ACT_SHOT);
    // Forward packets of the connection are still looked up: revoking the
    // allow breaks it.
    CHECK(env.from(tcp(kA, kB, 40000, 80, kTcpAck)) == TC_ACT_OK);
    env.policy({true, true, {}});
    CHECK(env.from(tcp(kA, kB, 40000, 80, kTcpAck)) == TC_ACT_SHOT);
    CHECK(env.to(tcp(kB, kA, 80, 40000, kTcpAck)) == TC_ACT_OK);  // replies still pass
  }
  SUBCASE("ingress connection, egress default deny") {
    env.policy({true, true, {entry(In, kIdB, IPPROTO_UDP, 53, 53)}});
    CHECK(env.to(udp(kB, kA, 5000, 53)) == TC_ACT_OK);
    CHECK(env.from(udp(kA, kB, 53, 5000)) == TC_ACT_OK);
    CHECK(env.last_event().is_reply);
    CHECK(env.from(udp(kA, kB, 53, 5001)) == TC_ACT_SHOT);
  }
  SUBCASE("the lookup order is only a guess: a client on a lower port than its server") {
    // Replies are looked up first when they come from the lower port; here
    // the guess is wrong in both directions and the verdicts stay right.
    env.policy({true, true, {entry(Eg, kIdB, IPPROTO_TCP, 40000, 40000)}});
    CHECK(env.from(tcp(kA, kB, 80, 40000, kTcpSyn)) == TC_ACT_OK);
    CHECK(env.to(tcp(kB, kA, 40000, 80, kTcpSyn | kTcpAck)) == TC_ACT_OK);
    CHECK(env.last_event().is_reply);
    CHECK(env.from(tcp(kA, kB, 80, 40000, kTcpAck)) == TC_ACT_OK);
    CHECK(env.to(tcp(kB, kA, 40000, 80, kTcpAck | kTcpFin)) == TC_ACT_OK);
    auto e = env.last_event();
    CHECK(e.is_reply);
    CHECK(e.trace_reason == AXON_TRACE_REASON_REPLY);
    // Not a reply: the peer's own connection from that port is denied.
    CHECK(env.to(tcp(kB, kA, 40000, 81, kTcpAck)) == TC_ACT_SHOT);
  }
  SUBCASE("a reply is a reply even when its own tuple has an entry the other end made") {
    // Datagrams both ways between the same ports, each admitted at its
    // destination: A's answer matches B's connection (a reply) and the
    // entry of its own tuple made by an ingress end, not by A's egress.
    env.policy({false, true, {}});
    CHECK(env.to(udp(kA, kB, 40000, 80)) == TC_ACT_OK);
    CHECK(env.to(udp(kB, kA, 80, 40000)) == TC_ACT_OK);
    CHECK(env.from(udp(kA, kB, 40000, 80)) == TC_ACT_OK);
    CHECK(env.last_event().is_reply);
  }
  SUBCASE("a SYN always meets policy, even on a connection still open") {
    env.policy({true,
                false,
                {entry(In, 0, 0, 0, 0), entry(In, kIdB, IPPROTO_TCP, 80, 80, PolicyAction::deny)}});
    // An ACK of a connection nobody saw opened: a SYN-less new connection,
    // denied like any; then the entry the port's earlier life left behind
    // does not let a SYN through.
    CHECK(env.from(tcp(kA, kB, 80, 40000, kTcpSyn | kTcpAck)) == TC_ACT_OK);
    CHECK(env.to(tcp(kB, kA, 40000, 80, kTcpSyn)) == TC_ACT_SHOT);
    CHECK(env.last_event().drop_reason == AXON_DROP_POLICY_DENY);
  }
}

TEST_CASE("conntrack: TCP state, lifetimes and garbage collection") {
  DatapathConfig cfg;
  cfg.ct_timeouts = {.tcp_syn_s = 60, .tcp_established_s = 3600, .tcp_close_s = 10, .other_s = 30};
  Env env(cfg);
  auto entry_of = [&](uint8_t scope) {
    auto d = env.dp->conntrack().dump();
    REQUIRE(d.ok());
    for (const auto& e : *d) {
      if (e.key.scope == scope && e.key.proto == IPPROTO_TCP) return e.value;
    }
    FAIL("no conntrack entry");
    return axon_ct_entry{};
  };
  auto remaining_s = [](const axon_ct_entry& e) {
    return static_cast<double>(e.expires_ns - monotonic_now_ns()) / 1e9;
  };
  CHECK(env.from(tcp(kA, kB, 40000, 80, kTcpSyn)) == TC_ACT_OK);
  auto syn = entry_of(AXON_CT_CONN);
  CHECK(remaining_s(syn) <= 60);
  CHECK(remaining_s(syn) > 30);
  CHECK(syn.tx_flags_seen == kTcpSyn);
  CHECK(env.to(tcp(kB, kA, 80, 40000, kTcpSyn | kTcpAck)) == TC_ACT_OK);
  auto est = entry_of(AXON_CT_CONN);
  CHECK(remaining_s(est) > 3000);  // established
  CHECK((est.flags & AXON_CT_F_SEEN_REPLY) != 0);
  CHECK(env.from(tcp(kA, kB, 40000, 80, kTcpFin | kTcpAck)) == TC_ACT_OK);
  auto fin = entry_of(AXON_CT_CONN);
  CHECK((fin.flags & AXON_CT_F_TX_CLOSING) != 0);
  CHECK(remaining_s(fin) <= 10);
  CHECK(env.to(tcp(kB, kA, 80, 40000, kTcpRst)) == TC_ACT_OK);
  CHECK((entry_of(AXON_CT_CONN).flags & AXON_CT_F_RX_CLOSING) != 0);

  // UDP and ICMP echo are tracked too.
  CHECK(env.from(udp(kA, kC, 5000, 53)) == TC_ACT_OK);
  CHECK(env.from(frame().ipv4(kA, kC).icmp_echo(8, 77, 1).build()) == TC_ACT_OK);
  auto all = env.dp->conntrack().dump();
  REQUIRE(all.ok());
  CHECK(all->size() == 3);

  // GC with an injected clock: nothing before the deadlines, all after.
  auto none = env.dp->conntrack().gc(monotonic_now_ns());
  REQUIRE(none.ok());
  CHECK(*none == 0);
  auto removed = env.dp->conntrack().gc(monotonic_now_ns() + 31ull * 1000000000);
  REQUIRE(removed.ok());
  CHECK(*removed == 3);
  CHECK(env.dp->conntrack().dump()->empty());
}

TEST_CASE("Service: DNAT to a backend, reverse NAT of the reply, checksums intact") {
  Env env;
  REQUIRE(env.dp->services()
              .upsert({{ip(kVip), 80, IPPROTO_TCP}, {{ip(kB), 8080}}, std::nullopt})
              .ok());
  auto out = run(env.dp->from_container(), tcp(kA, kVip, 40000, 80, kTcpSyn));
  CHECK(out.retval == TC_ACT_OK);
  auto v = view(out.packet_out);
  CHECK(v.daddr == ip(kB).addr);
  CHECK(v.dport == 8080);
  CHECK(v.saddr == ip(kA).addr);
  CHECK(v.sport == 40000);
  CHECK(checksums_ok(out.packet_out));
  auto e = env.last_event();
  CHECK(e.nat);
  CHECK(e.orig.daddr == ip(kVip));
  CHECK(e.orig.dport == 80);
  CHECK(e.xlated.daddr == ip(kB));
  CHECK(e.xlated.dport == 8080);
  CHECK(e.dst_identity == kIdB);  // policy and identity use the backend

  auto reply = run(env.dp->to_container(), tcp(kB, kA, 8080, 40000, kTcpSyn | kTcpAck));
  CHECK(reply.retval == TC_ACT_OK);
  auto r = view(reply.packet_out);
  CHECK(r.saddr == ip(kVip).addr);
  CHECK(r.sport == 80);
  CHECK(r.daddr == ip(kA).addr);
  CHECK(r.dport == 40000);
  CHECK(checksums_ok(reply.packet_out));
  auto re = env.last_event();
  CHECK(re.is_reply);
  CHECK(re.nat);
  CHECK(re.src_identity == kIdB);  // the backend's identity, not the VIP's
  CHECK(re.dst_identity == kIdA);
  CHECK(re.xlated.saddr == ip(kVip));

  // The connection keeps its backend; UDP services work the same way.
  CHECK(view(run(env.dp->from_container(), tcp(kA, kVip, 40000, 80, kTcpAck)).packet_out).daddr ==
        ip(kB).addr);
  REQUIRE(env.dp->services()
              .upsert({{ip(kVip), 53, IPPROTO_UDP}, {{ip(kC), 5353}}, std::nullopt})
              .ok());
  auto u = run(env.dp->from_container(), udp(kA, kVip, 7000, 53));
  CHECK(view(u.packet_out).daddr == ip(kC).addr);
  CHECK(view(u.packet_out).dport == 5353);
  CHECK(checksums_ok(u.packet_out));
  auto ur = run(env.dp->to_container(), udp(kC, kA, 5353, 7000));
  CHECK(view(ur.packet_out).saddr == ip(kVip).addr);
  CHECK(view(ur.packet_out).sport == 53);
  CHECK(checksums_ok(ur.packet_out));

  SUBCASE("egress policy applies to the backend, not the VIP") {
    env.policy({false, true, {entry(Eg, kIdB, IPPROTO_TCP, 80, 80)}});
    CHECK(env.from(tcp(kA, kVip, 41000, 80, kTcpSyn)) == TC_ACT_SHOT);
    env.policy({false, true, {entry(Eg, kIdB, IPPROTO_TCP, 8080, 8080)}});
    CHECK(env.from(tcp(kA, kVip, 41001, 80, kTcpSyn)) == TC_ACT_OK);
  }
}

TEST_CASE("a Service without backends drops with its own reason (serviceNoBackendResponse: drop)") {
  DatapathConfig drop_config;
  drop_config.no_backend_reject = false;
  Env env(drop_config);
  REQUIRE(env.dp->services().upsert({{ip(kVip), 80, IPPROTO_TCP}, {}, std::nullopt}).ok());
  CHECK(env.from(tcp(kA, kVip, 40000, 80, kTcpSyn)) == TC_ACT_SHOT);
  auto e = env.last_event();
  CHECK(e.drop_reason == AXON_DROP_NO_SERVICE);
  CHECK(drop_reason_text(e.drop_reason) == "Service backend not found");
  // Other ports of the VIP are no Service: they pass as plain traffic.
  CHECK(env.from(tcp(kA, kVip, 40000, 81, kTcpSyn)) == TC_ACT_OK);
  // Backends arrive: the Service works; they go: it drops again.
  REQUIRE(env.dp->services()
              .upsert({{ip(kVip), 80, IPPROTO_TCP}, {{ip(kB), 8080}}, std::nullopt})
              .ok());
  CHECK(env.from(tcp(kA, kVip, 40001, 80, kTcpSyn)) == TC_ACT_OK);
  REQUIRE(env.dp->services().upsert({{ip(kVip), 80, IPPROTO_TCP}, {}, std::nullopt}).ok());
  CHECK(env.from(tcp(kA, kVip, 40002, 80, kTcpSyn)) == TC_ACT_SHOT);
  REQUIRE(env.dp->services().erase({ip(kVip), 80, IPPROTO_TCP}).ok());
  CHECK(env.from(tcp(kA, kVip, 40003, 80, kTcpSyn)) == TC_ACT_OK);
}

TEST_CASE("a Service without backends answers ICMP port unreachable (reject, the default)") {
  Env env;
  REQUIRE(env.dp->services().upsert({{ip(kVip), 80, IPPROTO_TCP}, {}, std::nullopt}).ok());
  REQUIRE(env.dp->services().upsert({{ip(kVip), 53, IPPROTO_UDP}, {}, std::nullopt}).ok());
  for (bool is_tcp : {true, false}) {
    CAPTURE(is_tcp);
    const auto in = is_tcp ? tcp(kA, kVip, 40000, 80, kTcpSyn) : udp(kA, kVip, 40001, 53);
    auto r = run(env.dp->from_container(), in);
    CHECK(r.retval == TC_ACT_REDIRECT);  // back out of the interface it came in on
    auto e = env.last_event();             // reported as the drop it is
    CHECK(e.drop_reason == AXON_DROP_NO_SERVICE);
    const auto& out = r.packet_out;
    REQUIRE(out.size() == 14 + 20 + 8 + 28);
    CHECK(std::equal(out.begin(), out.begin() + 6, in.begin() + 6));  // MACs swapped
    CHECK(std::equal(out.begin() + 6, out.begin() + 12, in.begin()));
    CHECK(out[23] == IPPROTO_ICMP);
    CHECK(std::equal(out.begin() + 26, out.begin() + 30, in.begin() + 30));  // from the VIP
    CHECK(std::equal(out.begin() + 30, out.begin() + 34, in.begin() + 26));  // to the client
    CHECK(out[34] == 3);  // destination unreachable
    CHECK(out[35] == 3);  // port unreachable
    CHECK(std::equal(out.begin() + 42, out.end(), in.begin() + 14));  // quotes the packet
    uint32_t sum = 0;  // IPv4 header checksum
    for (size_t i = 14; i < 34; i += 2) sum += get16(out, i);
    CHECK(fold(sum) == 0xffff);
    sum = 0;  // ICMP checksum
    for (size_t i = 34; i < out.size(); i += 2) sum += get16(out, i);
    CHECK(fold(sum) == 0xffff);
  }
}

TEST_CASE("Service load balancing: Maglev is consistent per flow and spreads flows") {
  for (auto alg : {LbAlgorithm::maglev, LbAlgorithm::random}) {
    CAPTURE(static_cast<int>(alg));
    Env env;
    std::vector<Backend> backends;
    for (int i = 1; i <= 4; ++i)
      backends.push_back({ip(("10.244.9." + std::to_string(i)).c_str()), 80});
    REQUIRE(env.dp->services().upsert({{ip(kVip), 80, IPPROTO_TCP}, backends, alg}).ok());
    std::map<uint32_t, int> hits;
    for (uint16_t sport = 1000; sport < 1400; ++sport) {
      auto out = run(env.dp->from_container(), tcp(kA, kVip, sport, 80, kTcpSyn));
      REQUIRE(out.retval == TC_ACT_OK);
      hits[view(out.packet_out).daddr]++;
    }
    CHECK(hits.size() == 4);
    for (auto [addr, n] : hits) CHECK(n > 50);  // 100 expected each
    if (alg == LbAlgorithm::maglev) {
      // Maglev: the same tuple maps to the same backend with no conntrack.
      auto first = view(run(env.dp->from_container(), tcp(kA, kVip, 2000, 80, kTcpSyn)).packet_out);
      REQUIRE(env.dp->conntrack().flush().ok());
      auto again = view(run(env.dp->from_container(), tcp(kA, kVip, 2000, 80, kTcpSyn)).packet_out);
      CHECK(first.daddr == again.daddr);
    }
  }
}

TEST_CASE("ICMP: echo by type, replies tracked") {
  Env env;
  env.policy({true, false, {entry(In, kIdB, IPPROTO_ICMP, 8, 8)}});
  CHECK(env.to(frame().ipv4(kB, kA).icmp_echo(8, 99, 1).build()) == TC_ACT_OK);
  auto e = env.last_event();
  CHECK(e.icmp_type == 8);
  CHECK(e.match_type == AXON_MATCH_L3_L4);
  CHECK(env.from(frame().ipv4(kA, kB).icmp_echo(0, 99, 1).build()) == TC_ACT_OK);
  CHECK(env.last_event().is_reply);
  CHECK(env.to(frame().ipv4(kC, kA).icmp_echo(8, 99, 1).build()) == TC_ACT_SHOT);
  // Another ICMP type from the allowed peer is not allowed.
  CHECK(env.to(frame().ipv4(kB, kA).icmp(13, 0).build()) == TC_ACT_SHOT);
  // Egress ping and its reply, with ingress default deny.
  CHECK(env.from(frame().ipv4(kA, kC).icmp_echo(8, 5, 1).build()) == TC_ACT_OK);
  CHECK(env.to(frame().ipv4(kC, kA).icmp_echo(0, 5, 1).build()) == TC_ACT_OK);
  CHECK(env.to(frame().ipv4(kC, kA).icmp_echo(0, 6, 1).build()) == TC_ACT_SHOT);
}

TEST_CASE("non-IP frames pass untouched; IPv6 is dropped as unsupported") {
  Env env;
  env.policy({true, true, {}});
  auto arp = frame()
                 .eth("02:00:00:00:00:01", "ff:ff:ff:ff:ff:ff", 0x0806)
                 .payload(std::string(28, '\1'))
                 .build();
  auto out = run(env.dp->from_container(), arp);
  CHECK(out.retval == TC_ACT_OK);
  CHECK(out.packet_out == arp);
  CHECK(env.to(arp) == TC_ACT_OK);
  auto st = env.dp->stats();
  REQUIRE(st.ok());
  CHECK(st->non_ip_passed == 2);
  auto v6 = frame().ipv6_ethertype().payload(std::string(40, '\0')).build();
  CHECK(env.from(v6) == TC_ACT_SHOT);
  CHECK(env.last_event().drop_reason == AXON_DROP_UNSUPPORTED_L3);
}

TEST_CASE("malformed packets are dropped with the reason that names the fault") {
  Env env;
  struct Case {
    std::string what;
    std::vector<uint8_t> packet;
    uint8_t reason;
  };
  auto bad_ihl = tcp(kA, kB, 1, 80, kTcpSyn);
  bad_ihl[14] = 0x44;
  std::vector<Case> cases = {
      {"TCP header cut short",
       frame().ipv4(kA, kB).tcp(1, 80, kTcpSyn).build_truncated(14 + 20 + 10),
       AXON_DROP_CT_INVALID_HDR},
      {"UDP header cut short", frame().ipv4(kA, kB).udp(1, 53).build_truncated(14 + 20 + 4),
       AXON_DROP_CT_INVALID_HDR},
      {"ICMP header cut short",
       frame().ipv4(kA, kB).icmp_echo(8, 1, 1).build_truncated(14 + 20 + 3),
       AXON_DROP_CT_INVALID_HDR},
      {"IHL below 5", bad_ihl, AXON_DROP_INVALID_PACKET},
      {"SYN with FIN", tcp(kA, kB, 1, 80, kTcpSyn | kTcpFin), AXON_DROP_CT_INVALID_HDR},
      {"a fragment", frame().ipv4(kA, kB).fragment(0, true).udp(1, 53).payload("x").build(),
       AXON_DROP_FRAG_NOT_SUPPORTED},
      {"a spoofed source", tcp(kC, kB, 1, 80, kTcpSyn), AXON_DROP_INVALID_SOURCE_IP},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    CHECK(env.from(c.packet) == TC_ACT_SHOT);
    CHECK(env.last_event().drop_reason == c.reason);
  }
  auto st = env.dp->stats();
  REQUIRE(st.ok());
  CHECK(st->dropped(AXON_DIR_EGRESS, AXON_DROP_CT_INVALID_HDR).packets == 4);
}

TEST_CASE("an interface without an endpoint record drops: no configuration") {
  axon::test::TestDatapath dp;
  auto out = run(dp->from_container(), tcp(kA, kB, 1, 80, kTcpSyn));
  CHECK(out.retval == TC_ACT_SHOT);
  auto st = dp->stats();
  REQUIRE(st.ok());
  CHECK(st->dropped(AXON_DIR_EGRESS, AXON_DROP_NO_CONFIG).packets == 1);
}

TEST_CASE("protocols without ports match only any-port entries") {
  Env env;
  env.policy({true, false, {entry(In, kIdB, 47 /* GRE */, 0, 0), entry(In, kIdC, 0, 1, 65535)}});
  CHECK(env.to(frame().ipv4(kB, kA).ip_protocol(47).payload("gre").build()) == TC_ACT_OK);
  CHECK(env.last_event().match_type == AXON_MATCH_L3_PROTO);
  CHECK(env.to(frame().ipv4(kC, kA).ip_protocol(47).payload("gre").build()) == TC_ACT_SHOT);
  CHECK(env.to(frame().ipv4(kC, kA).sctp(1, 9).build()) == TC_ACT_OK);
}

// A listening socket of the test's network namespace on a free port (any
// address, as the proxy's): the proxy step's socket lookup finds it.
struct Listener {
  axon::Fd fd;
  uint16_t port = 0;
  explicit Listener(int type) : fd(socket(AF_INET, type, 0)) {
    REQUIRE(fd.valid());
    sockaddr_in a{};
    a.sin_family = AF_INET;
    REQUIRE(bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    if (type == SOCK_STREAM) REQUIRE(listen(fd.get(), 4) == 0);
    socklen_t len = sizeof(a);
    REQUIRE(getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
  }
};

TEST_CASE("redirect: handed to the proxy's socket, dropped when nothing listens (fail closed)") {
  DatapathConfig config;
  config.proxy_ifindex = 1;  // the proxy device (test runs send nothing)
  Env env(config);
  Listener tcp_proxy(SOCK_STREAM), udp_proxy(SOCK_DGRAM);
  env.policy({true,
              true,
              {entry(In, kIdB, IPPROTO_TCP, 80, 80, PolicyAction::redirect, tcp_proxy.port),
               entry(In, kIdB, IPPROTO_UDP, 53, 53, PolicyAction::redirect, udp_proxy.port),
               entry(In, 0, IPPROTO_TCP, 80, 80),
               entry(Eg, 0, IPPROTO_TCP, 80, 80, PolicyAction::redirect, tcp_proxy.port)}});
  // to-container runs at TC egress: the listener found, the packet goes back
  // in at the veth's ingress for the socket assignment.
  CHECK(env.to(tcp(kB, kA, 1, 80, kTcpSyn)) == TC_ACT_REDIRECT);
  auto e = env.last_event();
  CHECK(e.verdict == AXON_VERDICT_REDIRECTED);
  CHECK(e.trace_point == AXON_TRACE_TO_PROXY);
  CHECK(e.proxy_port == tcp_proxy.port);
  CHECK(env.to(frame().ipv4(kB, kA).udp(5, 53).payload("q").build()) == TC_ACT_REDIRECT);
  CHECK(env.last_event().proxy_port == udp_proxy.port);
  // Not redirected: forwarded as before.
  CHECK(env.to(tcp(kC, kA, 1, 80, kTcpSyn)) == TC_ACT_OK);
  CHECK(env.last_event().verdict == AXON_VERDICT_FORWARDED);
  // from-container (TC ingress) assigns the socket itself; a test run is no
  // TC ingress, so the kernel refuses the assignment: the lookup did find it.
  CHECK(env.from(tcp(kA, kB, 2, 80, kTcpSyn)) == TC_ACT_SHOT);
  CHECK(env.last_event().drop_reason == AXON_DROP_SOCKET_ASSIGN_FAILED);

  // The proxy gone: nothing passes, new or established.
  tcp_proxy.fd.reset();
  udp_proxy.fd.reset();
  CHECK(env.to(tcp(kB, kA, 1, 80, kTcpAck)) == TC_ACT_SHOT);
  e = env.last_event();
  CHECK(e.verdict == AXON_VERDICT_DROPPED);
  CHECK(e.drop_reason == AXON_DROP_SOCKET_LOOKUP_FAILED);
  CHECK(e.proxy_port != 0);
  CHECK(env.to(tcp(kB, kA, 3, 80, kTcpSyn)) == TC_ACT_SHOT);
  CHECK(env.last_event().drop_reason == AXON_DROP_SOCKET_LOOKUP_FAILED);
  CHECK(env.to(frame().ipv4(kB, kA).udp(6, 53).payload("q").build()) == TC_ACT_SHOT);
  CHECK(env.last_event().drop_reason == AXON_DROP_SOCKET_LOOKUP_FAILED);
  CHECK(env.from(tcp(kA, kB, 4, 80, kTcpSyn)) == TC_ACT_SHOT);
  CHECK(env.last_event().drop_reason == AXON_DROP_SOCKET_LOOKUP_FAILED);
  CHECK(env.to(tcp(kC, kA, 5, 80, kTcpSyn)) == TC_ACT_OK);
}

TEST_CASE("the proxy's own connections (AXON_MARK_FROM_PROXY) are checked, never redirected again") {
  DatapathConfig config;
  config.proxy_ifindex = 1;
  Env env(config);
  Listener tcp_proxy(SOCK_STREAM);
  env.policy({true, false, {entry(In, kIdB, IPPROTO_TCP, 80, 80, PolicyAction::redirect, tcp_proxy.port)}});
  auto marked = [&](const std::vector<uint8_t>& p) {
    auto r = prog_test_run(env.dp->to_container(), p, 1, AXON_MARK_FROM_PROXY);
    REQUIRE(r.ok());
    return r->retval;
  };
  CHECK(marked(tcp(kB, kA, 7, 80, kTcpSyn)) == TC_ACT_OK);
  CHECK(env.last_event().verdict == AXON_VERDICT_FORWARDED);
  CHECK(marked(tcp(kB, kA, 7, 80, kTcpAck)) == TC_ACT_OK);
  CHECK(marked(tcp(kC, kA, 8, 80, kTcpSyn)) == TC_ACT_SHOT);  // still policy: C has no allow
  CHECK(env.last_event().drop_reason == AXON_DROP_POLICY_DENIED);
  CHECK(env.to(tcp(kB, kA, 9, 80, kTcpSyn)) == TC_ACT_REDIRECT);  // unmarked: to the proxy
}

TEST_CASE("egress redirect: the peer's answers go to the proxy's upstream socket, the proxy's to the pod") {
  DatapathConfig config;
  config.proxy_ifindex = 1;
  Env env(config);
  Listener tcp_proxy(SOCK_STREAM);
  env.policy({false, true, {entry(Eg, kIdB, IPPROTO_TCP, 80, 80, PolicyAction::redirect, tcp_proxy.port)}});
  // The pod's SYN is redirected (from-container assigns the listener: a test
  // run is no TC ingress, so the found socket is refused).
  CHECK(env.from(tcp(kA, kB, 7, 80, kTcpSyn)) == TC_ACT_SHOT);
  CHECK(env.last_event().drop_reason == AXON_DROP_SOCKET_ASSIGN_FAILED);
  // The connection's entry holds the redirect; the peer's SYN-ACK on that
  // tuple answers the proxy's upstream connection (same 4-tuple). With no
  // such socket it is dropped, never delivered to the pod, and never handed
  // to a listener.
  CHECK(env.to(tcp(kB, kA, 80, 7, kTcpSyn | kTcpAck)) == TC_ACT_SHOT);
  auto e = env.last_event();
  CHECK(e.drop_reason == AXON_DROP_SOCKET_LOOKUP_FAILED);
  CHECK(e.proxy_port == tcp_proxy.port);
  // What the proxy answers the pod (its sockets carry AXON_MARK_FROM_PROXY)
  // goes in.
  auto r = prog_test_run(env.dp->to_container(), tcp(kB, kA, 80, 7, kTcpSyn | kTcpAck), 1,
                         AXON_MARK_FROM_PROXY);
  REQUIRE(r.ok());
  CHECK(r->retval == TC_ACT_OK);
  // The proxy device takes a reply for that socket only, never the listener.
  auto p = prog_test_run(env.dp->to_proxy(), tcp(kB, kA, 80, 7, kTcpAck), 1,
                         AXON_MARK_PROXY | AXON_MARK_PROXY_REPLY | (uint32_t(tcp_proxy.port) << 16));
  REQUIRE(p.ok());
  CHECK(p->retval == TC_ACT_SHOT);
}

TEST_CASE("ingress redirect: the proxy's upstream keeps the redirect; the pod's answers go to the proxy") {
  DatapathConfig config;
  config.proxy_ifindex = 1;
  Env env(config);
  Listener tcp_proxy(SOCK_STREAM);
  env.policy({true, false, {entry(In, kIdB, IPPROTO_TCP, 80, 80, PolicyAction::redirect, tcp_proxy.port)}});
  CHECK(env.to(tcp(kB, kA, 9, 80, kTcpSyn)) == TC_ACT_REDIRECT);  // to the proxy
  // The proxy's upstream SYN, same 4-tuple (the client's address kept):
  // checked, delivered, and the connection keeps its redirect.
  auto r = prog_test_run(env.dp->to_container(), tcp(kB, kA, 9, 80, kTcpSyn), 1, AXON_MARK_FROM_PROXY);
  REQUIRE(r.ok());
  CHECK(r->retval == TC_ACT_OK);
  // The pod's SYN-ACK answers the upstream socket: none here, so dropped
  // (never sent to the client, never to a listener).
  CHECK(env.from(tcp(kA, kB, 80, 9, kTcpSyn | kTcpAck)) == TC_ACT_SHOT);
  auto e = env.last_event();
  CHECK(e.drop_reason == AXON_DROP_SOCKET_LOOKUP_FAILED);
  CHECK(e.proxy_port == tcp_proxy.port);
  // A connection without redirect answers as ever.
  env.policy({true, false, {entry(In, kIdB, IPPROTO_TCP, 81, 81)}});
  CHECK(env.to(tcp(kB, kA, 10, 81, kTcpSyn)) == TC_ACT_OK);
  CHECK(env.from(tcp(kA, kB, 81, 10, kTcpSyn | kTcpAck)) == TC_ACT_OK);
}

TEST_CASE("the proxy device passes only packets marked for the proxy, with a socket to go to") {
  axon::test::TestDatapath dp;
  Listener tcp_proxy(SOCK_STREAM);
  auto run_marked = [&](const std::vector<uint8_t>& p, uint32_t mark) {
    auto r = prog_test_run(dp->to_proxy(), p, 1, mark);
    REQUIRE(r.ok());
    return r->retval;
  };
  CHECK(run_marked(tcp(kB, kA, 1, 80, kTcpSyn), 0) == TC_ACT_SHOT);
  CHECK(run_marked(tcp(kB, kA, 1, 80, kTcpSyn), AXON_MARK_NODEPORT) == TC_ACT_SHOT);
  // Marked, listener there: the assignment is refused outside TC ingress (a
  // test run), so this too is a drop; in a node it is delivered (e2e).
  CHECK(run_marked(tcp(kB, kA, 1, 80, kTcpSyn),
                   AXON_MARK_PROXY | (uint32_t(tcp_proxy.port) << 16)) == TC_ACT_SHOT);
}

TEST_CASE("redirect at to-container without the proxy device: dropped, not passed") {
  Env env;  // proxy_ifindex 0
  Listener tcp_proxy(SOCK_STREAM);
  env.policy({true, false, {entry(In, kIdB, IPPROTO_TCP, 80, 80, PolicyAction::redirect, tcp_proxy.port)}});
  CHECK(env.to(tcp(kB, kA, 1, 80, kTcpSyn)) == TC_ACT_SHOT);
  CHECK(env.last_event().drop_reason == AXON_DROP_SOCKET_ASSIGN_FAILED);
}

TEST_CASE("redirect of a protocol without sockets: dropped, not passed") {
  Env env;
  env.policy({true, false, {entry(In, kIdB, IPPROTO_SCTP, 9, 9, PolicyAction::redirect, 15001)}});
  CHECK(env.to(frame().ipv4(kB, kA).sctp(1, 9).build()) == TC_ACT_SHOT);
  CHECK(env.last_event().drop_reason == AXON_DROP_PROXY_UNSUPPORTED_PROTO);
}

TEST_CASE("stats count packets per direction and reason") {
  Env env;
  env.policy({true, false, {}});
  CHECK(env.from(tcp(kA, kB, 1, 80, kTcpSyn)) == TC_ACT_OK);
  CHECK(env.to(tcp(kC, kA, 1, 80, kTcpSyn)) == TC_ACT_SHOT);
  auto st = env.dp->stats();
  REQUIRE(st.ok());
  CHECK(st->forwarded(AXON_DIR_EGRESS).packets == 1);
  CHECK(st->dropped(AXON_DIR_INGRESS, AXON_DROP_POLICY_DENIED).packets == 1);
  CHECK(st->dropped(AXON_DIR_INGRESS, AXON_DROP_POLICY_DENIED).bytes > 40);
  CHECK(st->events_lost == 0);
}

TEST_CASE("Services after a restart: tables are restored, not clobbered") {
  Env env;
  auto b1 = ip("10.244.9.1"), b2 = ip("10.244.9.2"), b3 = ip("10.244.9.3");
  REQUIRE(env.dp->services()
              .upsert({{ip("10.96.0.1"), 80, IPPROTO_TCP}, {{b1, 80}, {b2, 80}}, std::nullopt})
              .ok());
  REQUIRE(env.dp->services()
              .upsert({{ip("10.96.0.2"), 80, IPPROTO_TCP}, {{b2, 80}, {b1, 80}}, std::nullopt})
              .ok());
  auto dest = [&](Datapath& dp, const char* vip, uint16_t sport) {
    auto out = run(dp.from_container(), tcp(kA, vip, sport, 80, kTcpSyn));
    REQUIRE(out.retval == TC_ACT_OK);
    return view(out.packet_out).daddr;
  };
  // The VIP is part of the hash: record flows to each service.
  std::map<uint16_t, uint32_t> before, before2;
  for (uint16_t sp = 100; sp < 140; ++sp) before[sp] = dest(*env.dp, "10.96.0.1", sp);
  for (uint16_t sp = 100; sp < 140; ++sp) before2[sp] = dest(*env.dp, "10.96.0.2", sp);
  REQUIRE(env.dp->conntrack().flush().ok());
  // Pins of a layout without the VIP table (or a crash between writes):
  // packets to the VIPs are not translated until the table is restored.
  const std::string vips_pin = env.dp.pin_dir() + "/axon_lb4_vips_v1";
  axon::Fd vips(bpf_obj_get(vips_pin.c_str()));
  REQUIRE(vips.valid());
  auto vip_count = [&](const char* vip) -> int {
    uint32_t key = ip(vip).network_order(), count = 0;
    return bpf_map_lookup_elem(vips.get(), &key, &count) == 0 ? static_cast<int>(count) : -1;
  };
  CHECK(vip_count("10.96.0.1") == 1);
  for (const char* vip : {"10.96.0.1", "10.96.0.2"}) {
    uint32_t key = ip(vip).network_order();
    REQUIRE(bpf_map_delete_elem(vips.get(), &key) == 0);
  }
  CHECK(dest(*env.dp, "10.96.0.1", 100) == ip("10.96.0.1").addr);
  REQUIRE(env.dp->conntrack().flush().ok());

  DatapathConfig cfg;
  cfg.pin_dir = env.dp.pin_dir();
  auto second = Datapath::open(cfg);
  REQUIRE(second.ok());
  CHECK(second->services().size() == 2);
  // A new service with other backends gets a table of its own...
  REQUIRE(second->services()
              .upsert({{ip("10.96.0.3"), 80, IPPROTO_TCP}, {{b3, 80}}, std::nullopt})
              .ok());
  CHECK(dest(*second, "10.96.0.3", 100) == b3.addr);
  // ...and the old ones keep theirs: the same flows go to the same backends.
  for (auto [sp, d] : before) CHECK(dest(*second, "10.96.0.1", sp) == d);
  // Deleting one sharer keeps the shared table for the other.
  CHECK(vip_count("10.96.0.1") == 1);
  REQUIRE(second->services().erase({ip("10.96.0.1"), 80, IPPROTO_TCP}).ok());
  CHECK(vip_count("10.96.0.1") == -1);
  CHECK(vip_count("10.96.0.2") == 1);
  REQUIRE(second->conntrack().flush().ok());
  for (auto [sp, d] : before2) CHECK(dest(*second, "10.96.0.2", sp) == d);
}

TEST_CASE("ICMP errors about tracked connections pass as related, others meet policy") {
  Env env;
  env.policy({true, true, {entry(Eg, kIdB, IPPROTO_UDP, 53, 53)}});
  CHECK(env.from(udp(kA, kB, 5000, 53)) == TC_ACT_OK);
  // B answers "port unreachable", quoting A's datagram (IP header + 8 bytes).
  auto quoted = [](const char* s, const char* d, uint16_t sp, uint16_t dp) {
    auto inner = frame().ipv4(s, d).udp(sp, dp).payload("dns?").build();
    return std::string(inner.begin() + 14, inner.begin() + 14 + 28);
  };
  CHECK(env.to(frame().ipv4(kB, kA).icmp(3, 3).payload(quoted(kA, kB, 5000, 53)).build()) ==
        TC_ACT_OK);
  auto e = env.last_event();
  CHECK(e.trace_reason == AXON_TRACE_REASON_RELATED);
  CHECK(e.is_reply);
  // About a datagram A never sent: ingress default deny applies.
  CHECK(env.to(frame().ipv4(kB, kA).icmp(3, 3).payload(quoted(kA, kB, 5001, 53)).build()) ==
        TC_ACT_SHOT);
  CHECK(env.last_event().drop_reason == AXON_DROP_POLICY_DENIED);
  // A quote cut short is plain ICMP for policy.
  CHECK(env.to(frame().ipv4(kB, kA).icmp(3, 3).payload("short").build()) == TC_ACT_SHOT);

  // A's own errors about what it accepted leave through its enforced egress.
  env.policy({true, true, {entry(In, kIdC, IPPROTO_TCP, 80, 80)}});
  CHECK(env.to(tcp(kC, kA, 6000, 80, kTcpSyn)) == TC_ACT_OK);
  auto tq = frame().ipv4(kC, kA).tcp(6000, 80, kTcpSyn).build();
  std::string tcp_quote(tq.begin() + 14, tq.begin() + 14 + 28);
  CHECK(env.from(frame().ipv4(kA, kC).icmp(3, 1).payload(tcp_quote).build()) == TC_ACT_OK);
  CHECK(env.last_event().trace_reason == AXON_TRACE_REASON_RELATED);
}

TEST_CASE("an ICMP error about a Service connection is translated back to the VIP") {
  Env env;
  REQUIRE(env.dp->services()
              .upsert({{ip(kVip), 53, IPPROTO_UDP}, {{ip(kB), 5353}}, std::nullopt})
              .ok());
  auto sent = run(env.dp->from_container(), udp(kA, kVip, 5000, 53));
  REQUIRE(sent.retval == TC_ACT_OK);
  REQUIRE(view(sent.packet_out).daddr == ip(kB).addr);
  // The backend quotes the datagram as it received it (to B:5353).
  const std::string quote(sent.packet_out.begin() + 14, sent.packet_out.begin() + 14 + 28);
  auto out = run(env.dp->to_container(), frame().ipv4(kB, kA).icmp(3, 3).payload(quote).build());
  REQUIRE(out.retval == TC_ACT_OK);
  const auto& p = out.packet_out;
  CHECK(get32(p, 26) == ip(kVip).addr);       // outer source: the VIP
  CHECK(get32(p, 42 + 16) == ip(kVip).addr);  // quoted destination: VIP:53
  CHECK(get16(p, 42 + 22) == 53);
  CHECK(get16(p, 42 + 20) == 5000);  // the client's port stays
  uint32_t sum = 0;                  // every checksum still verifies: outer IP, ICMP, quoted IP
  for (size_t i = 14; i < 34; i += 2) sum += get16(p, i);
  CHECK(fold(sum) == 0xffff);
  sum = 0;
  for (size_t i = 34; i + 1 < p.size(); i += 2) sum += get16(p, i);
  if ((p.size() - 34) % 2) sum += static_cast<uint32_t>(p.back() << 8);
  CHECK(fold(sum) == 0xffff);
  sum = 0;
  for (size_t i = 42; i < 62; i += 2) sum += get16(p, i);
  CHECK(fold(sum) == 0xffff);
  auto e = env.last_event();
  CHECK(e.trace_reason == AXON_TRACE_REASON_RELATED);
  CHECK(e.src_identity == kIdB);  // the backend, before translation
  // An error from a router on the way keeps its own address.
  auto routed = run(env.dp->to_container(),
                    frame().ipv4("192.168.7.1", kA).icmp(3, 4).payload(quote).build());
  REQUIRE(routed.retval == TC_ACT_OK);
  CHECK(get32(routed.packet_out, 26) == ip("192.168.7.1").addr);
  CHECK(get32(routed.packet_out, 42 + 16) == ip(kVip).addr);
}

TEST_CASE("events: a full ring buffer counts lost events; readers get the rest") {
  DatapathConfig cfg;
  cfg.events_ring_bytes = 4096;  // one page: 51 events of 80 bytes with headers
  Env env(cfg);
  env.policy({true, true, {}});
  for (uint16_t i = 0; i < 100; ++i) CHECK(env.from(tcp(kA, kB, i, 80, kTcpSyn)) == TC_ACT_SHOT);
  auto st = env.dp->stats();
  REQUIRE(st.ok());
  auto got = drain(env.events);
  CHECK(got.size() + st->events_lost == 100);
  CHECK(st->events_lost >= 40);
  // Once drained, events flow again (none of them woke the reader: a batch
  // is 64 KiB; poll() takes them anyway).
  CHECK(env.from(tcp(kA, kB, 1000, 80, kTcpSyn)) == TC_ACT_SHOT);
  auto more = env.events.poll(std::chrono::milliseconds(10), nullptr);
  REQUIRE(more.ok());
  CHECK(*more == 1);
}
