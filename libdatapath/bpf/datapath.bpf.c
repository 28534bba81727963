// axon's datapath: the two programs on the host side of every pod's veth.
//
//   from-container (TC ingress of the host veth: packets leaving the pod)
//     Service DNAT -> conntrack (replies and related ICMP errors pass)
//     -> egress policy (skipped while the connection's check is current)
//     -> conntrack create -> for a pod of this node: host routing
//   to-container   (TC egress of the host veth: packets entering the pod)
//     conntrack -> reverse NAT of Service replies | ingress policy -> create
//   to-container-local (tail call of from-container: host routing)
//     the destination pod's to-container verdict -> straight into the pod
//
// Both programs serve every endpoint of a node; they find the endpoint by
// skb->ifindex in axon_endpoints_v1. Nothing here assumes that the peer is on
// the same node. Maps: lib/*_maps.h (all in lib/maps.h); layouts: axon/abi/.
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
#include "lib/reject.h"
#include "lib/conntrack.h"
#include "lib/lb.h"
#include "lib/nodeport.h"
#include "lib/l2.h"
#include "lib/proxy.h"

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
				    struct axon_verdict_info *vi, struct axon_endpoint_info **ep,
				    __u32 ifindex)
{
	struct axon_endpoint_key ek = {.ifindex = ifindex};
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

/* A drop on the way to a Service; one without backends is also answered
 * (serviceNoBackendResponse: reject) after being reported as the drop it is. */
static __always_inline int drop_or_reject(struct __sk_buff *skb, struct axon_pkt *p,
					  struct axon_verdict_info *vi, int reason)
{
	int ret = drop(skb, p, vi, reason);

	if (reason != AXON_DROP_NO_SERVICE || !cfg_no_backend_reject)
		return ret;
	ret = lb4_reject(skb, p);
	return ret >= 0 ? ret : TC_ACT_SHOT;
}

/* The verdict of a packet that passes: count, report when worth it. */
static __always_inline int pass(struct __sk_buff *skb, const struct axon_pkt *p,
				const struct axon_verdict_info *vi, __u8 point, int report)
{
	__u8 verdict = AXON_VERDICT_FORWARDED;

	if (vi->proxy_port) {
		int reason = proxy_redirect(skb, p, vi->proxy_port, vi->tc_ingress, vi->is_reply);

		if (reason)
			return drop(skb, p, vi, reason);
		point = AXON_TRACE_TO_PROXY;
		verdict = AXON_VERDICT_REDIRECTED;
	}
	account(vi->direction, AXON_DROP_NONE, skb->len);
	if (report || cfg_trace_every_packet)
		emit_event(skb, p, vi, AXON_EVENT_TRACE, point, verdict);
	/* At TC egress: out of the proxy device, to axon_to_proxy on its peer
	 * (lib/proxy.h). */
	if (vi->proxy_port && !vi->tc_ingress)
		return bpf_redirect(cfg_proxy_ifindex, 0);
	return TC_ACT_OK;
}

/* The peer of a packet seen from the endpoint: the destination of a packet
 * leaving the pod, the source of one entering it. Host routing hands over the
 * sending pod's identity (vi->peer_hint), saving the ipcache lookup. */
static __always_inline __u32 peer_identity(const struct axon_verdict_info *vi,
					   const struct axon_pkt *p, __u8 dir)
{
	if (vi->peer_hint)
		return vi->peer_hint;
	return ipcache_identity(dir == AXON_DIR_EGRESS ? p->tuple.daddr : p->tuple.saddr);
}

static __always_inline void set_peer(struct axon_verdict_info *vi, __u8 dir, __u32 identity)
{
	if (dir == AXON_DIR_EGRESS)
		vi->dst_identity = identity;
	else
		vi->src_identity = identity;
}

static __always_inline __u8 trace_point(__u8 dir)
{
	return dir == AXON_DIR_EGRESS ? AXON_TRACE_FROM_ENDPOINT : AXON_TRACE_TO_ENDPOINT;
}

/* A reply (or related ICMP error) of a tracked connection: no policy. The
 * peer's identity is looked up only when there is something to report (and
 * only if the caller has not, e.g. before a reverse NAT). */
static __always_inline int pass_reply(struct __sk_buff *skb, struct axon_pkt *p,
				      struct axon_verdict_info *vi, __u8 dir, __u8 reason,
				      int report)
{
	__u32 known = dir == AXON_DIR_EGRESS ? vi->dst_identity : vi->src_identity;

	vi->is_reply = 1;
	vi->trace_reason = reason;
	if ((report || cfg_trace_every_packet) && !known)
		set_peer(vi, dir, peer_identity(vi, p, dir));
	return pass(skb, p, vi, trace_point(dir), report);
}

/* A forward packet of a tracked connection: policy is looked up again only
 * when the policy epoch moved since the connection's last check. */
static __always_inline int pass_established(struct __sk_buff *skb, struct axon_pkt *p,
					    struct axon_verdict_info *vi, struct axon_ct_entry *ct,
					    __u8 dir, __u32 epoch, __u64 now)
{
	struct axon_policy_value pol = {};
	__u32 *checked = dir == AXON_DIR_EGRESS ? &ct->egress_epoch : &ct->ingress_epoch;
	__u16 *proxy = dir == AXON_DIR_EGRESS ? &ct->egress_proxy : &ct->ingress_proxy;
	__u32 peer = 0;
	int ret, report;

	vi->trace_reason = AXON_TRACE_REASON_ESTABLISHED;
	if (*checked != epoch && !(ct->flags & AXON_CT_F_HAIRPIN)) {
		peer = peer_identity(vi, p, dir);
		set_peer(vi, dir, peer);
		ret = policy_check(vi->endpoint_id, peer, dir, p, &pol);
		vi->match_type = pol.match_type;
		if (ret)
			return drop(skb, p, vi, ret);
		*proxy = pol.verdict == AXON_POLICY_REDIRECT ? pol.proxy_port : vi->l7_lb_port;
		*checked = epoch;
	}
	vi->proxy_port = vi->from_proxy ? 0 : *proxy;
	report = ct_update(ct, p, 0, dir, now);
	if ((report || cfg_trace_every_packet) && !peer)
		set_peer(vi, dir, peer_identity(vi, p, dir));
	return pass(skb, p, vi, trace_point(dir), report);
}

int axon_to_container_local(struct __sk_buff *skb);

/* Tail calls (not pinned: each load of the programs has its own). */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__array(values, int(void *));
} axon_calls SEC(".maps") = {
    .values = {[0] = (void *)&axon_to_container_local},
};

