/* ABI of the node's endpoint tables (axon_endpoints_v1, axon_lxc_v1). Shared
 * by the BPF programs (bpf/) and the C++ that drives them; byte order: fields
 * named __be* are in network order, the rest host order. */
#ifndef AXON_ABI_ENDPOINTS_H
#define AXON_ABI_ENDPOINTS_H

#include "axon/abi/common.h"

/* ---------------------------------------------------------------------------
 * Endpoints (axon_endpoints_v1, hash): the host-side veth's ifindex -> the
 * pod behind it. The programs are shared by every endpoint of a node and find
 * their endpoint through skb->ifindex. */
struct axon_endpoint_key {
	__u32 ifindex;
};
struct axon_endpoint_info {
	__u32 endpoint_id; /* key of the endpoint's policy (axon_policy_v1) */
	__u32 identity;    /* the pod's security identity */
	__be32 ipv4;       /* the pod's address: other sources are dropped (132) */
	__u32 flags;
};
AXON_ABI_ASSERT(sizeof(struct axon_endpoint_info) == 16, "axon_endpoint_info layout");

/* Local endpoints by address (axon_lxc_v1, hash), for BPF host routing: a
 * packet that from-container passes to another pod of the node goes straight
 * to that pod's host-side veth (bpf_redirect; its to-container program still
 * runs) instead of through the node's IP stack. Entries exist only for
 * endpoints whose MAC addresses are known. */
struct axon_lxc_key {
	__be32 ipv4;
};
struct axon_lxc_info {
	__u32 ifindex;     /* the pod's host-side veth */
	__u8 mac[6];       /* the pod's own interface (destination MAC) */
	__u8 host_mac[6];  /* the host-side veth (source MAC, the pod's gateway) */
};
AXON_ABI_ASSERT(sizeof(struct axon_lxc_info) == 16, "axon_lxc_info layout");

#endif /* AXON_ABI_ENDPOINTS_H */
