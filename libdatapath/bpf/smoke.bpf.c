// The smoke program: classify a packet by EtherType, count it, and drop an
// IPv4 packet whose header is cut short. Nothing in the datapath depends on
// it; it exists to prove the BPF toolchain and the kernel under axon.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "axon/abi/smoke.h"

/* Packets seen per class, indexed by enum axon_smoke_counter. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AXON_SMOKE_NR_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} axon_smoke_counters SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&axon_smoke_counters, &idx);

	if (c)
		__sync_fetch_and_add(c, 1);
}

SEC("tc")
int axon_smoke(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;

	if ((void *)(eth + 1) > data_end) {
		count(AXON_SMOKE_TRUNCATED);
		return TC_ACT_SHOT;
	}
	switch (eth->h_proto) {
	case bpf_htons(ETH_P_IP):
		ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > data_end || ip->ihl < 5) {
			count(AXON_SMOKE_TRUNCATED);
			return TC_ACT_SHOT;
		}
		count(AXON_SMOKE_IPV4);
		return TC_ACT_OK;
	case bpf_htons(ETH_P_IPV6):
		count(AXON_SMOKE_IPV6);
		return TC_ACT_OK;
	default:
		count(AXON_SMOKE_OTHER);
		return TC_ACT_OK;
	}
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
