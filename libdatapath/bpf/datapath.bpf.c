// axon's datapath: the two programs on the host side of every pod's veth.
//
//   from-container (TC ingress of the host veth: packets leaving the pod)
//     Service DNAT -> conntrack -> egress policy -> conntrack create
//   to-container   (TC egress of the host veth: packets entering the pod)
//     conntrack -> reverse NAT of Service replies | ingress policy -> create
//
// Both programs serve every endpoint of a node; they find the endpoint by
// skb->ifindex in axon_endpoints_v1. Nothing here assumes that the peer is on
// the same node. Maps and their layouts: lib/maps.h, axon/abi/datapath.h.
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "axon/abi/datapath.h"
#include "lib/config.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/nat.h"
#include "lib/events.h"
#include "lib/policy.h"
#include "lib/conntrack.h"
#include "lib/lb.h"

/* Frames that are not IPv4. ARP and other non-IP frames pass untouched;
 * IPv6 is dropped: axon enforces policy on IPv4 only, and letting IPv6 by
 * would bypass it. */
static __always_inline int handle_non_ipv4(struct __sk_buff *skb, struct axon_pkt *p,
					   struct axon_verdict_info *vi, __be16 proto)
{
	if (proto == bpf_htons(ETH_P_IPV6))
		return drop(skb, p, vi, AXON_DROP_UNSUPPORTED_L3);
	count(AXON_COUNTER_NON_IP);
	return TC_ACT_OK;
}

/* Parses the frame; returns -1 to go on, or a TC verdict. */
static __always_inline int prologue(struct __sk_buff *skb, struct axon_pkt *p,
				    struct axon_verdict_info *vi,
				    struct axon_endpoint_info **ep)
{
	struct axon_endpoint_key ek = {.ifindex = skb->ifindex};
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	int reason;

	if ((void *)(eth + 1) > data_end)
		return drop(skb, p, vi, AXON_DROP_INVALID_PACKET);
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return handle_non_ipv4(skb, p, vi, eth->h_proto);
	reason = parse_ipv4(skb, p);
	vi->orig = p->tuple;
	if (reason)
		return drop(skb, p, vi, reason);
	*ep = bpf_map_lookup_elem(&axon_endpoints_v1, &ek);
	if (!*ep)
		return drop(skb, p, vi, AXON_DROP_NO_CONFIG);
	vi->endpoint_id = (*ep)->endpoint_id;
	return -1;
}

/* The verdict of a packet that passes: count, report when worth it. */
static __always_inline int pass(struct __sk_buff *skb, const struct axon_pkt *p,
				const struct axon_verdict_info *vi, __u8 point, int report)
{
	__u8 verdict = AXON_VERDICT_FORWARDED;

	account(vi->direction, AXON_DROP_NONE, skb->len);
	if (vi->proxy_port) {
		skb->mark = AXON_MARK_PROXY | ((__u32)vi->proxy_port << 16);
		point = AXON_TRACE_TO_PROXY;
		verdict = AXON_VERDICT_REDIRECTED;
	}
	if (report || cfg_trace_every_packet)
		emit_event(skb, p, vi, AXON_EVENT_TRACE, point, verdict);
	return TC_ACT_OK;
}

SEC("tc")
int axon_from_container(struct __sk_buff *skb)
{
	struct axon_pkt p = {};
	struct axon_verdict_info vi = {.direction = AXON_DIR_EGRESS};
	struct axon_endpoint_info *ep = NULL;
	struct axon_ct_entry *ct = NULL;
	struct axon_policy_value pol = {};
	__u32 rev_nat_index = 0, epoch;
	__u64 now;
	int ret, report;

	ret = prologue(skb, &p, &vi, &ep);
	if (ret >= 0 || !ep)
		return ret >= 0 ? ret : TC_ACT_SHOT;
	vi.src_identity = ep->identity;
	if (p.tuple.saddr != ep->ipv4) {
		vi.dst_identity = ipcache_identity(p.tuple.daddr);
		return drop(skb, &p, &vi, AXON_DROP_INVALID_SOURCE_IP);
	}
	now = bpf_ktime_get_ns();

	ret = lb4_dnat(skb, &p, now, &rev_nat_index);
	if (ret) {
		vi.dst_identity = ipcache_identity(p.tuple.daddr);
		return drop(skb, &p, &vi, ret);
	}
	epoch = policy_epoch();

	/* An ICMP error about a connection this pod accepted: no policy. */
	if (ct_related(&p, AXON_CT_INGRESS, now)) {
		vi.is_reply = 1;
		vi.trace_reason = AXON_TRACE_REASON_RELATED;
		vi.dst_identity = ipcache_identity(p.tuple.daddr);
		return pass(skb, &p, &vi, AXON_TRACE_FROM_ENDPOINT, 1);
	}

	switch (ct_lookup(&p, AXON_CT_EGRESS, AXON_CT_INGRESS, now, &ct)) {
	case CT_REPLY:
		/* A reply of a connection this pod accepted: no policy. */
		vi.is_reply = 1;
		vi.trace_reason = AXON_TRACE_REASON_REPLY;
		report = ct_update(ct, &p, 1, now);
		if (report || cfg_trace_every_packet)
			vi.dst_identity = ipcache_identity(p.tuple.daddr);
		return pass(skb, &p, &vi, AXON_TRACE_FROM_ENDPOINT, report);
	case CT_ESTABLISHED:
		vi.trace_reason = AXON_TRACE_REASON_ESTABLISHED;
		vi.dst_identity = AXON_IDENTITY_UNKNOWN;
		if (ct->policy_epoch != epoch) {
			/* Policy or identities changed since this connection
			 * was last checked: look again. */
			vi.dst_identity = ipcache_identity(p.tuple.daddr);
			ret = policy_check(vi.endpoint_id, vi.dst_identity, AXON_DIR_EGRESS, &p, &pol);
			vi.match_type = pol.match_type;
			if (ret)
				return drop(skb, &p, &vi, ret);
			ct->proxy_port = pol.verdict == AXON_POLICY_REDIRECT ? pol.proxy_port : 0;
			ct->policy_epoch = epoch;
		}
		vi.proxy_port = ct->proxy_port;
		report = ct_update(ct, &p, 0, now);
		if ((report || cfg_trace_every_packet) && !vi.dst_identity)
			vi.dst_identity = ipcache_identity(p.tuple.daddr);
		return pass(skb, &p, &vi, AXON_TRACE_FROM_ENDPOINT, report);
	default:
		break;
	}

	vi.dst_identity = ipcache_identity(p.tuple.daddr);
	ret = policy_check(vi.endpoint_id, vi.dst_identity, AXON_DIR_EGRESS, &p, &pol);
	vi.match_type = pol.match_type;
	if (ret)
		return drop(skb, &p, &vi, ret);
	if (pol.verdict == AXON_POLICY_REDIRECT)
		vi.proxy_port = pol.proxy_port;
	ret = ct_create(&p, AXON_CT_EGRESS, rev_nat_index, vi.proxy_port, epoch, now);
	if (ret)
		return drop(skb, &p, &vi, ret);
	vi.trace_reason = AXON_TRACE_REASON_NEW;
	return pass(skb, &p, &vi, AXON_TRACE_FROM_ENDPOINT, 1);
}

