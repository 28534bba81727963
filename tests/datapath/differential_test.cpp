// Differential test: a plain C++ reference evaluator of the policy semantics
// of policy_entry.h (as made precise in policy_map.h) against the BPF
// programs in the kernel, on thousands of random (policy, packet) cases.
// Any disagreement fails the test and prints the case.
#include <doctest/doctest.h>

#include <random>
#include <sstream>

#include "fixture.h"

using namespace axon::datapath;
using axon::test::ip;
using axon::test::PacketBuilder;

namespace {

// ---- The reference: a direct reading of the semantics, one entry at a time.
struct Expected {
  bool allowed = true;
  uint8_t drop_reason = 0;
  uint8_t match_type = AXON_MATCH_NONE;
  bool redirected = false;
  uint16_t proxy_port = 0;
};

struct Packet {
  Direction direction;
  uint32_t peer_identity;
  uint8_t protocol;
  uint16_t port;  // TCP/UDP/SCTP destination port, ICMP type
};

bool packet_has_port(uint8_t proto) {
  return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP ||
         proto == IPPROTO_ICMP;
}

bool matches(const PolicyEntry& e, const Packet& p) {
  if (e.direction != p.direction) return false;
  if (e.identity != 0 && e.identity != p.peer_identity) return false;
  if (e.protocol != 0 && e.protocol != p.protocol) return false;
  if (e.port_lo == 0 && e.port_hi == 0) return true;
  if (!packet_has_port(p.protocol)) return false;
  const uint16_t hi = e.port_hi < e.port_lo ? e.port_lo : e.port_hi;
  return e.port_lo <= p.port && p.port <= hi;
}

uint8_t reference_match_type(const PolicyEntry& e) {
  const bool l3 = e.identity != 0, l4 = !(e.port_lo == 0 && e.port_hi == 0),
             proto = e.protocol != 0;
  if (l3) return l4 ? AXON_MATCH_L3_L4 : proto ? AXON_MATCH_L3_PROTO : AXON_MATCH_L3_ONLY;
  return l4 ? AXON_MATCH_L4_ONLY : proto ? AXON_MATCH_PROTO_ONLY : AXON_MATCH_ALL;
}

int specificity(uint8_t mt) {
  const uint8_t order[] = {AXON_MATCH_L3_L4,   AXON_MATCH_L3_PROTO,   AXON_MATCH_L3_ONLY,
                           AXON_MATCH_L4_ONLY, AXON_MATCH_PROTO_ONLY, AXON_MATCH_ALL};
  for (int i = 0; i < 6; ++i) {
    if (order[i] == mt) return i;
  }
  return 6;
}

Expected reference(const EndpointPolicy* policy, const Packet& p) {
  Expected x;
  if (policy == nullptr) return x;  // no policy selects the endpoint
  const bool enforced =
      p.direction == Direction::ingress ? policy->ingress_enforced : policy->egress_enforced;
  const PolicyEntry *deny = nullptr, *redirect = nullptr, *allow = nullptr;
  uint16_t min_proxy = 0;
  auto more_specific = [](const PolicyEntry* best, const PolicyEntry& e) {
    return best == nullptr ||
           specificity(reference_match_type(e)) < specificity(reference_match_type(*best));
  };
  for (const auto& e : policy->entries) {
    if (!matches(e, p)) continue;
    if (e.action == PolicyAction::deny) {
      if (more_specific(deny, e)) deny = &e;
    } else if (e.action == PolicyAction::redirect) {
      if (redirect == nullptr || e.proxy_port < min_proxy) min_proxy = e.proxy_port;
      if (more_specific(redirect, e)) redirect = &e;
    } else if (more_specific(allow, e)) {
      allow = &e;
    }
  }
  if (deny != nullptr) {
    return {false, AXON_DROP_POLICY_DENY, reference_match_type(*deny), false, 0};
  }
  if (redirect != nullptr) {
    return {true, 0, reference_match_type(*redirect), true, min_proxy};
  }
  // Not in default deny: denies and redirects above still apply; the rest passes.
  if (!enforced) return x;
  if (allow != nullptr) return {true, 0, reference_match_type(*allow), false, 0};
  return {false, AXON_DROP_POLICY_DENIED, AXON_MATCH_NONE, false, 0};
}

// ---- Random cases, drawn so that entries overlap often.
constexpr uint32_t kSelf = 1000;
const std::vector<uint32_t> kPeers = {2000, 2001, 2002, 2003, AXON_IDENTITY_WORLD};
const std::vector<uint8_t> kProtos = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_SCTP, 47};

