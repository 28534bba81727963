// Maglev consistent hashing (Eisenbud et al., NSDI 2016): a lookup table of
// a prime number of slots, filled from each backend's permutation so that
// every backend gets an equal share and a backend change moves few slots.
// Permutations come from the backends' addresses, so every node computes the
// same table for the same backends.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace axon::datapath {

// Cilium's allowed table sizes (bpf-lb-maglev-table-size).
bool is_valid_maglev_table_size(uint32_t m);

// For backends named `names` (e.g. "10.244.1.5:8080"), returns `m` slots,
// each an index into `names`. Empty when `names` is empty.
std::vector<uint32_t> maglev_table(const std::vector<std::string>& names, uint32_t m,
                                   uint64_t seed);

}  // namespace axon::datapath
