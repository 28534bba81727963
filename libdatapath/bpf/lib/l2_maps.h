/* L2 announcements: the addresses this node answers ARP for, per device,
 * and until when (the node's L2 lease).
 * Declared BTF-style and pinned by name under the node's pin directory;
 * layouts in axon/abi/l2.h. */
#ifndef AXON_BPF_L2_MAPS_H
#define AXON_BPF_L2_MAPS_H

#include "axon/abi/l2.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct axon_l2_responder_key);
	__type(value, struct axon_l2_responder_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} axon_l2_responder_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct axon_l2_lease);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} axon_l2_lease_v1 SEC(".maps");

#endif /* AXON_BPF_L2_MAPS_H */
