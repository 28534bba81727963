#include "axon/datapath/policy_map.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "axon/base/fd.h"
#include "epoch.h"

namespace axon::datapath {
namespace {

// Protocols whose packets have a "port" for policy: TCP/UDP/SCTP destination
// port, ICMP type.
constexpr uint8_t kPortProtocols[] = {IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP};

bool has_port_semantics(uint8_t proto) {
  return std::find(std::begin(kPortProtocols), std::end(kPortProtocols), proto) !=
         std::end(kPortProtocols);
}

bool any_port(const PolicyEntry& e) {
  return e.port_lo == 0 && e.port_hi == 0;
}

// Inclusive port range of an entry with ports; hi < lo means the single port lo.
uint32_t range_hi(const PolicyEntry& e) {
  return e.port_hi < e.port_lo ? e.port_lo : e.port_hi;
}

// Specificity of a match type, most specific first.
int rank(uint8_t match_type) {
  switch (match_type) {
    case AXON_MATCH_L3_L4:
      return 0;
    case AXON_MATCH_L3_PROTO:
      return 1;
    case AXON_MATCH_L3_ONLY:
      return 2;
    case AXON_MATCH_L4_ONLY:
      return 3;
    case AXON_MATCH_PROTO_ONLY:
      return 4;
    default:
      return 5;
  }
}

struct Verdict {
  bool matched = false;
  axon_policy_value value{};
  bool operator==(const Verdict& o) const {
    return matched == o.matched && (!matched || (value.verdict == o.value.verdict &&
                                                 value.match_type == o.value.match_type &&
                                                 value.proxy_port == o.value.proxy_port));
  }
};

struct ClassBest {
  bool found = false;
  uint8_t match_type = AXON_MATCH_ALL;  // the most specific among the class
  uint16_t proxy_port = 0;              // the smallest among the class
};

ClassBest best_of(const std::vector<const PolicyEntry*>& matched, PolicyAction action) {
  ClassBest b;
  for (const auto* e : matched) {
    if (e->action != action) continue;
    uint8_t mt = match_type_of(*e);
    if (!b.found || rank(mt) < rank(b.match_type)) b.match_type = mt;
    if (!b.found || e->proxy_port < b.proxy_port) b.proxy_port = e->proxy_port;
    b.found = true;
  }
  return b;
}

// Deny beats redirect beats allow; see policy_map.h.
Verdict combine(const std::vector<const PolicyEntry*>& matched) {
  Verdict v;
  if (matched.empty()) return v;
  v.matched = true;
  if (auto deny = best_of(matched, PolicyAction::deny); deny.found) {
    v.value.verdict = AXON_POLICY_DENY;
    v.value.match_type = deny.match_type;
  } else if (auto redirect = best_of(matched, PolicyAction::redirect); redirect.found) {
    v.value.verdict = AXON_POLICY_REDIRECT;
    v.value.match_type = redirect.match_type;
    v.value.proxy_port = redirect.proxy_port;
  } else {
    v.value.verdict = AXON_POLICY_ALLOW;
    v.value.match_type = best_of(matched, PolicyAction::allow).match_type;
  }
  return v;
}

axon_policy_key make_key(uint32_t prefixlen, uint32_t identity, uint8_t dir, uint8_t proto,
                         uint16_t port) {
  axon_policy_key k{};
  k.prefixlen = prefixlen;
  k.identity = identity;
  k.direction = dir;
  k.protocol = proto;
  k.dport = htons(port);
  return k;
}

// Entries for one key identity K (its own entries plus the wildcard ones).
void encode_identity(uint32_t identity, uint8_t dir, const std::vector<const PolicyEntry*>& rel,
                      std::vector<PolicyTrieEntry>& out) {
  // Any protocol, any port.
  std::vector<const PolicyEntry*> any;
  for (const auto* e : rel) {
    if (e->protocol == 0 && any_port(*e)) any.push_back(e);
  }
  if (auto v = combine(any); v.matched) {
    out.push_back({make_key(AXON_POLICY_PREFIX_ANY_PROTO, identity, dir, 0, 0), v.value});
  }
  // Protocols without ports: only any-port entries can match them.
  std::set<uint8_t> portless;
  for (const auto* e : rel) {
    if (e->protocol != 0 && !has_port_semantics(e->protocol) && any_port(*e)) {
      portless.insert(e->protocol);
    }
  }
  for (uint8_t proto : portless) {
    auto matched = any;
    for (const auto* e : rel) {
      if (e->protocol == proto && any_port(*e)) matched.push_back(e);
    }
    out.push_back(
        {make_key(AXON_POLICY_PREFIX_ANY_PORT, identity, dir, proto, 0), combine(matched).value});
  }
  // Protocols with ports: split the port space where the matching set
  // changes and write each run of equal verdicts as bit prefixes.
  for (uint8_t proto : kPortProtocols) {
    std::vector<const PolicyEntry*> cand;
    bool needed = false;
    for (const auto* e : rel) {
      if (e->protocol != 0 && e->protocol != proto) continue;
      cand.push_back(e);
      if (e->protocol == proto || !any_port(*e)) needed = true;
    }
    if (!needed) continue;  // the any-protocol entry already answers
    std::set<uint32_t> cuts = {0, 65536};
    for (const auto* e : cand) {
      if (any_port(*e)) continue;
      cuts.insert(e->port_lo);
      cuts.insert(range_hi(*e) + 1);
    }
    std::vector<uint32_t> points(cuts.begin(), cuts.end());
    std::vector<std::pair<uint32_t, Verdict>> runs;  // start of run, verdict
    for (size_t i = 0; i + 1 < points.size(); ++i) {
      uint32_t at = points[i];
      std::vector<const PolicyEntry*> matched;
      for (const auto* e : cand) {
        if (any_port(*e) || (e->port_lo <= at && at <= range_hi(*e))) matched.push_back(e);
      }
      Verdict v = combine(matched);
      if (runs.empty() || !(runs.back().second == v)) runs.emplace_back(at, v);
    }
    for (size_t i = 0; i < runs.size(); ++i) {
      if (!runs[i].second.matched) continue;
      uint32_t lo = runs[i].first;
      uint32_t end = i + 1 < runs.size() ? runs[i + 1].first : 65536;  // exclusive
      while (lo < end) {
        uint32_t size = 1;
        int bits = 0;
        while (bits < 16 && lo % (size * 2) == 0 && lo + size * 2 <= end) {
          size *= 2;
          ++bits;
        }
        out.push_back({make_key(AXON_POLICY_PREFIX_ANY_PORT + (16 - bits), identity, dir, proto,
                                static_cast<uint16_t>(lo)),
                       runs[i].second.value});
        lo += size;
      }
    }
  }
}

}  // namespace

uint8_t match_type_of(const PolicyEntry& e) {
  const bool l3 = e.identity != 0;
  const bool port = !any_port(e);
  const bool proto = e.protocol != 0;
  if (l3 && port) return AXON_MATCH_L3_L4;
  if (l3 && proto) return AXON_MATCH_L3_PROTO;
  if (l3) return AXON_MATCH_L3_ONLY;
  if (port) return AXON_MATCH_L4_ONLY;
  if (proto) return AXON_MATCH_PROTO_ONLY;
  return AXON_MATCH_ALL;
}

std::vector<PolicyTrieEntry> encode_policy_trie(const EndpointPolicy& policy) {
  std::vector<PolicyTrieEntry> out;
  for (Direction d : {Direction::ingress, Direction::egress}) {
    const uint8_t dir = d == Direction::ingress ? AXON_DIR_INGRESS : AXON_DIR_EGRESS;
    const bool enforced =
        d == Direction::ingress ? policy.ingress_enforced : policy.egress_enforced;
    // Not in default deny: allows change nothing, but deny entries still
    // drop and L7 redirects still redirect (semantics §1.3-1.4: a deny is
    // enforced whether or not its direction is in default deny); what no
    // entry matches falls through to the (0, dir)/40 UNENFORCED entry.
    auto counts = [&](const PolicyEntry& e) {
      return e.direction == d && (enforced || e.action != PolicyAction::allow);
    };
    const size_t first = out.size();
    std::vector<const PolicyEntry*> wildcard;
    std::set<uint32_t> identities;
    for (const auto& e : policy.entries) {
      if (!counts(e)) continue;
      if (e.identity == 0) {
        wildcard.push_back(&e);
      } else {
        identities.insert(e.identity);
      }
    }
    encode_identity(0, dir, wildcard, out);
    for (uint32_t id : identities) {
      auto rel = wildcard;
      for (const auto& e : policy.entries) {
        if (counts(e) && e.identity == id) rel.push_back(&e);
      }
      encode_identity(id, dir, rel, out);
    }
    if (!enforced) {
      const axon_policy_key any = make_key(AXON_POLICY_PREFIX_ANY_PROTO, 0, dir, 0, 0);
      bool covered = false;  // a deny (or redirect) of everything from anyone
      for (size_t i = first; i < out.size(); ++i)
        covered = covered || std::memcmp(&out[i].key, &any, sizeof any) == 0;
      if (!covered) {
        axon_policy_value v{};
        v.verdict = AXON_POLICY_UNENFORCED;
        v.match_type = AXON_MATCH_NONE;
        out.push_back({any, v});
      }
    }
  }
  return out;
}

Status PolicyMaps::replace(uint32_t endpoint_id, const EndpointPolicy& policy) {
  const auto entries = encode_policy_trie(policy);
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
  const std::string name = "axon_pol_" + std::to_string(endpoint_id % 1000000);
  Fd inner(bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, name.c_str(), sizeof(axon_policy_key),
                          sizeof(axon_policy_value),
                          static_cast<uint32_t>(std::max<size_t>(entries.size(), 1)), &opts));
  if (!inner.valid()) {
    return sys_error("create policy map of endpoint " + std::to_string(endpoint_id));
  }
  for (const auto& e : entries) {
    if (bpf_map_update_elem(inner.get(), &e.key, &e.value, BPF_ANY) != 0) {
      return sys_error("write policy map of endpoint " + std::to_string(endpoint_id));
    }
  }
  const int fd = inner.get();
  if (bpf_map__update_elem(outer_, &endpoint_id, sizeof(endpoint_id), &fd, sizeof(fd), BPF_ANY) !=
      0) {
    return sys_error("install policy of endpoint " + std::to_string(endpoint_id));
  }
  return bump_policy_epoch(epoch_);
}

Status PolicyMaps::erase(uint32_t endpoint_id) {
  if (bpf_map__delete_elem(outer_, &endpoint_id, sizeof(endpoint_id), 0) != 0 && errno != ENOENT) {
    return sys_error("remove policy of endpoint " + std::to_string(endpoint_id));
  }
  return bump_policy_epoch(epoch_);
}

}  // namespace axon::datapath
