/* ABI of Service load balancing (axon_lb4_*): services, backends, reverse
 * NAT, Maglev tables, VIPs. Shared by the BPF programs (bpf/) and the C++
 * that drives them; byte order: fields named __be* are in network order, the
 * rest host order. */
#ifndef AXON_ABI_LB_H
#define AXON_ABI_LB_H

#include "axon/abi/common.h"

/* ---------------------------------------------------------------------------
 * Services (kube-proxy replacement), Cilium's layout:
 * - axon_lb4_services_v1 (hash): (VIP, port, proto, slot) -> slot 0: the
 *   service (id, backend count, algorithm); slot i >= 1: its i-th backend id;
 * - axon_lb4_backends_v1 (hash): backend id -> address and port;
 * - axon_lb4_reverse_nat_v1 (hash): service id -> VIP and port, for replies;
 * - axon_lb4_maglev_v1 (hash, not preallocated): table id -> a Maglev table,
 *   table_size backend ids. Services with the same backends share a table.
 *   (Not a map of maps: every update of a map-of-maps entry waits for an
 *   RCU grace period, ~10 ms, which would make a Service change slow.)
 * - axon_lb4_vips_v1 (hash): VIP -> how many services it has (__u32). Every
 *   packet leaving a pod asks it first: keyed by address alone, the lookup
 *   for a peer stays in cache, where the services table keyed by a reply's
 *   ephemeral port would miss it (a cold bucket per connection). */
#define AXON_LB4_MAX_VIPS 65536

struct axon_lb4_key {
	__be32 vip;
	__be16 dport;
	__u8 proto;
	__u8 pad;
	__u16 backend_slot; /* 0 = the service itself */
	__u16 pad2;
};
AXON_ABI_ASSERT(sizeof(struct axon_lb4_key) == 12, "axon_lb4_key layout");

enum axon_lb_algorithm {
	AXON_LB_RANDOM = 1,
	AXON_LB_MAGLEV = 2,
};

struct axon_lb4_service {
	__u32 backend_id;    /* slot >= 1 */
	__u32 rev_nat_index; /* slot 0: the service id (also the reverse-NAT key) */
	__u16 count;         /* slot 0: number of backends (slots 1..count) */
	__u8 algorithm;      /* slot 0: enum axon_lb_algorithm */
	__u8 flags;
	__u32 maglev_table;  /* slot 0: key in axon_lb4_maglev_v1; 0 = none */
};
AXON_ABI_ASSERT(sizeof(struct axon_lb4_service) == 16, "axon_lb4_service layout");

struct axon_lb4_backend {
	__be32 addr;
	__be16 port;
	__u8 proto;
	__u8 flags;
};
AXON_ABI_ASSERT(sizeof(struct axon_lb4_backend) == 8, "axon_lb4_backend layout");

struct axon_lb4_reverse_nat {
	__be32 addr;
	__be16 port;
	__u16 pad;
};
AXON_ABI_ASSERT(sizeof(struct axon_lb4_reverse_nat) == 8, "axon_lb4_reverse_nat layout");

#endif /* AXON_ABI_LB_H */
