// Sets of identities (or origins, matchers) as sorted vectors: the engine
// keeps many small ones, where a vector beats a node-based set in memory
// and in the merges it does.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace axon::policy::internal {

inline void insert_sorted(std::vector<uint32_t>& v, uint32_t x) {
  auto it = std::lower_bound(v.begin(), v.end(), x);
  if (it == v.end() || *it != x) v.insert(it, x);
}

inline void erase_sorted(std::vector<uint32_t>& v, uint32_t x) {
  auto it = std::lower_bound(v.begin(), v.end(), x);
  if (it != v.end() && *it == x) v.erase(it);
}

inline bool has_sorted(const std::vector<uint32_t>& v, uint32_t x) {
  return std::binary_search(v.begin(), v.end(), x);
}

}  // namespace axon::policy::internal
