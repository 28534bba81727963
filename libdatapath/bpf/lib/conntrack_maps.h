/* Connection tracking. Declared BTF-style and pinned by name under the node's
 * pin directory (the loader sets the pin root); layouts in
 * axon/abi/conntrack.h. */
#ifndef AXON_BPF_CONNTRACK_MAPS_H
#define AXON_BPF_CONNTRACK_MAPS_H

#include "axon/abi/conntrack.h"

/* Connection tracking: tuple + scope -> state. LRU: a full table evicts the
 * least recently used connection rather than refusing new ones. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 262144);
	__type(key, struct axon_ct_key);
	__type(value, struct axon_ct_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} axon_ct4_v2 SEC(".maps");

#endif /* AXON_BPF_CONNTRACK_MAPS_H */
