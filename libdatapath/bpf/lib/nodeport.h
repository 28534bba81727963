/* External traffic to Services (NodePort, LoadBalancer IPs, externalIPs,
 * hostPort), on the TC ingress of the node's network device.
 *
 * A connection to a frontend flagged AXON_LB_F_EXTERNAL gets a backend as
 * lb4_dnat chooses it (same conntrack, Maglev and affinity as for pods):
 * - a backend on this node (AXON_LB_BACKEND_F_LOCAL; or externalTrafficPolicy
 *   Local, whose frontends
 *   list only local backends): the packet goes on to the node's stack, which
 *   routes it to the pod, marked AXON_MARK_NODEPORT | service id << 16. The
 *   pod's to-container records the id in the connection and its
 *   from-container turns the replies back into the frontend's. The client's
 *   address stays.
 * - a backend on another node with externalTrafficPolicy Cluster: the source
 *   becomes this node's address and a free port (axon_snat4_v1), the packet
 *   leaves at once through the device the FIB names; the backend's reply
 *   comes back here, is translated back (client as destination, frontend as
 *   source) and leaves the same way. */
#ifndef AXON_BPF_NODEPORT_H
#define AXON_BPF_NODEPORT_H

#include <linux/if_ether.h>

#include "lib/config.h"
#include "lib/lb.h"
#include "lib/maps.h"
#include "lib/nat.h"
#include "lib/proxy.h"

#ifndef AF_INET
#define AF_INET 2
#endif

/* Ports a NAT port is taken from when the client's own port is in use
 * towards the same backend (Linux's default ephemeral range). */
#define NODEPORT_NAT_MIN 32768
#define NODEPORT_NAT_RANGE 28232
#define NODEPORT_NAT_TRIES 16

static __always_inline void snat_key(struct axon_snat4_key *k, __be32 saddr, __be32 daddr,
				     __be16 sport, __be16 dport, __u8 proto, __u8 dir)
{
	k->saddr = saddr;
	k->daddr = daddr;
	k->sport = sport;
	k->dport = dport;
	k->proto = proto;
	k->dir = dir;
	k->pad = 0;
}

/* How long a translation lives after this packet: TCP's close timeout once a
 * FIN or RST passed (the mapping ends with the connection), else the
 * established (or UDP) lifetime. */
static __always_inline __u64 nodeport_lifetime_ns(const struct axon_pkt *p)
{
	__u32 s = cfg_ct_other_s;

	if (p->tuple.proto == IPPROTO_TCP)
		s = p->tcp_flags & (TCP_FLAG_FIN | TCP_FLAG_RST) ? cfg_ct_tcp_close_s
								  : cfg_ct_tcp_established_s;
	return (__u64)s * NSEC_PER_SEC;
}

/* Moves a translation's deadline: on when it moved by more than a second,
 * back at once when the connection closes. */
static __always_inline void snat_refresh(struct axon_snat4_entry *e, const struct axon_pkt *p,
					 __u64 now)
{
	__u64 expires = now + nodeport_lifetime_ns(p);

	if (expires > e->expires_ns + NSEC_PER_SEC || expires < e->expires_ns)
		e->expires_ns = expires;
}

/* Sends the packet out of the device the FIB names for its destination, with
 * that hop's MAC addresses (or the kernel resolves the neighbour). */
