/* The ipcache: an address's security identity. Declared BTF-style and pinned
 * by name under the node's pin directory (the loader sets the pin root);
 * layouts in axon/abi/ipcache.h. */
#ifndef AXON_BPF_IPCACHE_MAPS_H
#define AXON_BPF_IPCACHE_MAPS_H

#include "axon/abi/ipcache.h"

/* IPv4 prefix -> security identity (pods, nodes, CIDR identities). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 524288);
	__type(key, struct axon_ipcache_key);
	__type(value, struct axon_ipcache_value);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} axon_ipcache_v1 SEC(".maps");

#endif /* AXON_BPF_IPCACHE_MAPS_H */
