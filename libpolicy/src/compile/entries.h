// What the engine builds entries with: a rule element's ports as policy
// map ranges, the entry one element gives one peer, and the merge of the
// entries rules produce into unique keys with the datapath's precedence.
// Nothing here knows identities or selectors: the engine decides which
// peers an element selects.
#pragma once

#include <cstdint>
#include <map>
#include <tuple>
#include <utility>
#include <vector>

#include "axon/abi/policy_entry.h"
#include "axon/policy/compiler.h"
#include "axon/policy/model.h"

namespace axon::policy::internal {

// A port range of one protocol (0: all), and the L7 rules on it.
struct PortSpec {
  uint8_t protocol = 0;
  uint16_t lo = 0;
  uint16_t hi = 0;
  L7Kind l7 = L7Kind::none;
};

// A named port as the ranges it stands for in `named` (the ports of the
// destination); none when the name is unknown there or has another
// protocol.
void resolve_named(const PortProtocol& p, L7Kind l7, const NamedPorts& named,
                   std::vector<PortSpec>& out);

// Ports of an element that need no name resolution, plus the named ones.
struct ElementPorts {
  std::vector<PortSpec> fixed;
  std::vector<std::pair<const PortProtocol*, L7Kind>> named;
};

ElementPorts element_ports(const PeerRule& el);

// The entry an element (of a deny section or not) gives one peer on one
// range: deny; redirect to the proxy of its L7 kind; or allow.
inline datapath::PolicyEntry make_entry(Direction direction, bool deny, uint32_t peer,
                                        const PortSpec& spec, const CompileOptions& options) {
  datapath::PolicyEntry e;
  e.direction = direction;
  e.identity = peer;
  e.protocol = spec.protocol;
  e.port_lo = spec.lo;
  e.port_hi = spec.hi;
  if (deny) {
    e.action = datapath::PolicyAction::deny;
  } else if (spec.l7 == L7Kind::none) {
    e.action = datapath::PolicyAction::allow;
  } else {
    e.action = datapath::PolicyAction::redirect;
    e.proxy_port = options.proxy_port(spec.l7, direction);
  }
  return e;
}

// The datapath's precedence (policy_map.h): deny, then redirect, then allow.
inline int action_rank(datapath::PolicyAction a) {
  switch (a) {
    case datapath::PolicyAction::deny:
      return 0;
    case datapath::PolicyAction::redirect:
      return 1;
    case datapath::PolicyAction::allow:
      return 2;
  }
  return 3;
}

inline auto entry_key(const datapath::PolicyEntry& e) {
  return std::make_tuple(e.direction, e.identity, e.protocol, e.port_lo, e.port_hi);
}

// An entry as a rule produced it, with its sort key packed into two words:
// (direction, identity) then (protocol, port_lo, port_hi, action rank,
// proxy port). Sorting on them orders entries by key, deny first.
struct RawEntry {
  datapath::PolicyEntry entry;
  uint32_t origin = 0;
  uint64_t k1 = 0;
  uint64_t k2 = 0;

  RawEntry(const datapath::PolicyEntry& e, uint32_t o) : entry(e), origin(o) {
    k1 = (static_cast<uint64_t>(e.direction) << 32) | e.identity;
    k2 = (static_cast<uint64_t>(e.protocol) << 52) | (static_cast<uint64_t>(e.port_lo) << 36) |
         (static_cast<uint64_t>(e.port_hi) << 20) |
         (static_cast<uint64_t>(action_rank(e.action)) << 16) | e.proxy_port;
  }
  // The key part of k2 (without action and proxy port).
  uint64_t key2() const { return k2 >> 20; }
};

// The origin sets of one compiled policy (CompiledPolicy::origin_sets),
// interned: entries with the same origins share one set.
struct OriginSetIndex {
  std::map<std::vector<uint32_t>, uint32_t> by_set;
  std::vector<uint32_t> single;  // origin -> its one-origin set (+1; 0: none yet)

  void clear() {
    by_set.clear();
    single.clear();
  }
};

// Merges raw entries (sorted here) into unique keys, the datapath's
// precedence choosing each key's entry; appends them to `entries` and their
// origin sets (interned into `sets`) to `provenance`.
void merge_entries(std::vector<RawEntry>& raw, OriginSetIndex& index,
                   std::vector<std::vector<uint32_t>>& sets,
                   std::vector<datapath::PolicyEntry>& entries, std::vector<uint32_t>& provenance);

}  // namespace axon::policy::internal