static __always_inline int fib_redirect(struct __sk_buff *skb, const struct axon_pkt *p)
{
	struct bpf_fib_lookup fib = {};
	int ret;

	fib.family = AF_INET;
	fib.l4_protocol = p->tuple.proto;
	fib.sport = p->tuple.sport;
	fib.dport = p->tuple.dport;
	fib.tot_len = (__u16)(p->len - ETH_HLEN);
	fib.ipv4_src = p->tuple.saddr;
	fib.ipv4_dst = p->tuple.daddr;
	fib.ifindex = skb->ifindex;
	ret = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
	if (ret == BPF_FIB_LKUP_RET_SUCCESS) {
		if (bpf_skb_store_bytes(skb, 0, fib.dmac, ETH_ALEN, 0) ||
		    bpf_skb_store_bytes(skb, ETH_ALEN, fib.smac, ETH_ALEN, 0))
			return -AXON_DROP_WRITE_ERROR;
		return bpf_redirect(fib.ifindex, 0);
	}
	if (ret == BPF_FIB_LKUP_RET_NO_NEIGH) {
		struct bpf_redir_neigh nh = {.nh_family = AF_INET, .ipv4_nh = fib.ipv4_dst};

		return bpf_redirect_neigh(fib.ifindex, &nh, sizeof(nh), 0);
	}
	return -AXON_DROP_NO_FIB;
}

/* The reply of a connection this node translated: back to the client, with
 * the frontend it used as source. */
static __always_inline int nodeport_reply(struct __sk_buff *skb, struct axon_pkt *p,
					  struct axon_snat4_entry *in, __u64 now)
{
	struct axon_lb4_reverse_nat *rn;
	__u32 rev = in->rev_nat_index;
	__be32 client = in->addr;
	__be16 client_port = in->port;
	int ret;

	rn = bpf_map_lookup_elem(&axon_lb4_reverse_nat_v1, &rev);
	if (!rn)
		return -AXON_DROP_NO_SERVICE; /* the Service went away */
	snat_refresh(in, p, now);
	ret = nat_rewrite(skb, p, 1, client, client_port);
	if (!ret)
		ret = nat_rewrite(skb, p, 0, rn->addr, rn->port);
	if (ret)
		return -ret;
	return fib_redirect(skb, p);
}

/* The node port a connection to `backend` leaves with: the client's own port
 * when no other connection to that backend uses it, another otherwise.
 * Writes the IN entry; returns the port (network order) or 0. */
static __always_inline __be16 snat_take_port(const struct axon_flow_tuple *client,
					     const struct axon_pkt *p, __be32 node_addr,
					     __u32 rev_nat_index, __u64 now)
{
	struct axon_snat4_key k;
	struct axon_snat4_entry in = {
	    .expires_ns = now + nodeport_lifetime_ns(p),
	    .addr = client->saddr,
	    .port = client->sport,
	    .rev_nat_index = rev_nat_index,
	};
	struct axon_snat4_entry *old;
	__be16 port = client->sport;

	for (int i = 0; i < NODEPORT_NAT_TRIES; i++) {
		snat_key(&k, p->tuple.daddr, node_addr, p->tuple.dport, port, p->tuple.proto,
			 AXON_SNAT_IN);
		old = bpf_map_lookup_elem(&axon_snat4_v1, &k);
		/* Free, expired, or this very connection's (same client and
		 * service: the node's tuple towards the backend is its own). */
		if (!old || old->expires_ns <= now ||
		    (old->addr == client->saddr && old->port == client->sport &&
		     old->rev_nat_index == rev_nat_index)) {
			if (!bpf_map_update_elem(&axon_snat4_v1, &k, &in, BPF_ANY))
				return port;
			return 0;
		}
		port = bpf_htons(NODEPORT_NAT_MIN + bpf_get_prandom_u32() % NODEPORT_NAT_RANGE);
	}
	return 0;
}

/* Does the IN entry of node_addr:port towards the packet's backend still
 * lead back to this client and service? (An LRU eviction or an expiry may
 * have given the port away.) Refreshes it when it does. */
static __always_inline int snat_in_is(const struct axon_pkt *p, __be32 node_addr, __be16 port,
				      const struct axon_flow_tuple *client,
				      const struct lb4_result *lb)
{
	struct axon_snat4_key k;
	struct axon_snat4_entry *in;

	snat_key(&k, p->tuple.daddr, node_addr, p->tuple.dport, port, p->tuple.proto, AXON_SNAT_IN);
	in = bpf_map_lookup_elem(&axon_snat4_v1, &k);
	return in && in->addr == client->saddr && in->port == client->sport &&
	       in->rev_nat_index == lb->rev_nat_index;
}

