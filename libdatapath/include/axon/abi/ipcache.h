/* ABI of the ipcache (axon_ipcache_v1) and the reserved identities. Shared by
 * the BPF programs (bpf/) and the C++ that drives them; byte order: fields
 * named __be* are in network order, the rest host order. */
#ifndef AXON_ABI_IPCACHE_H
#define AXON_ABI_IPCACHE_H

#include "axon/abi/common.h"

/* ---------------------------------------------------------------------------
 * ipcache (axon_ipcache_v1, LPM trie): IPv4 prefix -> security identity, so
 * pod IPs (/32) and CIDR identities share one longest-prefix lookup. An
 * address in no prefix is world (2). */
struct axon_ipcache_key {
	__u32 prefixlen; /* 0..32: bits of addr that must match */
	__be32 addr;
};
struct axon_ipcache_value {
	__u32 identity;
	__be32 tunnel_endpoint; /* node that hosts the address; 0 = not routed by axon */
	__u32 flags;
	__u32 pad;
};
AXON_ABI_ASSERT(sizeof(struct axon_ipcache_key) == 8, "axon_ipcache_key layout");
AXON_ABI_ASSERT(sizeof(struct axon_ipcache_value) == 16, "axon_ipcache_value layout");

/* Reserved identities (Cilium's numbers). */
#define AXON_IDENTITY_UNKNOWN 0
#define AXON_IDENTITY_HOST 1
#define AXON_IDENTITY_WORLD 2

#endif /* AXON_ABI_IPCACHE_H */
