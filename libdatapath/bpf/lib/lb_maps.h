/* Service load balancing (Cilium's lb4 layout). Declared BTF-style and pinned
 * by name under the node's pin directory (the loader sets the pin root);
 * layouts in axon/abi/lb.h. */
#ifndef AXON_BPF_LB_MAPS_H
#define AXON_BPF_LB_MAPS_H

#include "axon/abi/lb.h"

/* (VIP, port, proto, slot) -> the service (slot 0) or its slot-th backend id. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);
	__type(key, struct axon_lb4_key);
	__type(value, struct axon_lb4_service);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} axon_lb4_services_v1 SEC(".maps");

/* VIP -> its number of services: is the destination a Service at all? */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AXON_LB4_MAX_VIPS);
	__type(key, __be32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} axon_lb4_vips_v1 SEC(".maps");

/* Backend id -> address and port. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);
	__type(key, __u32);
	__type(value, struct axon_lb4_backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} axon_lb4_backends_v1 SEC(".maps");

/* Service id -> VIP and port: what replies from a backend must carry again. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct axon_lb4_reverse_nat);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} axon_lb4_reverse_nat_v1 SEC(".maps");

/* Table id -> a Maglev table of cfg_maglev_table_size backend ids. The
 * loader sets value_size to 4 * table size before load. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 4 * 16381);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} axon_lb4_maglev_v1 SEC(".maps");

/* (client, service id) -> backend and last use: sessionAffinity ClientIP. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct axon_lb4_affinity_key);
	__type(value, struct axon_lb4_affinity_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} axon_lb4_affinity_v1 SEC(".maps");

/* (backend id, service id) -> 1: the backends of services with affinity. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct axon_lb4_affinity_match_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} axon_lb4_affinity_match_v1 SEC(".maps");

/* The node's network devices: ifindex -> the node's address on it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct axon_netdev_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} axon_netdevs_v1 SEC(".maps");

/* Source NAT of external connections to backends on other nodes. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 131072);
	__type(key, struct axon_snat4_key);
	__type(value, struct axon_snat4_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} axon_snat4_v1 SEC(".maps");

#endif /* AXON_BPF_LB_MAPS_H */
