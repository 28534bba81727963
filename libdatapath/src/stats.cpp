#include "axon/datapath/stats.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <vector>

#include "axon/abi/datapath.h"

namespace axon::datapath {

PacketCount Stats::forwarded(uint8_t direction) const {
  return dropped(direction, AXON_DROP_NONE);
}

PacketCount Stats::dropped(uint8_t direction, uint8_t reason) const {
  auto it = packets.find({direction, reason});
  return it == packets.end() ? PacketCount{} : it->second;
}

Result<Stats> read_stats(const bpf_map* metrics, const bpf_map* counters) {
  const int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return Error{"count possible CPUs", -ncpu};
  Stats st;
  std::vector<axon_metrics_value> per_cpu(static_cast<size_t>(ncpu));
  for (uint32_t idx = 0; idx < AXON_METRICS_ENTRIES; ++idx) {
    if (bpf_map__lookup_elem(metrics, &idx, sizeof(idx), per_cpu.data(),
                             per_cpu.size() * sizeof(axon_metrics_value), 0) != 0) {
      return sys_error("read datapath metrics");
    }
    PacketCount sum;
    for (const auto& v : per_cpu) {
      sum.packets += v.packets;
      sum.bytes += v.bytes;
    }
    if (sum.packets == 0) continue;
    const uint8_t dir = idx < 256 ? AXON_DIR_INGRESS : AXON_DIR_EGRESS;
    st.packets[{dir, static_cast<uint8_t>(idx % 256)}] = sum;
  }
  std::vector<uint64_t> cnt(static_cast<size_t>(ncpu));
  auto counter = [&](uint32_t idx) -> Result<uint64_t> {
    if (bpf_map__lookup_elem(counters, &idx, sizeof(idx), cnt.data(), cnt.size() * sizeof(uint64_t),
                             0) != 0) {
      return sys_error("read datapath counters");
    }
    uint64_t sum = 0;
    for (auto v : cnt) sum += v;
    return sum;
  };
  auto lost = counter(AXON_COUNTER_EVENTS_LOST);
  if (!lost) return lost.error();
  auto non_ip = counter(AXON_COUNTER_NON_IP);
  if (!non_ip) return non_ip.error();
  auto routed = counter(AXON_COUNTER_HOST_ROUTED);
  if (!routed) return routed.error();
  st.host_routed = *routed;
  st.events_lost = *lost;
  st.non_ip_passed = *non_ip;
  return st;
}

}  // namespace axon::datapath
