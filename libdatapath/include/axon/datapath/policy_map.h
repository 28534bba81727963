// An endpoint's policy in the datapath: the data-only PolicyEntry list
// (axon/abi/policy_entry.h: what libpolicy's compiler produces) encoded into
// one LPM trie per endpoint (layout and lookup: axon_policy_key
// in axon/abi/policy.h), swapped in atomically.
//
// What an encoded trie answers, for a packet (peer identity, direction,
// protocol, port) -- the semantics of policy_entry.h, made precise:
// - A packet "has a port" when it is TCP, UDP or SCTP (its destination port)
//   or ICMP (its type). An entry with a port range matches only packets that
//   have a port inside it; port_lo = port_hi = 0 matches any packet; a
//   port_hi below port_lo means the single port port_lo.
// - In a direction that is not enforced the entries of that direction are
//   not consulted: everything passes (as policy_entry.h says).
// - Among the matching entries: any deny -> denied (drop 181); else any
//   redirect -> redirected to the smallest proxy_port among them; else any
//   allow -> allowed; none -> denied by default (drop 133).
// - The reported match type is that of the most specific deciding entry:
//   L3-L4 > L3-proto > L3-only > L4-only > proto-only > all.
#pragma once

#include <cstdint>
#include <vector>

#include "axon/abi/policy.h"
#include "axon/abi/policy_entry.h"
#include "axon/base/result.h"

struct bpf_map;

namespace axon::datapath {

// One key/value of an endpoint's trie.
struct PolicyTrieEntry {
  axon_policy_key key;
  axon_policy_value value;
};

// The trie entries for `policy` (pure: no kernel involved).
std::vector<PolicyTrieEntry> encode_policy_trie(const EndpointPolicy& policy);

// The match type (enum axon_match_type) a single entry reports.
uint8_t match_type_of(const PolicyEntry& entry);

class PolicyMaps {
 public:
  PolicyMaps(bpf_map* outer, bpf_map* epoch) : outer_(outer), epoch_(epoch) {}

  // Encodes `policy` into a new trie and swaps it in for the endpoint in
  // one map update: packets see the old policy or the new one, never a mix.
  Status replace(uint32_t endpoint_id, const EndpointPolicy& policy);
  // Back to "no policy selects this endpoint" (everything allowed).
  Status erase(uint32_t endpoint_id);

 private:
  bpf_map* outer_;
  bpf_map* epoch_;
};

}  // namespace axon::datapath
