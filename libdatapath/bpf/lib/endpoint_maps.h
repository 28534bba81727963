/* The node's endpoints: by host-side veth, and by address for host routing.
 * Declared BTF-style and pinned by name under the node's pin directory (the
 * loader sets the pin root); layouts in axon/abi/endpoints.h. */
#ifndef AXON_BPF_ENDPOINT_MAPS_H
#define AXON_BPF_ENDPOINT_MAPS_H

#include "axon/abi/endpoints.h"

/* Host-side veth ifindex -> the endpoint (pod) behind it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct axon_endpoint_key);
	__type(value, struct axon_endpoint_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} axon_endpoints_v1 SEC(".maps");

/* Pod address -> its host-side veth and MACs: host routing's delivery. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct axon_lxc_key);
	__type(value, struct axon_lxc_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} axon_lxc_v1 SEC(".maps");

#endif /* AXON_BPF_ENDPOINT_MAPS_H */
