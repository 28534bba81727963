// End-to-end differential test: generated policies -> libpolicy's engine ->
// the EndpointPolicy the agent writes -> the BPF programs in the kernel,
// whose verdict on crafted packets must equal `axon policy trace`'s
// (policy::trace, i.e. policy::evaluate of that direction).
//
// Each policy set (tests/policy/generator.h, shared with the policy
// property test) gets one local endpoint (a pod, ifindex 1 for
// BPF_PROG_TEST_RUN) and peers: pods (/32 in the ipcache), the reserved
// identities (host, remote-node, ... at /32s, some inside the policies'
// CIDRs) and outside addresses, which resolve to the CIDR identities of the
// prefixes the policies name (as the agent installs them) or to world.
// Egress packets go through from-container at the endpoint, ingress packets
// through to-container; each has a fresh source port (or ICMP id) and
// conntrack is flushed per set and before ICMP, so the verdict is always
// the policy lookup's.
//
// Compared per packet: passed (TC_ACT_OK) vs dropped (TC_ACT_SHOT); the
// drop reason (133 default deny vs 181 deny rule); redirected to the L7
// proxy (and its port) vs not; and the peer identity the kernel resolved vs
// the one the test gave to trace.
//
// AXON_TRACE_DIFF_SEED=<n> repeats a run; AXON_TRACE_DIFF_SETS=<n> changes
// the number of policy sets.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include "axon/policy/engine.h"
#include "axon/policy/evaluate.h"
#include "fixture.h"
#include "policy/generator.h"

namespace pol = axon::policy;
using namespace axon::datapath;
using axon::test::ip;
using axon::test::PacketBuilder;

namespace {

// What the agent writes into an endpoint's policy map for its compiled
// policy, with enable-policy=default (Agent::policy_write_locked): the
// compiled entries and Cilium's allow-localhost (pol::add_allow_localhost,
// which trace models too).
EndpointPolicy agent_endpoint_policy(const pol::CompiledPolicy* compiled) {
  EndpointPolicy p;
  if (compiled != nullptr) p = compiled->policy;
  pol::add_allow_localhost(p);
  return p;
}

// ---- Addresses and the ipcache as the test sets it up -----------------------

constexpr const char* kSelfAddr = "10.1.0.1";
constexpr uint32_t kEndpointId = 1;
constexpr uint32_t kIfindex = 1;  // what a test run's skb says

// Reserved identities at addresses of their own (a /32 each); the node's
// and the remote node's inside 192.168.0.0/16, a CIDR the policies name
// (CIDR rules never match nodes or pods: their /32 wins).
const std::vector<std::pair<std::string, uint32_t>> kReservedAddrs = {
    {"192.168.1.1", pol::reserved::host},       {"192.168.1.2", pol::reserved::remote_node},
    {"10.1.0.201", pol::reserved::unmanaged},   {"10.1.0.202", pol::reserved::health},
    {"10.1.0.203", pol::reserved::init},        {"172.20.0.1", pol::reserved::kube_apiserver},
    {"10.1.0.204", pol::reserved::ingress},
};

// Outside addresses: in 10/8 only, in 10.1/16, in 10.1.2/24 (an exception),
// in 192.168/16, and in no prefix but /0.
const std::vector<std::string> kOutsideAddrs = {"10.2.3.4", "10.1.9.9", "10.1.2.3", "192.168.7.8",
                                                "8.8.8.8"};

std::string pod_addr(size_t i) { return "10.1.0." + std::to_string(10 + i); }

bool cidr_contains(const Cidr& c, Ipv4 a) {
  const uint32_t mask = c.len == 0 ? 0 : ~uint32_t{0} << (32 - c.len);
  return (a.addr & mask) == (c.addr.addr & mask);
}

// Longest prefix, or world: what ipcache_identity() answers.
uint32_t resolve(const std::map<Cidr, uint32_t>& ipcache, Ipv4 a) {
  int best = -1;
  uint32_t id = pol::reserved::world;
  for (const auto& [c, identity] : ipcache) {
    if (cidr_contains(c, a) && c.len > best) best = c.len, id = identity;
  }
  return id;
}

// ---- What trace says ------------------------------------------------------

struct Expected {
  bool allowed = true;
  uint8_t drop_reason = 0;  // when denied: 181 (a deny rule) or 133 (default deny)
  bool redirected = false;
  uint16_t proxy_port = 0;
  bool localhost = false;  // allowed only by allow-localhost (trace says so too)
};

Expected expected_of(const pol::DirectionVerdict& v, uint32_t /*peer_identity*/,
                     const pol::CompileOptions& o) {
  Expected x;
  x.allowed = v.allowed;
  x.redirected = v.redirected;
  if (!v.allowed) {
    // Denied by deny elements (decided_by lists them) or by default deny.
    x.drop_reason = v.decided_by.empty() ? AXON_DROP_POLICY_DENIED : AXON_DROP_POLICY_DENY;
  }
  x.localhost = v.localhost;
  if (x.redirected) {
    // Matching L7 elements of several kinds: the datapath takes the
    // smallest proxy port among the redirects.
    uint16_t port = 0;
    for (const auto& r : v.rules) {
      for (const auto& e : r.elements) {
        if (!e.matched || e.deny || e.l7 == pol::L7Kind::none) continue;
        uint16_t p = o.proxy_port(e.l7, v.direction);
        if (port == 0 || p < port) port = p;
      }
    }
    x.proxy_port = port;
  }
  return x;
}

std::string describe_verdict(const pol::DirectionVerdict& v) {
  std::ostringstream os;
  os << (v.allowed ? "ALLOWED" : "DENIED") << (v.redirected ? " (redirected)" : "")
     << " selected=" << v.selected << " default-deny=" << v.enforced;
  for (const auto& o : v.decided_by) os << "\n      decided by " << pol::to_string(o);
  for (const auto& o : v.default_deny_by) os << "\n      default deny from " << pol::to_string(o);
  for (const auto& r : v.requirements) os << "\n      requirement " << r;
  return os.str();
}

std::string describe_entries(const EndpointPolicy& p) {
  std::ostringstream os;
  os << "ingress_enforced=" << p.ingress_enforced << " egress_enforced=" << p.egress_enforced
     << ", " << p.entries.size() << " entries\n";
  for (const auto& e : p.entries) {
    os << "    " << (e.direction == Direction::ingress ? "in " : "eg ") << "id=" << e.identity
       << " proto=" << int(e.protocol) << " ports=" << e.port_lo << "-" << e.port_hi << " "
       << (e.action == PolicyAction::allow  ? "allow"
           : e.action == PolicyAction::deny ? "deny"
                                            : "redirect:" + std::to_string(e.proxy_port))
       << "\n";
  }
  return os.str();
}

std::string describe_ports(const pol::NamedPorts& np) {
  std::string out;
  for (const auto& [name, p] : np) {
    out += (out.empty() ? "" : ", ") + name + "=" + std::to_string(p.port) + "/" +
           std::string(pol::protocol_name(p.protocol));
  }
  return out.empty() ? "none" : out;
}

uint32_t env_number(const char* name, uint32_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == 0) return fallback;
  return static_cast<uint32_t>(std::strtoul(v, nullptr, 10));
}

}  // namespace

