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

#endif /* AXON_ABI_L2_H */