/* The pod of this node a packet goes to, for host routing; NULL for other
 * destinations. A connection remembers whether its peer was local
 * (AXON_CT_F_LOCAL_PEER), so packets of other connections skip the lookup. */
static __always_inline struct axon_lxc_info *local_destination(const struct axon_pkt *p)
{
	struct axon_lxc_key key = {.ipv4 = p->tuple.daddr};

	if (!cfg_host_routing)
		return NULL;
	return bpf_map_lookup_elem(&axon_lxc_v1, &key);
}

/* BPF host routing: a packet from-container passed, bound for another pod of
 * this node, goes straight into that pod, routed as the node would route it
 * (TTL decremented, the pod's gateway MAC as source), after the destination's
 * to-container verdict (axon_to_container_local). Packets the node's stack
 * has to see stay with it: those for the proxy, those whose TTL expires (the
 * stack answers with an ICMP error) and those back to the sending pod. */
static __always_inline int route_local(struct __sk_buff *skb, struct axon_lxc_info *lxc,
				       __u16 proxy_port, __u32 src_identity, __u64 now)
{
	void *data, *data_end;
	struct iphdr *ip;
	__be16 old, new;

	if (!lxc || proxy_port || lxc->ifindex == skb->ifindex)
		return TC_ACT_OK;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	ip = data + ETH_HLEN;
	if ((void *)(ip + 1) > data_end || ip->ttl <= 1)
		return TC_ACT_OK;
	/* TTL and protocol are one checksum word. Written through helpers, not
	 * directly: a direct write would make every run unclone the packet. */
	old = *(__be16 *)&ip->ttl;
	new = bpf_htons(bpf_ntohs(old) - 0x100);
	if (bpf_skb_store_bytes(skb, ETH_HLEN + offsetof(struct iphdr, ttl), &new, 2, 0) ||
	    bpf_l3_csum_replace(skb, ETH_HLEN + offsetof(struct iphdr, check), old, new, 2) ||
	    bpf_skb_store_bytes(skb, 0, lxc->mac, 2 * ETH_ALEN, 0)) /* mac, host_mac */
		return TC_ACT_SHOT;
	count(AXON_COUNTER_HOST_ROUTED);
	skb->cb[0] = lxc->ifindex;
	skb->cb[1] = src_identity;
	skb->cb[2] = (__u32)now; /* one clock reading for both verdicts */
	skb->cb[3] = (__u32)(now >> 32);
	bpf_tail_call(skb, &axon_calls, 0);
	return bpf_redirect(lxc->ifindex, 0); /* no tail call: through the veth */
}

