/* What the programs report: trace/drop events and counters. Declared BTF-
 * style and pinned by name under the node's pin directory (the loader sets
 * the pin root); layouts in axon/abi/datapath.h. */
#ifndef AXON_BPF_EVENTS_MAPS_H
#define AXON_BPF_EVENTS_MAPS_H

#include "axon/abi/datapath.h"

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

#endif /* AXON_BPF_EVENTS_MAPS_H */