std::string peer_addr(uint32_t identity) {
  return identity == AXON_IDENTITY_WORLD ? "8.8.8.8" : "10.1.0." + std::to_string(identity - 1990);
}

uint16_t random_port(std::mt19937& rng) {
  std::uniform_int_distribution<int> pick(0, 9);
  int k = pick(rng);
  if (k < 7) return static_cast<uint16_t>(std::uniform_int_distribution<int>(1, 40)(rng));
  if (k < 9) return static_cast<uint16_t>(std::uniform_int_distribution<int>(1, 65535)(rng));
  return static_cast<uint16_t>(k == 9 ? 65535 : 1);
}

PolicyEntry random_entry(std::mt19937& rng) {
  auto coin = [&](double p) { return std::bernoulli_distribution(p)(rng); };
  PolicyEntry e;
  e.direction = coin(0.5) ? Direction::ingress : Direction::egress;
  e.identity = coin(0.35) ? 0 : kPeers[rng() % kPeers.size()];
  e.protocol = coin(0.3) ? 0 : kProtos[rng() % kProtos.size()];
  if (coin(0.3)) {
    e.port_lo = e.port_hi = 0;
  } else {
    e.port_lo = random_port(rng);
    int shape = static_cast<int>(rng() % 4);
    if (shape == 0) {
      e.port_hi = e.port_lo;  // single port
    } else if (shape == 1) {
      e.port_hi = 0;  // single port written as lo only
    } else {
      e.port_hi =
          static_cast<uint16_t>(std::min<int>(65535, e.port_lo + static_cast<int>(rng() % 30)));
    }
    if (e.port_lo == 0) e.port_lo = 1;
  }
  double a = std::uniform_real_distribution<double>(0, 1)(rng);
  e.action = a < 0.6 ? PolicyAction::allow : a < 0.85 ? PolicyAction::deny : PolicyAction::redirect;
  if (e.action == PolicyAction::redirect) e.proxy_port = static_cast<uint16_t>(10000 + rng() % 4);
  return e;
}

std::string describe(const EndpointPolicy* pol, const Packet& p) {
  std::ostringstream os;
  os << "packet: dir=" << (p.direction == Direction::ingress ? "in" : "eg")
     << " peer=" << p.peer_identity << " proto=" << int(p.protocol) << " port=" << p.port << "\n";
  if (pol == nullptr) return os.str() + "no policy\n";
  os << "policy: ingress_enforced=" << pol->ingress_enforced
     << " egress_enforced=" << pol->egress_enforced << "\n";
  for (const auto& e : pol->entries) {
    os << "  " << (e.direction == Direction::ingress ? "in" : "eg") << " id=" << e.identity
       << " proto=" << int(e.protocol) << " ports=" << e.port_lo << "-" << e.port_hi
       << " action=" << int(e.action) << " proxy=" << e.proxy_port << "\n";
  }
  return os.str();
}

}  // namespace

