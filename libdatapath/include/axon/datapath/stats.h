// Datapath counters: packets and bytes forwarded and dropped, per direction
// and drop reason, summed over CPUs; events lost to a full ring buffer.
#pragma once

#include <cstdint>
#include <map>
#include <utility>

#include "axon/base/result.h"

struct bpf_map;

namespace axon::datapath {

struct PacketCount {
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

struct Stats {
  // (direction: AXON_DIR_INGRESS / AXON_DIR_EGRESS, reason: 0 forwarded or a drop code)
  std::map<std::pair<uint8_t, uint8_t>, PacketCount> packets;
  uint64_t events_lost = 0;
  uint64_t non_ip_passed = 0;
  uint64_t host_routed = 0;  // packets passed straight to a local pod's veth

  PacketCount forwarded(uint8_t direction) const;
  PacketCount dropped(uint8_t direction, uint8_t reason) const;
};

Result<Stats> read_stats(const bpf_map* metrics, const bpf_map* counters);

}  // namespace axon::datapath