SEC("tc")
int axon_to_container(struct __sk_buff *skb)
{
	struct axon_pkt p = {};
	struct axon_verdict_info vi = {.direction = AXON_DIR_INGRESS};
	struct axon_endpoint_info *ep = NULL;
	struct axon_ct_entry *ct = NULL;
	struct axon_policy_value pol = {};
	__u32 epoch;
	__u64 now;
	int ret, report;

	ret = prologue(skb, &p, &vi, &ep);
	if (ret >= 0 || !ep)
		return ret >= 0 ? ret : TC_ACT_SHOT;
	vi.dst_identity = ep->identity;
	now = bpf_ktime_get_ns();
	epoch = policy_epoch();

	/* An ICMP error about a connection this pod opened: no policy. (An
	 * error about a Service connection names the backend, not the VIP:
	 * the embedded header is not reverse-translated yet.) */
	if (ct_related(&p, AXON_CT_EGRESS, now)) {
		vi.is_reply = 1;
		vi.trace_reason = AXON_TRACE_REASON_RELATED;
		vi.src_identity = ipcache_identity(p.tuple.saddr);
		return pass(skb, &p, &vi, AXON_TRACE_TO_ENDPOINT, 1);
	}

	switch (ct_lookup(&p, AXON_CT_INGRESS, AXON_CT_EGRESS, now, &ct)) {
	case CT_REPLY:
		/* A reply of a connection this pod opened: no policy; a
		 * Service's backend answers with the Service's address. */
		vi.is_reply = 1;
		vi.trace_reason = AXON_TRACE_REASON_REPLY;
		report = ct_update(ct, &p, 1, now);
		if (report || cfg_trace_every_packet)
			vi.src_identity = ipcache_identity(p.tuple.saddr);
		if (ct->rev_nat_index) {
			ret = lb4_rev_nat(skb, &p, ct->rev_nat_index);
			if (ret)
				return drop(skb, &p, &vi, ret);
		}
		return pass(skb, &p, &vi, AXON_TRACE_TO_ENDPOINT, report);
	case CT_ESTABLISHED:
		vi.trace_reason = AXON_TRACE_REASON_ESTABLISHED;
		if (ct->policy_epoch != epoch) {
			vi.src_identity = ipcache_identity(p.tuple.saddr);
			ret = policy_check(vi.endpoint_id, vi.src_identity, AXON_DIR_INGRESS, &p, &pol);
			vi.match_type = pol.match_type;
			if (ret)
				return drop(skb, &p, &vi, ret);
			ct->proxy_port = pol.verdict == AXON_POLICY_REDIRECT ? pol.proxy_port : 0;
			ct->policy_epoch = epoch;
		}
		vi.proxy_port = ct->proxy_port;
		report = ct_update(ct, &p, 0, now);
		if ((report || cfg_trace_every_packet) && !vi.src_identity)
			vi.src_identity = ipcache_identity(p.tuple.saddr);
		return pass(skb, &p, &vi, AXON_TRACE_TO_ENDPOINT, report);
	default:
		break;
	}

	vi.src_identity = ipcache_identity(p.tuple.saddr);
	ret = policy_check(vi.endpoint_id, vi.src_identity, AXON_DIR_INGRESS, &p, &pol);
	vi.match_type = pol.match_type;
	if (ret)
		return drop(skb, &p, &vi, ret);
	if (pol.verdict == AXON_POLICY_REDIRECT)
		vi.proxy_port = pol.proxy_port;
	ret = ct_create(&p, AXON_CT_INGRESS, 0, vi.proxy_port, epoch, now);
	if (ret)
		return drop(skb, &p, &vi, ret);
	vi.trace_reason = AXON_TRACE_REASON_NEW;
	return pass(skb, &p, &vi, AXON_TRACE_TO_ENDPOINT, 1);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
