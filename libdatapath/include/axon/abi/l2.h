/* ABI of L2 announcements (axon_l2_responder_v1): the LoadBalancer and
 * external IPs this node announces on a device, answered in eBPF when an ARP
 * request asks who has them (Cilium's L2 responder). Shared by the BPF
 * programs (bpf/) and the C++ that drives them; byte order: fields named
 * __be* are in network order, the rest host order. */
#ifndef AXON_ABI_L2_H
#define AXON_ABI_L2_H

#include "axon/abi/common.h"

struct axon_l2_responder_key {
	__be32 ip;
	__u32 ifindex; /* the device the node announces it on */
};
AXON_ABI_ASSERT(sizeof(struct axon_l2_responder_key) == 8, "axon_l2_responder_key layout");

struct axon_l2_responder_value {
	__u64 responses; /* ARP replies sent (written by the datapath) */
};
AXON_ABI_ASSERT(sizeof(struct axon_l2_responder_value) == 8, "axon_l2_responder_value layout");

/* axon_l2_lease_v1 (an array of one): the node answers ARP for its
 * announced addresses only while bpf_ktime_get_ns() < expires_ns. The agent
 * moves it forward each time it renews its L2 lease in the store; an agent
 * that stops renewing (killed, cut off from the store) falls silent on its
 * own, before another node may take its addresses over. 0: answer nothing. */
struct axon_l2_lease {
	__u64 expires_ns; /* CLOCK_MONOTONIC */
};
AXON_ABI_ASSERT(sizeof(struct axon_l2_lease) == 8, "axon_l2_lease layout");

#endif /* AXON_ABI_L2_H */