/* Hairpin delivery: the packet goes back into the pod it came from, as
 * the node would route it (source and destination MAC swapped). */
static __always_inline int hairpin_deliver(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u8 macs[2 * ETH_ALEN];

	if ((void *)(eth + 1) > data_end)
		return TC_ACT_SHOT;
	__builtin_memcpy(macs, eth->h_source, ETH_ALEN);
	__builtin_memcpy(macs + ETH_ALEN, eth->h_dest, ETH_ALEN);
	if (bpf_skb_store_bytes(skb, 0, macs, sizeof(macs), 0))
		return TC_ACT_SHOT;
	return bpf_redirect_peer(skb->ifindex, 0);
}

/* A pod reaching itself through a Service: the source becomes
 * AXON_HAIRPIN_IPV4 (same port) so that the replies leave the pod. */
static __always_inline int hairpin_snat(struct __sk_buff *skb, struct axon_pkt *p)
{
	return nat_rewrite(skb, p, 0, bpf_htonl(AXON_HAIRPIN_IPV4), p->tuple.sport);
}

/* A reply within the pod of a hairpin connection: back to the pod's own
 * address as destination, the Service's VIP:port as source. */
static __always_inline int hairpin_reply_nat(struct __sk_buff *skb, struct axon_pkt *p,
					     const struct axon_endpoint_info *ep,
					     const struct axon_ct_entry *ct)
{
	int ret = nat_rewrite(skb, p, 1, ep->ipv4, p->tuple.dport);

	return ret ? ret : lb4_rev_nat(skb, p, ct->rev_nat_index);
}

/* A packet that opens a connection (or this end's part of it): policy, then
 * a conntrack entry (`ct`: the other end's entry, if ct_lookup found one). */
static __always_inline int admit_new(struct __sk_buff *skb, struct axon_pkt *p,
				     struct axon_verdict_info *vi, __u8 dir,
				     struct axon_ct_entry *ct, __u32 rev_nat_index, __u32 epoch,
				     __u64 now, __u8 ct_flags)
{
	struct axon_policy_value pol = {};
	__u32 peer = ct_flags & AXON_CT_F_HAIRPIN ? vi->src_identity : peer_identity(vi, p, dir);
	int ret = 0;

	set_peer(vi, dir, peer);
	if (!(ct_flags & AXON_CT_F_HAIRPIN))
		ret = policy_check(vi->endpoint_id, peer, dir, p, &pol);
	vi->match_type = pol.match_type;
	if (ret)
		return drop(skb, p, vi, ret);
	/* An http rule's redirect first (its proxy enforces the rules, then
	 * connects to the original destination); else a Gateway's frontend
	 * goes to the Gateway's listener. */
	if (pol.verdict == AXON_POLICY_REDIRECT && !vi->from_proxy)
		vi->proxy_port = pol.proxy_port;
	else if (vi->l7_lb_port && !vi->from_proxy)
		vi->proxy_port = vi->l7_lb_port;
	ret = ct_create(p, dir, rev_nat_index, vi->proxy_port, epoch, now, ct_flags, ct,
			vi->from_proxy);
	if (ret)
		return drop(skb, p, vi, ret);
	vi->trace_reason = AXON_TRACE_REASON_NEW;
	return pass(skb, p, vi, trace_point(dir), 1);
}

