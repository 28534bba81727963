/* ABI of axon's datapath (libdatapath/bpf/datapath.bpf.c): every map key and
 * value and every ring-buffer event, shared by the BPF C programs and the C++
 * that loads and drives them, one header per feature (events, endpoints,
 * ipcache, policy, conntrack, lb, l2), all included here with the counters and
 * the pinned maps' configuration. Two compilers, no mirror types.
 *
 * Byte order: fields named __be* are in network order (as in the packet);
 * everything else is host order.
 *
 * Map names carry the axon_ prefix and a layout version (_v1). Maps are
 * pinned by name under the node's pin directory, so they outlive the agent:
 * a change of any layout below needs a new version suffix. */
#ifndef AXON_ABI_DATAPATH_H
#define AXON_ABI_DATAPATH_H

#include "axon/abi/common.h"
#include "axon/abi/conntrack.h"
#include "axon/abi/endpoints.h"
#include "axon/abi/events.h"
#include "axon/abi/ipcache.h"
#include "axon/abi/l2.h"
#include "axon/abi/lb.h"
#include "axon/abi/policy.h"

/* ---------------------------------------------------------------------------
 * Counters. axon_metrics_v1 (per-CPU array): index = (direction - 1) * 256 +
 * drop reason (0 = forwarded) -> packets and bytes. axon_counters_v1 (per-CPU
 * array): enum axon_counter -> count. */
#define AXON_METRICS_ENTRIES 512

struct axon_metrics_value {
	__u64 packets;
	__u64 bytes;
};

enum axon_counter {
	AXON_COUNTER_EVENTS_LOST = 0, /* ring buffer full: event not written */
	AXON_COUNTER_NON_IP = 1,      /* non-IP frames passed untouched (ARP, ...) */
	AXON_COUNTER_HOST_ROUTED = 2, /* passed straight to a local pod's veth */
	AXON_COUNTER_PROXY_REENTRY_FAILED = 3, /* dropped on the proxy device (axon_to_proxy) */
	AXON_COUNTER_NR = 4,
};

/* axon_config_v1 (array, one entry): facts the pinned maps were made with; a
 * later load with other values must not reuse them. */
struct axon_config {
	__u32 maglev_table_size;
	__u32 layout_version;
};

#define AXON_LAYOUT_VERSION 2

#endif /* AXON_ABI_DATAPATH_H */
