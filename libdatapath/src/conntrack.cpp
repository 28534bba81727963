#include "axon/datapath/conntrack.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <ctime>

namespace axon::datapath {

uint64_t monotonic_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

Result<std::vector<CtEntry>> Conntrack::dump() const {
  std::vector<CtEntry> out;
  axon_ct_key key{}, next{};
  bool first = true;
  while (bpf_map__get_next_key(map_, first ? nullptr : &key, &next, sizeof(next)) == 0) {
    first = false;
    key = next;
    CtEntry e{key, {}};
    if (bpf_map__lookup_elem(map_, &key, sizeof(key), &e.value, sizeof(e.value), 0) == 0) {
      out.push_back(e);
    }
  }
  if (errno != ENOENT && !first) return sys_error("walk conntrack table");
  return out;
}

Result<size_t> Conntrack::gc() {
  return gc(monotonic_now_ns());
}

Result<size_t> Conntrack::gc(uint64_t now_ns) {
  auto entries = dump();
  if (!entries) return entries.error();
  size_t removed = 0;
  for (const auto& e : *entries) {
    if (e.value.expires_ns > now_ns) continue;
    if (bpf_map__delete_elem(map_, &e.key, sizeof(e.key), 0) == 0) {
      ++removed;
    } else if (errno != ENOENT) {
      return sys_error("delete expired conntrack entry");
    }
  }
  return removed;
}

Status Conntrack::flush() {
  auto entries = dump();
  if (!entries) return entries.error();
  for (const auto& e : *entries) {
    if (bpf_map__delete_elem(map_, &e.key, sizeof(e.key), 0) != 0 && errno != ENOENT) {
      return sys_error("flush conntrack table");
    }
  }
  return {};
}

}  // namespace axon::datapath
