#include "axon/datapath/maglev.h"

#include <algorithm>

namespace axon::datapath {
namespace {

// 64-bit FNV-1a, then a splitmix64 finaliser: cheap, stable across builds
// and machines (every node must compute the same permutation).
uint64_t hash64(const std::string& s, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ull ^ seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

}  // namespace

bool is_valid_maglev_table_size(uint32_t m) {
  constexpr uint32_t kPrimes[] = {251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071};
  return std::find(std::begin(kPrimes), std::end(kPrimes), m) != std::end(kPrimes);
}

std::vector<uint32_t> maglev_table(const std::vector<std::string>& names, uint32_t m,
                                   uint64_t seed) {
  const size_t n = names.size();
  if (n == 0 || m == 0) return {};
  std::vector<uint64_t> offset(n), skip(n), next(n, 0);
  for (size_t i = 0; i < n; ++i) {
    offset[i] = hash64(names[i], seed) % m;
    skip[i] = hash64(names[i], seed ^ 0x9e3779b97f4a7c15ull) % (m - 1) + 1;
  }
  constexpr uint32_t kEmpty = ~uint32_t{0};
  std::vector<uint32_t> table(m, kEmpty);
  uint32_t filled = 0;
  while (true) {
    for (size_t i = 0; i < n; ++i) {
      // Backend i takes its next preferred slot that is still free.
      uint64_t slot = (offset[i] + next[i] * skip[i]) % m;
      while (table[slot] != kEmpty) {
        ++next[i];
        slot = (offset[i] + next[i] * skip[i]) % m;
      }
      table[slot] = static_cast<uint32_t>(i);
      ++next[i];
      if (++filled == m) return table;
    }
  }
}

}  // namespace axon::datapath
