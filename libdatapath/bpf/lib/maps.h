/* Every map of the datapath, declared BTF-style and pinned by name under the
 * node's pin directory (the loader sets the pin root). Layouts: axon/abi/datapath.h. */
#ifndef AXON_BPF_MAPS_H
#define AXON_BPF_MAPS_H

#include "axon/abi/datapath.h"

/* Host-side veth ifindex -> the endpoint (pod) behind it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct axon_endpoint_key);
	__type(value, struct axon_endpoint_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} axon_endpoints_v1 SEC(".maps");

/* IPv4 prefix -> security identity (pods, nodes, CIDR identities). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct axon_lxc_key);
	__type(value, struct axon_lxc_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} axon_lxc_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 524288);
	__type(key, struct axon_ipcache_key);
	__type(value, struct axon_ipcache_value);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} axon_ipcache_v1 SEC(".maps");

/* The template of one endpoint's policy trie (see axon_policy_key). User
 * space creates one per endpoint, sized to its entries. */
struct axon_policy_inner {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	/* Sizes, not BTF types: clang emits the types behind the outer map's
	 * pointer only as forward declarations. */
	__uint(key_size, sizeof(struct axon_policy_key));
	__uint(value_size, sizeof(struct axon_policy_value));
	__uint(map_flags, BPF_F_NO_PREALLOC);
};

/* Endpoint id -> that endpoint's policy trie; no entry = no policy selects it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct axon_policy_inner);
} axon_policy_v1 SEC(".maps");

/* Connection tracking: tuple + scope -> state. LRU: a full table evicts the
 * least recently used connection rather than refusing new ones. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 262144);
	__type(key, struct axon_ct_key);
	__type(value, struct axon_ct_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} axon_ct4_v2 SEC(".maps");

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

/* Trace and drop events (struct axon_event) for the flow service. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} axon_events_v1 SEC(".maps");

/* Packets and bytes per direction and drop reason (0 = forwarded). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AXON_METRICS_ENTRIES);
	__type(key, __u32);
	__type(value, struct axon_metrics_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} axon_metrics_v1 SEC(".maps");

/* Other counters (enum axon_counter), e.g. lost events. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AXON_COUNTER_NR);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} axon_counters_v1 SEC(".maps");

/* The policy epoch (see axon_ct_entry.egress_epoch, ingress_epoch); bumped by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} axon_epoch_v1 SEC(".maps");

/* What the pinned maps were made with (struct axon_config); written by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct axon_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} axon_config_v1 SEC(".maps");

#endif /* AXON_BPF_MAPS_H */