TEST_CASE("policy trace differential: kernel verdicts on generated policies equal policy trace's") {
  const uint32_t seed = env_number("AXON_TRACE_DIFF_SEED", 20260301);
  const uint32_t sets = env_number("AXON_TRACE_DIFF_SETS", 300);
  constexpr int kPacketsPerSet = 48;
  MESSAGE("seed " << seed << " (repeat with AXON_TRACE_DIFF_SEED=" << seed << "), " << sets
                  << " policy sets");
  const auto started = std::chrono::steady_clock::now();

  axon::test::TestDatapath dp;
  auto reader = dp->open_events();
  REQUIRE(reader.ok());
  const pol::CompileOptions options;

  std::map<Cidr, uint32_t> ipcache;  // what the test put there
  auto ipcache_set = [&](const std::string& prefix, uint32_t id) {
    auto c = parse_cidr(prefix);
    REQUIRE(c.ok());
    REQUIRE(dp->ipcache().upsert(*c, id).ok());
    ipcache[*c] = id;
  };
  for (const auto& [addr, id] : kReservedAddrs) ipcache_set(addr, id);

  size_t cases = 0, mismatches = 0, allowed = 0, denied_default = 0, denied_rule = 0,
         redirected = 0, unselected = 0, open_but_denied = 0, localhost = 0, several = 0;
  std::set<uint32_t> peer_kinds;  // reserved ids, 256+ for pods, 1<<24 for CIDRs
  uint16_t next_sport = 10000;    // fresh tuples: no packet is a reply of another

  for (uint32_t set = 0; set < sets; ++set) {
    const uint32_t set_seed = seed + set;
    pol::test::Gen g(set_seed);
    pol::InMemoryIdentityAllocator alloc;
    pol::PolicyEngine engine(options, &alloc);

    // Pods: the first is the local endpoint; peers may share its identity.
    struct Pod {
      pol::Identity identity;
      pol::NamedPorts ports;
      std::string addr;
    };
    std::vector<Pod> pods;
    std::map<uint32_t, pol::NamedPorts> ports_of;
    const size_t npods = 4 + g.pick(4);
    for (size_t i = 0; i < npods; ++i) {
      auto id = alloc.allocate(pol::identity_labels(g.pod()));
      REQUIRE(id.ok());
      // One set of named ports per identity (the engine keeps them so).
      if (!ports_of.count(id->id)) ports_of[id->id] = g.named_ports();
      pods.push_back(Pod{*id, ports_of[id->id], i == 0 ? kSelfAddr : pod_addr(i)});
    }
    const Pod& self = pods[0];

    std::vector<pol::Policy> policies;
    const size_t npolicies = 1 + g.pick(5);
    for (size_t i = 0; i < npolicies; ++i) {
      policies.push_back(g.policy(static_cast<int>(i), &self.identity.labels));
      engine.upsert_policy(policies.back());
    }
    for (const auto& [id, ports] : ports_of) {
      engine.upsert_identity(*alloc.find(id));
      engine.set_named_ports(id, ports);
    }
    engine.upsert_endpoint(pol::Endpoint{kEndpointId, self.identity.id, self.ports});
    (void)engine.commit();
    const EndpointPolicy written = agent_endpoint_policy(engine.endpoint_policy(kEndpointId));

    // The datapath: the endpoint, its policy, the ipcache (pods' /32s and the
    // policies' prefixes with their node-local identities, as the agent's
    // policy_sync_cidrs_locked), and no connections.
    REQUIRE(dp->endpoints().record({kIfindex, ip(kSelfAddr), self.identity.id, kEndpointId}).ok());
    REQUIRE(dp->policy().replace(kEndpointId, written).ok());
    std::vector<std::string> set_prefixes;
    for (size_t i = 0; i < pods.size(); ++i) set_prefixes.push_back(pods[i].addr + "/32");
    for (size_t i = 0; i < pods.size(); ++i) ipcache_set(set_prefixes[i], pods[i].identity.id);
    for (const auto& prefix : engine.cidr_prefixes()) {
      auto id = alloc.find(pol::cidr_labels(prefix));
      REQUIRE(id.has_value());
      set_prefixes.push_back(pol::to_string(prefix));
      ipcache_set(set_prefixes.back(), id->id);
    }
    REQUIRE(dp->conntrack().flush().ok());

    // Peers: every address of this set.
    std::vector<std::string> addrs;
    for (size_t i = 1; i < pods.size(); ++i) addrs.push_back(pods[i].addr);
    for (const auto& [addr, id] : kReservedAddrs) addrs.push_back(addr);
    for (const auto& addr : kOutsideAddrs) addrs.push_back(addr);
    const pol::Peer subject{self.identity, self.ports};

    for (int k = 0; k < kPacketsPerSet; ++k) {
      const std::string& peer_addr = g.one(addrs);
      const pol::Flow flow = g.one(pol::test::kGeneratedFlows);
      const Direction dir = g.chance(0.5) ? Direction::ingress : Direction::egress;
      const bool in = dir == Direction::ingress;

      // The peer as trace sees it: the identity its address resolves to.
      const uint32_t peer_id = resolve(ipcache, ip(peer_addr));
      pol::Peer peer;
      if (pol::is_reserved(peer_id)) {
        peer.identity = pol::Identity{peer_id, pol::reserved_labels(peer_id)};
      } else {
        auto found = alloc.find(peer_id);
        REQUIRE(found.has_value());
        peer.identity = *found;
        if (auto it = ports_of.find(peer_id); it != ports_of.end()) peer.named_ports = it->second;
      }
      peer_kinds.insert(pol::is_reserved(peer_id)        ? peer_id
                        : pol::is_local_scope(peer_id) ? pol::kLocalScopeBit
                                                       : pol::kMinClusterIdentity);

      const pol::TraceResult t =
          in ? pol::trace(policies, peer, subject, flow) : pol::trace(policies, subject, peer, flow);
      const pol::DirectionVerdict& v = in ? t.ingress : t.egress;
      const Expected want = expected_of(v, peer_id, options);

      // The packet.
      const uint16_t sport = next_sport++;
      if (next_sport > 60000) next_sport = 10000;
      const char* src = in ? peer_addr.c_str() : kSelfAddr;
      const char* dst = in ? kSelfAddr : peer_addr.c_str();
      auto b = PacketBuilder().eth("02:00:00:00:00:01", "02:00:00:00:00:02").ipv4(src, dst);
      switch (flow.protocol) {
        case pol::Protocol::tcp:
          b.tcp(sport, flow.port, axon::test::kTcpSyn);
          break;
        case pol::Protocol::udp:
          b.udp(sport, flow.port);
          break;
        case pol::Protocol::sctp:
          b.sctp(sport, flow.port);
          break;
        case pol::Protocol::icmp:
          if (flow.port == 8) {
            b.icmp_echo(8, sport, 1);
          } else {
            b.icmp(static_cast<uint8_t>(flow.port), 0);
          }
          REQUIRE(dp->conntrack().flush().ok());
          break;
        default:
          FAIL("unexpected flow " << pol::to_string(flow));
      }
      auto run = axon::test::run(in ? dp->to_container() : dp->from_container(), b.build());
      std::vector<Event> evs = axon::test::drain(*reader);
      REQUIRE(evs.size() == 1);
      const Event& ev = evs.front();

      const bool got_allowed = run.retval == TC_ACT_OK;
      const uint32_t got_peer = in ? ev.src_identity : ev.dst_identity;
      // A redirect reaches the proxy step, whose socket assignment test runs
      // cannot do: dropped with that step's reason, naming the proxy port.
      const bool agree =
          (run.retval == TC_ACT_OK || run.retval == TC_ACT_SHOT) && got_peer == peer_id &&
          (want.redirected
               ? !got_allowed && ev.proxy_port == want.proxy_port &&
                     axon::test::proxy_step_drop(
                         ev.drop_reason, flow.protocol == pol::Protocol::tcp   ? IPPROTO_TCP
                                         : flow.protocol == pol::Protocol::udp ? IPPROTO_UDP
                                                                               : 0)
               : got_allowed == want.allowed &&
                     (want.allowed || ev.drop_reason == want.drop_reason) &&
                     ev.verdict != AXON_VERDICT_REDIRECTED);
      ++cases;
      allowed += want.allowed;
      redirected += want.redirected;
      denied_default += !want.allowed && want.drop_reason == AXON_DROP_POLICY_DENIED;
      denied_rule += !want.allowed && want.drop_reason == AXON_DROP_POLICY_DENY;
      unselected += !v.selected;
      open_but_denied += v.selected && !v.enforced && !v.allowed;
      localhost += want.localhost;
      several += std::count_if(v.rules.begin(), v.rules.end(),
                               [](const pol::RuleTrace& r) { return r.selected; }) >= 2;
      if (agree) continue;
      if (++mismatches > 5) continue;
      std::ostringstream os;
      os << "MISMATCH (seed " << seed << ", set " << set << " = generator seed " << set_seed
         << ", packet " << k << ")\n"
         << "  " << (in ? "ingress at the endpoint (to-container)" : "egress at the endpoint (from-container)")
         << ": " << src << ":" << sport << " -> " << dst << " " << pol::to_string(flow) << "\n"
         << "  endpoint: identity " << self.identity.id << " [" << pol::to_string(self.identity.labels)
         << "], named ports " << describe_ports(self.ports) << "\n"
         << "  peer " << peer_addr << ": identity " << peer_id << " ["
         << pol::to_string(peer.identity.labels) << "], named ports "
         << describe_ports(peer.named_ports) << "\n"
         << "  trace: " << describe_verdict(v) << "\n"
         << "  expected: " << (want.allowed ? "pass" : "drop " + std::to_string(want.drop_reason))
         << (want.redirected ? " redirected to " + std::to_string(want.proxy_port) : "") << "\n"
         << "  kernel: retval " << run.retval << ", drop reason " << int(ev.drop_reason)
         << ", verdict " << int(ev.verdict) << ", proxy port " << ev.proxy_port
         << ", match type " << int(ev.match_type) << ", peer identity " << got_peer << "\n"
         << "  policy map written: " << describe_entries(written) << "policies:\n"
         << pol::test::dump(policies);
      FAIL_CHECK(os.str());
    }

    // This set's pods and prefixes leave the ipcache.
    for (const auto& prefix : set_prefixes) {
      auto c = parse_cidr(prefix);
      REQUIRE(c.ok());
      REQUIRE(dp->ipcache().erase(*c).ok());
      ipcache.erase(*c);
    }
  }
  REQUIRE(dp->policy().erase(kEndpointId).ok());

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  MESSAGE(cases << " cases in " << seconds << " s: " << allowed << " allowed (" << redirected
                << " through the proxy), " << denied_default << " denied by default deny, "
                << denied_rule << " denied by a deny rule (" << open_but_denied
                << " without default deny), " << unselected << " with no policy selecting, "
                << several << " with several; "
                << localhost
                << " allowed by allow-localhost (trace and kernel alike); "
                << mismatches << " mismatches");
  CHECK(mismatches == 0);
  CHECK(cases >= 10000);
  // The generated cases must exercise every outcome and kind of peer.
  CHECK(allowed > cases / 10);
  CHECK(denied_default > cases / 20);
  CHECK(denied_rule > cases / 50);
  CHECK(redirected > 0);
  CHECK(unselected > 0);
  CHECK(open_but_denied > 0);
  CHECK(several > cases / 4);
  // Peers: pods, the 7 reserved identities at /32s, world, CIDR identities.
  CHECK(peer_kinds.size() == kReservedAddrs.size() + 3);
  CHECK(peer_kinds.count(pol::reserved::world) == 1);
  CHECK(peer_kinds.count(pol::kLocalScopeBit) == 1);
}