SEC("tc")
int axon_from_container(struct __sk_buff *skb)
{
	struct axon_pkt p = {};
	struct axon_verdict_info vi = {
	    .direction = AXON_DIR_EGRESS, .ifindex = skb->ifindex, .tc_ingress = 1};
	struct axon_endpoint_info *ep = NULL;
	struct axon_ct_entry *ct = NULL;
	struct axon_lxc_info *lxc = NULL;
	struct lb4_result lb = {};
	__u32 rev_nat_index, epoch;
	__u64 now;
	int ret, hairpin;

	ret = prologue(skb, &p, &vi, &ep, skb->ifindex);
	if (ret >= 0 || !ep)
		return ret >= 0 ? ret : TC_ACT_SHOT;
	vi.src_identity = ep->identity;
	if (p.tuple.saddr != ep->ipv4) {
		vi.dst_identity = ipcache_identity(p.tuple.daddr);
		return drop(skb, &p, &vi, AXON_DROP_INVALID_SOURCE_IP);
	}
	now = bpf_ktime_get_ns();
	ret = lb4_dnat(skb, &p, now, 0, &lb);
	/* A Gateway's frontend: the connection goes, untranslated, to the
	 * node proxy's listener for it (after the pod's egress policy). */
	if (!ret && (lb.flags & AXON_LB_F_L7)) {
		vi.l7_lb_port = lb.l7_proxy_port;
		lb.rev_nat_index = 0;
	}
	rev_nat_index = lb.rev_nat_index;
	hairpin = !ret && rev_nat_index && p.tuple.daddr == p.tuple.saddr;
	if (hairpin)
		ret = hairpin_snat(skb, &p);
	if (ret) {
		vi.dst_identity = ipcache_identity(p.tuple.daddr);
		return drop_or_reject(skb, &p, &vi, ret);
	}
	epoch = policy_epoch();

	/* An ICMP error about a connection this pod accepted. */
	if (ct_related(&p, AXON_CT_F_INGRESS, now)) {
		lxc = local_destination(&p);
		ret = pass_reply(skb, &p, &vi, AXON_DIR_EGRESS, AXON_TRACE_REASON_RELATED, 1);
	} else {
		switch (ct_lookup(&p, AXON_DIR_EGRESS, now, &ct)) {
		case CT_REPLY: /* of a connection this pod accepted */
			/* Its ingress went to the proxy: this answers the proxy's
			 * upstream connection (lib/proxy.h), to that socket. */
			if (ct->ingress_proxy) {
				vi.proxy_port = ct->ingress_proxy;
				ret = ct_update(ct, &p, 1, AXON_DIR_EGRESS, now);
				ret = pass_reply(skb, &p, &vi, AXON_DIR_EGRESS, AXON_TRACE_REASON_REPLY,
						 ret);
				break;
			}
			if (ct->flags & AXON_CT_F_HAIRPIN) {
				int report = ct_update(ct, &p, 1, AXON_DIR_EGRESS, now);

				vi.dst_identity = ep->identity;
				ret = hairpin_reply_nat(skb, &p, ep, ct);
				if (ret)
					return drop(skb, &p, &vi, ret);
				(void)pass_reply(skb, &p, &vi, AXON_DIR_EGRESS,
						 AXON_TRACE_REASON_REPLY, report);
				return hairpin_deliver(skb);
			}
			if (ct->flags & AXON_CT_F_LOCAL_PEER)
				lxc = local_destination(&p);
			ret = ct_update(ct, &p, 1, AXON_DIR_EGRESS, now);
			/* Of an external connection from-netdev brought to this
			 * backend (its client is no pod of this node): the reply
			 * leaves with the frontend the client used as source. */
			if (ct->rev_nat_index && !(ct->flags & AXON_CT_F_EGRESS)) {
				int err;

				vi.dst_identity = peer_identity(&vi, &p, AXON_DIR_EGRESS);
				err = lb4_rev_nat(skb, &p, ct->rev_nat_index);
				if (err)
					return drop(skb, &p, &vi, err);
				/* Its source may now be the node's own address,
				 * which the node's stack would refuse as martian:
				 * it leaves by the FIB's device at once. */
				(void)pass_reply(skb, &p, &vi, AXON_DIR_EGRESS,
						 AXON_TRACE_REASON_REPLY, ret);
				err = fib_redirect(skb, &p);
				return err >= 0 ? err : drop(skb, &p, &vi, -err);
			}
			ret = pass_reply(skb, &p, &vi, AXON_DIR_EGRESS, AXON_TRACE_REASON_REPLY, ret);
			break;
		case CT_ESTABLISHED:
			if (ct->flags & AXON_CT_F_LOCAL_PEER)
				lxc = local_destination(&p);
			ret = pass_established(skb, &p, &vi, ct, AXON_DIR_EGRESS, epoch, now);
			break;
		default:
			if (hairpin) { /* both ends are this pod */
				ret = admit_new(skb, &p, &vi, AXON_DIR_EGRESS, ct, rev_nat_index,
						epoch, now, AXON_CT_F_HAIRPIN | AXON_CT_F_INGRESS);
				break;
			}
			lxc = local_destination(&p);
			ret = admit_new(skb, &p, &vi, AXON_DIR_EGRESS, ct, rev_nat_index, epoch,
					now, lxc ? AXON_CT_F_LOCAL_PEER : 0);
		}
	}
	if (ret != TC_ACT_OK)
		return ret;
	if (hairpin)
		return hairpin_deliver(skb);
	return route_local(skb, lxc, vi.proxy_port, ep->identity, now);
}

