/* Trace and drop events into the ring buffer, and the per-reason counters. */
#ifndef AXON_BPF_EVENTS_H
#define AXON_BPF_EVENTS_H

#include "lib/maps.h"
#include "lib/parse.h"

/* Everything the event of one packet needs, gathered along the way. */
struct axon_verdict_info {
	struct axon_flow_tuple orig; /* the packet as it arrived */
	__u32 endpoint_id;
	__u32 ifindex;	  /* the endpoint's host-side veth */
	__u32 peer_hint;  /* the peer's identity when already known, or 0 */
	__u32 src_identity;
	__u32 dst_identity;
	__u16 proxy_port;
	__u16 l7_lb_port; /* the packet goes to an L7 frontend (a Gateway's): its proxy port */
	__u8 direction;
	__u8 match_type;
	__u8 trace_reason;
	__u8 is_reply;
	__u8 tc_ingress; /* run at TC ingress (bpf_sk_assign works only there) */
	__u8 from_proxy; /* sent by the proxy (AXON_MARK_FROM_PROXY): no redirect */
};

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&axon_counters_v1, &idx);

	if (c)
		*c += 1; /* per-CPU: no atomics needed */
}

static __always_inline void account(__u8 direction, __u8 reason, __u32 len)
{
	__u32 idx = ((__u32)(direction - 1) & 1) * 256 + reason;
	struct axon_metrics_value *m = bpf_map_lookup_elem(&axon_metrics_v1, &idx);

	if (m) {
		m->packets += 1;
		m->bytes += len;
	}
}

static __always_inline void emit_event(struct __sk_buff *skb, const struct axon_pkt *p,
				       const struct axon_verdict_info *vi, __u8 type, __u8 subtype,
				       __u8 verdict)
{
	struct axon_event *e = bpf_ringbuf_reserve(&axon_events_v1, sizeof(*e), 0);

	if (!e) {
		count(AXON_COUNTER_EVENTS_LOST);
		return;
	}
	e->timestamp_ns = bpf_ktime_get_ns();
	e->type = type;
	e->subtype = subtype;
	e->direction = vi->direction;
	e->flags = vi->is_reply ? AXON_EVENT_F_REPLY : 0;
	e->ifindex = vi->ifindex;
	e->endpoint_id = vi->endpoint_id;
	e->src_identity = vi->src_identity;
	e->dst_identity = vi->dst_identity;
	e->len = skb->len;
	e->orig = vi->orig;
	e->xlated = p->tuple;
	if (vi->orig.saddr != p->tuple.saddr || vi->orig.daddr != p->tuple.daddr ||
	    vi->orig.sport != p->tuple.sport || vi->orig.dport != p->tuple.dport)
		e->flags |= AXON_EVENT_F_NAT;
	e->tcp_flags = p->tcp_flags;
	e->verdict = verdict;
	e->match_type = vi->match_type;
	e->trace_reason = vi->trace_reason;
	e->proxy_port = vi->proxy_port;
	e->icmp_type = p->icmp_type;
	e->icmp_code = p->icmp_code;
	/* Waking the reader for every event costs more than writing it: wake
	 * it only once a batch is pending. The reader also drains after each
	 * poll timeout, so an event waits at most that long. */
	bpf_ringbuf_submit(e, bpf_ringbuf_query(&axon_events_v1, BPF_RB_AVAIL_DATA) >=
				      AXON_EVENTS_WAKEUP_BYTES
				  ? BPF_RB_FORCE_WAKEUP
				  : BPF_RB_NO_WAKEUP);
}

/* Drops the packet: counts it and reports why. */
static __always_inline int drop(struct __sk_buff *skb, const struct axon_pkt *p,
				const struct axon_verdict_info *vi, __u8 reason)
{
	account(vi->direction, reason, skb->len);
	emit_event(skb, p, vi, AXON_EVENT_DROP, reason, AXON_VERDICT_DROPPED);
	return TC_ACT_SHOT;
}

#endif /* AXON_BPF_EVENTS_H */
