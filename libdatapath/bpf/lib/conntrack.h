/* Connection tracking: is a packet new, part of a connection this end
 * admitted, or a reply to one? One entry per connection and node, whichever
 * ends are pods of the node (axon/abi/conntrack.h). TCP state follows
 * SYN/FIN/RST for lifetimes; UDP and ICMP echo live for cfg_ct_other_s after
 * their last packet. */
#ifndef AXON_BPF_CONNTRACK_H
#define AXON_BPF_CONNTRACK_H

#include "lib/config.h"
#include "lib/maps.h"
#include "lib/parse.h"

enum ct_status {
	CT_NEW = 0,
	CT_ESTABLISHED = 1, /* forward packet of a tracked connection */
	CT_REPLY = 2,	    /* reply packet of a tracked connection */
};

static __always_inline void ct_key_forward(struct axon_ct_key *k, const struct axon_flow_tuple *t,
					   __u8 scope)
{
	k->saddr = t->saddr;
	k->daddr = t->daddr;
	k->sport = t->sport;
	k->dport = t->dport;
	k->proto = t->proto;
	k->scope = scope;
	k->pad = 0;
}

static __always_inline void ct_key_reverse(struct axon_ct_key *k, const struct axon_flow_tuple *t,
					   __u8 scope)
{
	k->saddr = t->daddr;
	k->daddr = t->saddr;
	k->sport = t->dport;
	k->dport = t->sport;
	k->proto = t->proto;
	k->scope = scope;
	k->pad = 0;
}

static __always_inline __u64 ct_lifetime_ns(const struct axon_ct_entry *e, __u8 proto)
{
	__u32 s;

	if (proto != IPPROTO_TCP)
		s = cfg_ct_other_s;
	else if (e->flags & (AXON_CT_F_TX_CLOSING | AXON_CT_F_RX_CLOSING))
		s = cfg_ct_tcp_close_s;
	else if (e->flags & AXON_CT_F_SEEN_REPLY)
		s = cfg_ct_tcp_established_s;
	else
		s = cfg_ct_tcp_syn_s;
	return (__u64)s * NSEC_PER_SEC;
}

static __always_inline int ct_closed(const struct axon_ct_entry *e)
{
	return (e->flags & (AXON_CT_F_TX_CLOSING | AXON_CT_F_RX_CLOSING)) ==
	       (AXON_CT_F_TX_CLOSING | AXON_CT_F_RX_CLOSING);
}

/* Is the packet more likely a reply than a forward packet? Only the order of
 * the two lookups depends on it (each miss in the large table is a cache
 * miss): a SYN-ACK is always a reply, and a packet from the lower port to
 * the higher one usually comes from the server's (well-known) port. */
