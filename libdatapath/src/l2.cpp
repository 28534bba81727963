#include "axon/datapath/l2.h"

#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>

#include "axon/abi/l2.h"

namespace axon::datapath {

Status L2Responder::announce(const Announcement& a) {
  axon_l2_responder_key key{a.ip.network_order(), a.ifindex};
  axon_l2_responder_value value{};
  // BPF_NOEXIST: an address announced already keeps its reply count.
  if (bpf_map__update_elem(map_, &key, sizeof(key), &value, sizeof(value), BPF_NOEXIST) != 0 &&
      errno != EEXIST) {
    return sys_error("announce " + a.ip.str() + " on ifindex " + std::to_string(a.ifindex));
  }
  return {};
}

Status L2Responder::withdraw(const Announcement& a) {
  axon_l2_responder_key key{a.ip.network_order(), a.ifindex};
  if (bpf_map__delete_elem(map_, &key, sizeof(key), 0) != 0 && errno != ENOENT)
    return sys_error("withdraw " + a.ip.str() + " on ifindex " + std::to_string(a.ifindex));
  return {};
}

std::vector<std::pair<Announcement, uint64_t>> L2Responder::list() const {
  std::vector<std::pair<Announcement, uint64_t>> out;
  axon_l2_responder_key key{}, next{};
  bool first = true;
  while (bpf_map__get_next_key(map_, first ? nullptr : &key, &next, sizeof(next)) == 0) {
    first = false;
    key = next;
    axon_l2_responder_value v{};
    if (bpf_map__lookup_elem(map_, &key, sizeof(key), &v, sizeof(v), 0) != 0) continue;
    out.push_back({Announcement{Ipv4::from_network_order(key.ip), key.ifindex}, v.responses});
  }
  return out;
}

// steady_clock is CLOCK_MONOTONIC on Linux, the clock of bpf_ktime_get_ns().
Status L2Responder::hold_until(std::chrono::steady_clock::time_point deadline) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch());
  axon_l2_lease lease{static_cast<uint64_t>(std::max<int64_t>(ns.count(), 0))};
  uint32_t zero = 0;
  if (bpf_map__update_elem(lease_, &zero, sizeof(zero), &lease, sizeof(lease), 0) != 0)
    return sys_error("set the L2 lease");
  return {};
}

std::chrono::steady_clock::time_point L2Responder::held_until() const {
  axon_l2_lease lease{};
  uint32_t zero = 0;
  if (bpf_map__lookup_elem(lease_, &zero, sizeof(zero), &lease, sizeof(lease), 0) != 0) return {};
  return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(lease.expires_ns));
}

}  // namespace axon::datapath