/* Packets entering the pod behind `ifindex`: the veth's own to-container
 * program, or from-container of a pod of the same node (host routing: the
 * sender's identity and the time it read come along). */
static __always_inline int to_endpoint(struct __sk_buff *skb, __u32 ifindex, __u32 src_identity,
				       __u64 now)
{
	struct axon_pkt p = {};
	struct axon_verdict_info vi = {.direction = AXON_DIR_INGRESS,
				       .ifindex = ifindex,
				       .peer_hint = src_identity,
				       .tc_ingress = ifindex != skb->ifindex}; /* host routing */
	struct axon_endpoint_info *ep = NULL;
	struct axon_ct_entry *ct = NULL;
	__u32 epoch, nodeport_rev_nat = 0;
	int ret, report;

	/* The answer of a Service without backends (lib/reject.h), on its way
	 * back into the pod that asked: no policy stands between them. */
	if ((skb->mark & AXON_MARK_PROXY_MASK) == AXON_MARK_REJECT) {
		skb->mark = 0;
		return TC_ACT_OK;
	}
	vi.from_proxy = (skb->mark & AXON_MARK_PROXY_MASK) == AXON_MARK_FROM_PROXY;
	/* An external connection from-netdev translated to this backend. */
	if ((skb->mark & AXON_MARK_PROXY_MASK) == AXON_MARK_NODEPORT) {
		nodeport_rev_nat = skb->mark >> 16;
		skb->mark = 0;
	}
	ret = prologue(skb, &p, &vi, &ep, ifindex);
	if (ret >= 0 || !ep)
		return ret >= 0 ? ret : TC_ACT_SHOT;
	vi.dst_identity = ep->identity;
	if (nodeport_rev_nat) {
		/* Its flow names the frontend the client asked for (the
		 * NodePort or LoadBalancer IP), as a pod's Service flows do. */
		struct axon_lb4_reverse_nat *rn =
		    bpf_map_lookup_elem(&axon_lb4_reverse_nat_v1, &nodeport_rev_nat);

		if (rn) {
			vi.orig.daddr = rn->addr;
			vi.orig.dport = rn->port;
		}
	}
	if (!now)
		now = bpf_ktime_get_ns();
	epoch = policy_epoch();

	/* An ICMP error about a connection this pod opened; about a Service
	 * connection, it is translated back to name the VIP:port. */
	ct = ct_related(&p, AXON_CT_F_EGRESS, now);
	if (ct) {
		vi.src_identity = peer_identity(&vi, &p, AXON_DIR_INGRESS); /* before NAT */
		if (ct->rev_nat_index) {
			ret = lb4_rev_nat(skb, &p, ct->rev_nat_index);
			if (ret)
				return drop(skb, &p, &vi, ret);
		}
		return pass_reply(skb, &p, &vi, AXON_DIR_INGRESS, AXON_TRACE_REASON_RELATED, 1);
	}
	switch (ct_lookup(&p, AXON_DIR_INGRESS, now, &ct)) {
	case CT_REPLY:
		/* Of a connection this pod opened; a Service's backend
		 * answers with the Service's address. */
		report = ct_update(ct, &p, 1, AXON_DIR_INGRESS, now);
		if (report || cfg_trace_every_packet) /* the backend, before reverse NAT */
			vi.src_identity = peer_identity(&vi, &p, AXON_DIR_INGRESS);
		/* The peer answers the proxy's upstream connection (its egress
		 * went to the proxy, lib/proxy.h): to that socket, untranslated. */
		if (ct->egress_proxy && !vi.from_proxy) {
			vi.proxy_port = ct->egress_proxy;
			return pass_reply(skb, &p, &vi, AXON_DIR_INGRESS, AXON_TRACE_REASON_REPLY,
					  report);
		}
		if (ct->rev_nat_index) {
			ret = lb4_rev_nat(skb, &p, ct->rev_nat_index);
			if (ret)
				return drop(skb, &p, &vi, ret);
		}
		return pass_reply(skb, &p, &vi, AXON_DIR_INGRESS, AXON_TRACE_REASON_REPLY, report);
	case CT_ESTABLISHED:
		return pass_established(skb, &p, &vi, ct, AXON_DIR_INGRESS, epoch, now);
	default:
		/* A connection host routing brought from a pod of this node:
		 * the pod's replies are host-routed back. */
		return admit_new(skb, &p, &vi, AXON_DIR_INGRESS, ct, nodeport_rev_nat, epoch, now,
				 src_identity ? AXON_CT_F_LOCAL_PEER : 0);
	}
}