static __always_inline int ct_reply_likely(const struct axon_pkt *p)
{
	if (p->tuple.proto == IPPROTO_TCP &&
	    (p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == (TCP_FLAG_SYN | TCP_FLAG_ACK))
		return 1;
	if (p->tuple.proto != IPPROTO_TCP && p->tuple.proto != IPPROTO_UDP)
		return 0;
	return bpf_ntohs(p->tuple.sport) < bpf_ntohs(p->tuple.dport);
}

/* The end a program speaks for: the from-container of the source pod
 * (egress) or the to-container of the destination pod (ingress). */
static __always_inline __u8 ct_end(__u8 dir)
{
	return dir == AXON_DIR_EGRESS ? AXON_CT_F_EGRESS : AXON_CT_F_INGRESS;
}

static __always_inline __u8 ct_other_end(__u8 dir)
{
	return dir == AXON_DIR_EGRESS ? AXON_CT_F_INGRESS : AXON_CT_F_EGRESS;
}

static __always_inline __u8 ct_seen_shift(__u8 dir)
{
	return dir == AXON_DIR_EGRESS ? 0 : AXON_CT_SEEN_SHIFT_INGRESS;
}

static __always_inline int ct_pure_syn(const struct axon_pkt *p)
{
	return p->tuple.proto == IPPROTO_TCP &&
	       (p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
}

static __always_inline struct axon_ct_entry *ct_find(struct axon_ct_key *key,
						     const struct axon_pkt *p, int reverse,
						     __u64 now)
{
	struct axon_ct_entry *e;

	if (reverse)
		ct_key_reverse(key, &p->tuple, AXON_CT_CONN);
	else
		ct_key_forward(key, &p->tuple, AXON_CT_CONN);
	e = bpf_map_lookup_elem(&axon_ct4_v2, key);
	return e && e->expires_ns > now ? e : NULL;
}

/* Looks the packet up as a reply (reversed tuple, an entry the other end
 * admitted) and as a forward packet (an entry this end admitted). *entry
 * points into the map on a hit; on CT_NEW it may point to the connection's
 * entry made by the other end, for ct_create to complete.
 *
 * A TCP SYN without ACK opens a connection whatever the table holds: it is
 * never a reply (a simultaneous open is checked against policy like any new
 * connection), and a SYN on an entry that is still open (a retransmission,
 * a reused port) is checked again. */
static __always_inline enum ct_status ct_lookup(const struct axon_pkt *p, __u8 dir, __u64 now,
						struct axon_ct_entry **entry)
{
	struct axon_ct_key key;
	struct axon_ct_entry *e, *forward;
	int reply_first;

	if (ct_pure_syn(p))
		return CT_NEW;
	reply_first = ct_reply_likely(p);
	if (reply_first) {
		e = ct_find(&key, p, 1, now);
		if (e && (e->flags & ct_other_end(dir))) {
			*entry = e;
			return CT_REPLY;
		}
	}
	forward = ct_find(&key, p, 0, now);
	if (forward && (forward->flags & ct_end(dir))) {
		*entry = forward;
		return CT_ESTABLISHED;
	}
	if (!reply_first) {
		e = ct_find(&key, p, 1, now);
		if (e && (e->flags & ct_other_end(dir))) {
			*entry = e;
			return CT_REPLY;
		}
	}
	*entry = forward; /* the other end's entry, if any, for ct_create */
	return CT_NEW;
}

/* Is the packet an ICMP error about a connection the end `end` admitted?
 * Returns its entry, or NULL.
 * The embedded packet is one the sender of the error received: for an error
 * leaving a pod, a packet of a connection it accepted (ingress); for one
 * entering a pod, a packet of a connection it opened (egress). */
static __always_inline struct axon_ct_entry *ct_related(const struct axon_pkt *p, __u8 end,
							 __u64 now)
{
	struct axon_ct_key key;
	struct axon_ct_entry *e;

	if (!p->icmp_error)
		return NULL;
	ct_key_forward(&key, &p->inner, AXON_CT_CONN);
	e = bpf_map_lookup_elem(&axon_ct4_v2, &key);
	return e && e->expires_ns > now && (e->flags & end) ? e : NULL;
}

/* Updates a tracked connection with one more packet, seen by the program of
 * direction `dir`. Returns 1 when the packet changed what that program
 * reports (TCP flags it has not seen yet, the first reply). */
static __always_inline int ct_update(struct axon_ct_entry *e, const struct axon_pkt *p, int reply,
				     __u8 dir, __u64 now)
{
	__u8 flags = e->flags, report = 0, shift = ct_seen_shift(dir);
	__u64 expires;

	if (p->tuple.proto == IPPROTO_TCP) {
		__u8 news = (p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_FIN | TCP_FLAG_RST)) << shift;
		__u8 seen = reply ? e->rx_flags_seen : e->tx_flags_seen;

		if ((seen | news) != seen) {
			if (reply)
				e->rx_flags_seen = seen | news;
			else
				e->tx_flags_seen = seen | news;
			report = 1;
		}
		if (p->tcp_flags & TCP_FLAG_RST)
			flags |= AXON_CT_F_TX_CLOSING | AXON_CT_F_RX_CLOSING;
		else if (p->tcp_flags & TCP_FLAG_FIN)
			flags |= reply ? AXON_CT_F_RX_CLOSING : AXON_CT_F_TX_CLOSING;
	}
	if (reply) {
		__u8 first = AXON_CT_SEEN_REPLY_BIT << shift;

		flags |= AXON_CT_F_SEEN_REPLY;
		if (!(e->rx_flags_seen & first)) {
			e->rx_flags_seen |= first;
			report = 1;
		}
	}
	if (flags != e->flags)
		e->flags = flags;
	/* Write the deadline only when it moves by more than a second (or
	 * shrinks, when a connection closes): entries stay cache-friendly. */
	expires = now + ct_lifetime_ns(e, p->tuple.proto);
	if (expires > e->expires_ns + NSEC_PER_SEC || expires < e->expires_ns)
		e->expires_ns = expires;
	return report;
}

/* This end's policy check: the epoch it was made in, its proxy port. */
static __always_inline void ct_set_end(struct axon_ct_entry *e, __u8 dir, __u32 epoch,
				       __u16 proxy_port)
{
	if (dir == AXON_DIR_EGRESS) {
		e->egress_epoch = epoch;
		e->egress_proxy = proxy_port;
	} else {
		e->ingress_epoch = epoch;
		e->ingress_proxy = proxy_port;
	}
}

/* Records that this end admitted a new connection (policy said yes).
 * `existing`: the entry ct_lookup found, or NULL to look; `from_proxy`: the
 * packet is the proxy's own (its redirect, if any, is kept). Returns 0 or a
 * drop reason.
 *
 * When the other end of a live connection has admitted it already (both pods
 * on this node: the source's from-container runs first), this end joins its
 * entry: one entry per connection, however many ends are local. A SYN from
 * the source, an entry that is closed or expired, or one the other end never
 * admitted starts over. An entry of the same tuple is overwritten in place
 * (a client reusing its port while the old entry lingers, closed):
 * replacing the element would take a fresh one off the LRU's free list and
 * push the old one back, the dearest part of a short connection's cost. */
static __always_inline int ct_create(const struct axon_pkt *p, __u8 dir, __u32 rev_nat_index,
				     __u16 proxy_port, __u32 epoch, __u64 now, __u8 flags,
				     struct axon_ct_entry *existing, int from_proxy)
{
	struct axon_ct_key key;
	struct axon_ct_entry *e = existing;
	__u8 shift = ct_seen_shift(dir);
	__u8 seen = 0;
	struct axon_ct_entry fresh = {
	    .rev_nat_index = rev_nat_index,
	};

	flags |= ct_end(dir) | (proxy_port ? AXON_CT_F_PROXY : 0);
	if (p->tuple.proto == IPPROTO_TCP) {
		seen = p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_FIN | TCP_FLAG_RST);
		if (p->tcp_flags & TCP_FLAG_RST)
			flags |= AXON_CT_F_TX_CLOSING | AXON_CT_F_RX_CLOSING;
		else if (p->tcp_flags & TCP_FLAG_FIN)
			flags |= AXON_CT_F_TX_CLOSING;
	}
	ct_key_forward(&key, &p->tuple, AXON_CT_CONN);
	if (!e)
		e = bpf_map_lookup_elem(&axon_ct4_v2, &key);
	/* The proxy's upstream leg of a redirected connection has its 4-tuple
	 * (lib/proxy.h): the connection keeps its redirect, so the peer's
	 * answers still go to the proxy. */
	if (from_proxy && e && e->expires_ns > now) {
		proxy_port = dir == AXON_DIR_EGRESS ? e->egress_proxy : e->ingress_proxy;
		if (proxy_port)
			flags |= AXON_CT_F_PROXY;
	}
	if (e && e->expires_ns > now && !ct_closed(e) && (e->flags & ct_other_end(dir)) &&
	    !(dir == AXON_DIR_EGRESS && ct_pure_syn(p))) {
		/* Join the other end's entry. */
		ct_set_end(e, dir, epoch, proxy_port);
		e->tx_flags_seen |= seen << shift;
		e->flags |= flags;
		return 0;
	}
	fresh.flags = flags;
	fresh.tx_flags_seen = seen << shift;
	ct_set_end(&fresh, dir, epoch, proxy_port);
	fresh.expires_ns = now + ct_lifetime_ns(&fresh, p->tuple.proto);
	if (e) {
		__builtin_memcpy(e, &fresh, sizeof(fresh));
		return 0;
	}
	if (bpf_map_update_elem(&axon_ct4_v2, &key, &fresh, BPF_ANY))
		return AXON_DROP_CT_MAP_INSERTION_FAILED;
	return 0;
}

/* The current policy epoch. */
static __always_inline __u32 policy_epoch(void)
{
	__u32 zero = 0;
	__u32 *e = bpf_map_lookup_elem(&axon_epoch_v1, &zero);

	return e ? *e : 0;
}

#endif /* AXON_BPF_CONNTRACK_H */
