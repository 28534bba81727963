// The policy epoch (axon_epoch_v1; conntrack entries keep the epoch each end
// last checked in): bumped after every change that can change a policy
// verdict, so tracked connections look policy up again on their next packet.
#pragma once

#include <bpf/libbpf.h>

#include <cstdint>

#include "axon/base/result.h"

namespace axon::datapath {

inline Status bump_policy_epoch(bpf_map* epoch) {
  const uint32_t zero = 0;
  uint32_t value = 0;
  if (bpf_map__lookup_elem(epoch, &zero, sizeof(zero), &value, sizeof(value), 0) != 0) {
    return sys_error("read policy epoch");
  }
  ++value;
  if (bpf_map__update_elem(epoch, &zero, sizeof(zero), &value, sizeof(value), BPF_ANY) != 0) {
    return sys_error("bump policy epoch");
  }
  return {};
}

}  // namespace axon::datapath
