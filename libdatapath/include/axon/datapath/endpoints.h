// Endpoints: attaching the datapath's programs to a pod's host-side veth.
//
// from-container goes on the veth's TC ingress hook (packets leaving the
// pod), to-container on its TC egress hook (packets entering the pod), both
// through libbpf's TC API on a clsact qdisc. Attaching replaces axon's
// filters in place (same handle and priority), so a restarted agent swaps in
// its programs without a gap. Calls act on the calling thread's network
// namespace: the agent runs inside its node's namespace.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "axon/base/result.h"
#include "axon/datapath/ip.h"

struct bpf_map;
struct bpf_program;

namespace axon::datapath {

struct Endpoint {
  uint32_t ifindex = 0;      // host-side veth, in the node's namespace
  Ipv4 ip;                   // the pod's address (other sources are dropped)
  uint32_t identity = 0;     // the pod's security identity
  uint32_t endpoint_id = 0;  // key of its policy (PolicyMaps); non-zero
  // The pod's own interface's MAC: with it, packets from other pods of the
  // node reach this one past the node's IP stack (host routing); all zero:
  // they go through the stack.
  std::array<uint8_t, 6> mac{};

  bool operator==(const Endpoint&) const = default;
};

class Endpoints {
 public:
  Endpoints(bpf_map* map, bpf_map* lxc, bpf_map* epoch, const bpf_program* from_container,
            const bpf_program* to_container)
      : map_(map), lxc_(lxc), epoch_(epoch), from_(from_container), to_(to_container) {}

  // Records the endpoint, then attaches both programs to its veth; with a
  // MAC, also makes it a destination of host routing (the veth's own MAC is
  // read from the calling namespace).
  Status attach(const Endpoint& ep);
  // Records the endpoint only (BPF_PROG_TEST_RUN and simulation: a test run
  // sees skb->ifindex 1, the loopback of the calling namespace).
  Status record(const Endpoint& ep);
  // Detaches both programs (a veth already gone is fine), then forgets it.
  Status detach(uint32_t ifindex);
  Result<std::vector<Endpoint>> list() const;

 private:
  bpf_map* map_;
  bpf_map* lxc_;
  bpf_map* epoch_;
  const bpf_program* from_;
  const bpf_program* to_;
};

}  // namespace axon::datapath
