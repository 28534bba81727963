/* Connection tracking: is a packet new, part of a connection this endpoint
 * admitted, or a reply to one? TCP state follows SYN/FIN/RST for lifetimes;
 * UDP and ICMP echo live for cfg_ct_other_s after their last packet. */
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

static __always_inline struct axon_ct_entry *ct_find(struct axon_ct_key *key,
						     const struct axon_pkt *p, __u8 scope,
						     int reverse, __u64 now)
{
	struct axon_ct_entry *e;

	if (reverse)
		ct_key_reverse(key, &p->tuple, scope);
	else
		ct_key_forward(key, &p->tuple, scope);
	e = bpf_map_lookup_elem(&axon_ct4_v1, key);
	return e && e->expires_ns > now ? e : NULL;
}

/* Looks the packet up in the scope of this program (own) and, reversed, in
 * the scope of the other side. *entry points into the map on a hit.
 *
 * A TCP SYN without ACK opens a connection whatever the table holds: it is
 * never a reply (a simultaneous open is checked against policy like any new
 * connection), and a SYN on an entry that is still open (a retransmission,
 * a reused port) is checked again and gets a fresh entry. */
static __always_inline enum ct_status ct_lookup(const struct axon_pkt *p, __u8 own_scope,
						__u8 other_scope, __u64 now,
						struct axon_ct_entry **entry)
{
	struct axon_ct_key key;
	struct axon_ct_entry *e;
	int reply_first;

	if (p->tuple.proto == IPPROTO_TCP &&
	    (p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN)
		return CT_NEW;
	reply_first = ct_reply_likely(p);
	if (reply_first) {
		e = ct_find(&key, p, other_scope, 1, now);
		if (e) {
			*entry = e;
			return CT_REPLY;
		}
	}
	e = ct_find(&key, p, own_scope, 0, now);
	if (e) {
		*entry = e;
		return CT_ESTABLISHED;
	}
	if (!reply_first) {
		e = ct_find(&key, p, other_scope, 1, now);
		if (e) {
			*entry = e;
			return CT_REPLY;
		}
	}
	return CT_NEW;
}

/* Is the packet an ICMP error about a connection tracked in `scope`? The
 * embedded packet is one this side's peer received, i.e. one that left
 * through the program that made the entry. */
static __always_inline int ct_related(const struct axon_pkt *p, __u8 scope, __u64 now)
{
	struct axon_ct_key key;
	struct axon_ct_entry *e;

	if (!p->icmp_error)
		return 0;
	ct_key_forward(&key, &p->inner, scope);
	e = bpf_map_lookup_elem(&axon_ct4_v1, &key);
	return e && e->expires_ns > now;
}

/* Updates a tracked connection with one more packet. Returns 1 when the
 * packet changed what is worth reporting (new TCP flags, first reply). */
static __always_inline int ct_update(struct axon_ct_entry *e, const struct axon_pkt *p, int reply,
				     __u64 now)
{
	__u8 flags = e->flags, report = 0;
	__u64 expires;

	if (p->tuple.proto == IPPROTO_TCP) {
		__u8 news = p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_FIN | TCP_FLAG_RST);
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
	if (reply && !(flags & AXON_CT_F_SEEN_REPLY)) {
		flags |= AXON_CT_F_SEEN_REPLY;
		report = 1;
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

/* Records a new connection admitted by this program. Returns 0 or a drop reason. */
static __always_inline int ct_create(const struct axon_pkt *p, __u8 scope, __u32 rev_nat_index,
				     __u16 proxy_port, __u32 epoch, __u64 now, __u8 flags)
{
	struct axon_ct_key key;
	struct axon_ct_entry e = {
	    .rev_nat_index = rev_nat_index,
	    .policy_epoch = epoch,
	    .proxy_port = proxy_port,
	    .flags = flags | (proxy_port ? AXON_CT_F_PROXY : 0),
	};

	ct_key_forward(&key, &p->tuple, scope);
	if (p->tuple.proto == IPPROTO_TCP) {
		e.tx_flags_seen = p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_FIN | TCP_FLAG_RST);
		if (p->tcp_flags & TCP_FLAG_RST)
			e.flags |= AXON_CT_F_TX_CLOSING | AXON_CT_F_RX_CLOSING;
		else if (p->tcp_flags & TCP_FLAG_FIN)
			e.flags |= AXON_CT_F_TX_CLOSING;
	}
	e.expires_ns = now + ct_lifetime_ns(&e, p->tuple.proto);
	if (bpf_map_update_elem(&axon_ct4_v1, &key, &e, BPF_ANY))
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
