// Conntrack from user space: garbage collection of expired entries, dumps.
// The programs create and update entries; the LRU map evicts under pressure.
#pragma once

#include <cstdint>
#include <vector>

#include "axon/abi/conntrack.h"
#include "axon/base/result.h"

struct bpf_map;

namespace axon::datapath {

struct CtEntry {
  axon_ct_key key;
  axon_ct_entry value;
};

// Current CLOCK_MONOTONIC in ns: the clock of bpf_ktime_get_ns().
uint64_t monotonic_now_ns();

class Conntrack {
 public:
  explicit Conntrack(bpf_map* map) : map_(map) {}

  // Deletes entries whose deadline is before `now_ns` (default: now);
  // returns how many.
  Result<size_t> gc();
  Result<size_t> gc(uint64_t now_ns);
  Result<std::vector<CtEntry>> dump() const;
  Status flush();

 private:
  bpf_map* map_;
};

}  // namespace axon::datapath