/* Source NAT of an external connection to a backend on another node. */
static __always_inline int nodeport_snat(struct __sk_buff *skb, struct axon_pkt *p,
					 const struct axon_flow_tuple *client,
					 const struct lb4_result *lb, __u64 now)
{
	struct axon_netdev_info *nd;
	struct axon_snat4_key k;
	struct axon_snat4_entry *out;
	__u32 ifindex = skb->ifindex;
	__be16 port = 0;
	int ret;

	nd = bpf_map_lookup_elem(&axon_netdevs_v1, &ifindex);
	if (!nd)
		return -AXON_DROP_NO_CONFIG;
	snat_key(&k, client->saddr, client->daddr, client->sport, client->dport, client->proto,
		 AXON_SNAT_OUT);
	out = bpf_map_lookup_elem(&axon_snat4_v1, &k);
	if (out && out->expires_ns > now && out->backend_id == lb->backend_id &&
	    out->addr == nd->ipv4 && snat_in_is(p, nd->ipv4, out->port, client, lb)) {
		port = out->port;
		snat_refresh(out, p, now);
	} else {
		struct axon_snat4_entry e = {
		    .expires_ns = now + nodeport_lifetime_ns(p),
		    .addr = nd->ipv4,
		    .backend_id = lb->backend_id,
		};

		port = snat_take_port(client, p, nd->ipv4, lb->rev_nat_index, now);
		if (!port)
			return -AXON_DROP_NAT_NO_MAPPING;
		e.port = port;
		if (bpf_map_update_elem(&axon_snat4_v1, &k, &e, BPF_ANY))
			return -AXON_DROP_NAT_NO_MAPPING;
	}
	ret = nat_rewrite(skb, p, 0, nd->ipv4, port);
	if (ret)
		return -ret;
	return fib_redirect(skb, p);
}

/* Returns a TC verdict (>= 0) or a negated drop reason. */
static __always_inline int nodeport_ingress(struct __sk_buff *skb, struct axon_pkt *p)
{
	struct axon_flow_tuple client = p->tuple;
	struct lb4_result lb = {};
	struct axon_netdev_info *nd;
	struct axon_snat4_key k;
	struct axon_snat4_entry *in;
	__u32 ifindex = skb->ifindex;
	__u64 now = bpf_ktime_get_ns();
	int ret;

	/* A reply to a translated connection is addressed to the node itself:
	 * only those packets pay the lookup in the (large) translation table. */
	nd = bpf_map_lookup_elem(&axon_netdevs_v1, &ifindex);
	if (nd && p->tuple.daddr == nd->ipv4) {
		snat_key(&k, p->tuple.saddr, p->tuple.daddr, p->tuple.sport, p->tuple.dport,
			 p->tuple.proto, AXON_SNAT_IN);
		in = bpf_map_lookup_elem(&axon_snat4_v1, &k);
		if (in && in->expires_ns > now)
			return nodeport_reply(skb, p, in, now);
	}

	ret = lb4_dnat(skb, p, now, AXON_LB_F_EXTERNAL, &lb);
	if (ret)
		return -ret;
	if (!lb.rev_nat_index)
		return TC_ACT_OK; /* not for an external frontend */
	/* A Gateway's frontend: to the node's proxy, which routes each request
	 * (fail closed: no proxy listening, dropped). */
	if (lb.flags & AXON_LB_F_L7) {
		ret = proxy_redirect(skb, p, lb.l7_proxy_port, 1, 0);
		return ret ? -ret : TC_ACT_OK;
	}
	if (!(lb.flags & AXON_LB_F_SNAT) || (lb.backend_flags & AXON_LB_BACKEND_F_LOCAL)) {
		skb->mark = AXON_MARK_NODEPORT | (lb.rev_nat_index << 16);
		return TC_ACT_OK;
	}
	return nodeport_snat(skb, p, &client, &lb, now);
}

#endif /* AXON_BPF_NODEPORT_H */