TEST_CASE("differential: BPF policy verdicts equal the reference evaluator's") {
  axon::test::TestDatapath dp;
  auto reader = dp->open_events();
  REQUIRE(reader.ok());
  const char* self_addr = "10.1.0.1";
  REQUIRE(dp->endpoints().record({1, ip(self_addr), kSelf, 1}).ok());
  for (uint32_t id : kPeers) {
    if (id != AXON_IDENTITY_WORLD) REQUIRE(dp->ipcache().upsert({ip(peer_addr(id)), 32}, id).ok());
  }

  std::mt19937 rng(20261127);
  constexpr int kPolicies = 400, kPacketsPerPolicy = 40;
  int cases = 0, disagreements = 0;
  uint16_t next_sport = 10000;  // unique tuples: no packet is a reply of another
  for (int pi = 0; pi < kPolicies; ++pi) {
    std::optional<EndpointPolicy> policy;
    if (pi % 25 != 0) {  // now and then: no policy at all
      policy.emplace();
      // Every combination of default deny per direction, equally often;
      // a third of the policies deny-only (egressDeny/ingressDeny alone),
      // and some with no entries at all (empty sections).
      policy->ingress_enforced = pi % 4 == 1 || pi % 4 == 3;
      policy->egress_enforced = pi % 4 == 2 || pi % 4 == 3;
      const bool deny_only = rng() % 3 == 0;
      const int n = static_cast<int>(rng() % 12);
      for (int i = 0; i < n; ++i) {
        PolicyEntry e = random_entry(rng);
        if (deny_only) e.action = PolicyAction::deny, e.proxy_port = 0;
        policy->entries.push_back(e);
      }
      REQUIRE(dp->policy().replace(1, *policy).ok());
    } else {
      REQUIRE(dp->policy().erase(1).ok());
    }
    for (int k = 0; k < kPacketsPerPolicy; ++k) {
      Packet p;
      p.direction = rng() % 2 ? Direction::ingress : Direction::egress;
      p.peer_identity = kPeers[rng() % kPeers.size()];
      p.protocol = kProtos[rng() % kProtos.size()];
      p.port = random_port(rng);
      if (p.protocol == IPPROTO_ICMP) p.port = static_cast<uint16_t>(rng() % 20);
      const std::string peer = peer_addr(p.peer_identity);
      const bool in = p.direction == Direction::ingress;
      const char* src = in ? peer.c_str() : self_addr;
      const char* dst = in ? self_addr : peer.c_str();
      const uint16_t sport = next_sport++;
      if (next_sport > 60000) next_sport = 10000;
      auto b = PacketBuilder().eth("02:00:00:00:00:01", "02:00:00:00:00:02").ipv4(src, dst);
      switch (p.protocol) {
        case IPPROTO_TCP:
          b.tcp(sport, p.port, axon::test::kTcpSyn);
          break;
        case IPPROTO_UDP:
          b.udp(sport, p.port);
          break;
        case IPPROTO_SCTP:
          b.sctp(sport, p.port);
          break;
        case IPPROTO_ICMP:
          if (p.port == 8 || p.port == 0) {
            b.icmp_echo(static_cast<uint8_t>(p.port), sport, 1);
          } else {
            b.icmp(static_cast<uint8_t>(p.port), 0);
          }
          break;
        default:
          b.ip_protocol(p.protocol).payload("raw");
          break;
      }
      // Fresh conntrack for each packet: the verdict is policy's alone.
      if (p.protocol == IPPROTO_ICMP || p.protocol == 47) REQUIRE(dp->conntrack().flush().ok());
      auto run = axon::test::run(in ? dp->to_container() : dp->from_container(), b.build());
      std::vector<Event> evs = axon::test::drain(*reader);
      REQUIRE(evs.size() == 1);
      const Event& ev = evs.front();
      const Expected want = reference(policy ? &*policy : nullptr, p);
      const bool got_allowed = run.retval == TC_ACT_OK;
      // A redirect is handed to the proxy's socket, which test runs cannot
      // assign (TC ingress only): the kernel drops it with the proxy step's
      // reason, naming the port (axon::test::proxy_step_drop).
      const bool agree =
          want.redirected
              ? !got_allowed && axon::test::proxy_step_drop(ev.drop_reason, p.protocol) &&
                    ev.match_type == want.match_type && ev.proxy_port == want.proxy_port
              : got_allowed == want.allowed &&
                    (want.allowed || ev.drop_reason == want.drop_reason) &&
                    ev.match_type == want.match_type && ev.verdict != AXON_VERDICT_REDIRECTED;
      ++cases;
      if (!agree) {
        ++disagreements;
        if (disagreements <= 5) {
          MESSAGE("disagreement:\n"
                  << describe(policy ? &*policy : nullptr, p)
                  << "reference: allowed=" << want.allowed << " reason=" << int(want.drop_reason)
                  << " match=" << int(want.match_type) << " redirect=" << want.redirected << "/"
                  << want.proxy_port << "\nbpf: allowed=" << got_allowed
                  << " reason=" << int(ev.drop_reason) << " match=" << int(ev.match_type)
                  << " verdict=" << int(ev.verdict) << " proxy=" << ev.proxy_port);
        }
      }
    }
  }
  MESSAGE(cases << " cases, " << disagreements << " disagreements");
  CHECK(cases == kPolicies * kPacketsPerPolicy);
  CHECK(disagreements == 0);
}
