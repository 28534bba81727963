// The ipcache: which security identity an address (or prefix) has. Pod IPs
// are /32 entries; CIDR identities are shorter prefixes; the longest wins.
// An address in no prefix is world (identity 2).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "axon/base/result.h"
#include "axon/datapath/ip.h"

struct bpf_map;

namespace axon::datapath {

class Ipcache {
 public:
  Ipcache(bpf_map* map, bpf_map* epoch) : map_(map), epoch_(epoch) {}

  Status upsert(const Cidr& prefix, uint32_t identity);
  Status erase(const Cidr& prefix);  // absent is fine
  Result<std::vector<std::pair<Cidr, uint32_t>>> list() const;
  // The identity of an address as the datapath sees it: the longest prefix
  // holding it, world (2) when none does.
  uint32_t lookup(Ipv4 addr) const;

 private:
  bpf_map* map_;
  bpf_map* epoch_;
};

}  // namespace axon::datapath