SEC("tc")
int axon_to_container(struct __sk_buff *skb)
{
	return to_endpoint(skb, skb->ifindex, 0, 0);
}

/* Host routing's second half, tail-called by from-container with the
 * destination's veth in cb[0]: the destination pod's to-container verdict,
 * then straight into the pod (bpf_redirect_peer: no second pass through the
 * host side of its veth). A packet for the proxy goes through the node's
 * stack instead. */
SEC("tc")
int axon_to_container_local(struct __sk_buff *skb)
{
	__u32 ifindex = skb->cb[0];
	int ret = to_endpoint(skb, ifindex, skb->cb[1], skb->cb[2] | (__u64)skb->cb[3] << 32);

	if (ret != TC_ACT_OK || (skb->mark & AXON_MARK_PROXY_MASK) == AXON_MARK_PROXY)
		return ret;
	return bpf_redirect_peer(ifindex, 0);
}

#define PACKET_HOST_ 0 /* skb->pkt_type: to this host's MAC (linux/if_packet.h) */

/* The node's proxy device axon_net (TC ingress): packets to-container sent
 * out of its peer axon_host for the proxy (lib/proxy.h), their policy verdict
 * and event done; only the socket assignment is left. Anything else on this
 * device is dropped: it is no way into the node. */
SEC("tc")
int axon_to_proxy(struct __sk_buff *skb)
{
	struct axon_pkt p = {};
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((skb->mark & AXON_MARK_PROXY_MASK) != AXON_MARK_PROXY)
		return TC_ACT_SHOT;
	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    parse_ipv4(skb, &p) ||
	    proxy_redirect(skb, &p, skb->mark >> 16, 1, skb->mark & AXON_MARK_PROXY_REPLY) ||
	    /* The frame is still addressed to the pod's MAC: the stack would
	     * drop it as for another host. */
	    bpf_skb_change_type(skb, PACKET_HOST_)) {
		count(AXON_COUNTER_PROXY_REENTRY_FAILED);
		return TC_ACT_SHOT;
	}
	return TC_ACT_OK;
}

/* The node's network device (TC ingress), as Cilium's from-netdev: external
 * clients (the LAN, other nodes, pods of other nodes) reaching a NodePort,
 * LoadBalancer IP, externalIP or hostPort of this node (lib/nodeport.h), and
 * ARP requests for the addresses this node announces (lib/l2.h). Everything
 * else goes on to the node's stack untouched. */

SEC("tc")
int axon_from_netdev(struct __sk_buff *skb)
{
	struct axon_pkt p = {};
	struct axon_verdict_info vi = {.direction = AXON_DIR_INGRESS, .ifindex = skb->ifindex};
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	int ret;

	if ((void *)(eth + 1) > data_end)
		return TC_ACT_OK;
	if (eth->h_proto == bpf_htons(ETH_P_ARP)) {
		ret = l2_arp_reply(skb); /* an address this node announces? */
		return ret >= 0 ? ret : TC_ACT_OK;
	}
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	/* Only frames sent to this node: a switch floods unicast it has no
	 * port for (a failed node's MAC, until the LAN learns the new one) to
	 * every node, and none but the addressee may answer it. */
	if (skb->pkt_type != PACKET_HOST_)
		return TC_ACT_OK;
	if (parse_ipv4(skb, &p) || (p.tuple.proto != IPPROTO_TCP && p.tuple.proto != IPPROTO_UDP))
		return TC_ACT_OK; /* the stack's to judge */
	vi.orig = p.tuple;
	ret = nodeport_ingress(skb, &p);
	if (ret >= 0)
		return ret;
	ret = -ret;
	vi.src_identity = ipcache_identity(vi.orig.saddr);
	vi.dst_identity = ipcache_identity(p.tuple.daddr);
	return drop_or_reject(skb, &p, &vi, ret);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
