/* Policy: each endpoint's trie, and the policy epoch. Declared BTF-style and
 * pinned by name under the node's pin directory (the loader sets the pin
 * root); layouts in axon/abi/policy.h. */
#ifndef AXON_BPF_POLICY_MAPS_H
#define AXON_BPF_POLICY_MAPS_H

#include "axon/abi/policy.h"

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

/* The policy epoch (see axon_ct_entry.egress_epoch, ingress_epoch); bumped by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} axon_epoch_v1 SEC(".maps");

#endif /* AXON_BPF_POLICY_MAPS_H */
