/* Every map of the datapath: one *_maps.h per feature, each declaring its
 * maps BTF-style, pinned by name under the node's pin directory (the loader
 * sets the pin root), with the pinned maps' configuration here. Layouts:
 * axon/abi/. */
#ifndef AXON_BPF_MAPS_H
#define AXON_BPF_MAPS_H

#include "axon/abi/datapath.h"
#include "lib/conntrack_maps.h"
#include "lib/endpoint_maps.h"
#include "lib/events_maps.h"
#include "lib/ipcache_maps.h"
#include "lib/l2_maps.h"
#include "lib/lb_maps.h"
#include "lib/policy_maps.h"

/* What the pinned maps were made with (struct axon_config); written by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct axon_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} axon_config_v1 SEC(".maps");

#endif /* AXON_BPF_MAPS_H */
