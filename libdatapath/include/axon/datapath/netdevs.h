// The node's network devices: the from-netdev program on their TC ingress
// serves Services to external clients (NodePort, LoadBalancer IPs,
// externalIPs, hostPort; bpf/lib/nodeport.h), translating connections to
// backends on other nodes to the device's address.
//
//   dp->netdevs().attach({.ifindex = if_nametoindex("eth0"), .addr = node_ip});
#pragma once

#include <array>
#include <cstdint>

#include "axon/base/result.h"
#include "axon/datapath/ip.h"

struct bpf_map;
struct bpf_program;

namespace axon::datapath {

struct Netdev {
  uint32_t ifindex = 0;
  Ipv4 addr;  // the node's address on it: the source of translated connections
  // Its MAC, what the L2 responder answers with; all zero: attach() reads it.
  std::array<uint8_t, 6> mac{};
};

class Netdevs {
 public:
  Netdevs(bpf_map* map, const bpf_program* prog) : map_(map), prog_(prog) {}

  // Records the device, then attaches (or replaces) from-netdev on it.
  Status attach(const Netdev& dev);
  // Only records it (BPF_PROG_TEST_RUN: no interface is touched).
  Status record(const Netdev& dev);
  // Detaches and forgets the device; gone already is fine.
  Status detach(uint32_t ifindex);

 private:
  bpf_map* map_;
  const bpf_program* prog_;
};

}  // namespace axon::datapath
