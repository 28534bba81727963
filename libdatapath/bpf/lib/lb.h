/* Service load balancing (kube-proxy replacement): a packet to a Service's
 * VIP:port gets one of its backends as destination, chosen by Maglev (a
 * consistent hash of the 5-tuple) or at random, and kept for the connection
 * in a SERVICE conntrack entry. */
#ifndef AXON_BPF_LB_H
#define AXON_BPF_LB_H

#include "lib/config.h"
#include "lib/conntrack.h"
#include "lib/maps.h"
#include "lib/nat.h"

/* Bob Jenkins' lookup3 final mix (jhash_3words), as the kernel's jhash.h. */
static __always_inline __u32 rol32(__u32 w, __u32 s) { return (w << s) | (w >> (32 - s)); }

static __always_inline __u32 jhash_3words(__u32 a, __u32 b, __u32 c, __u32 initval)
{
	a += 0xdeadbeef + (3 << 2) + initval;
	b += 0xdeadbeef + (3 << 2) + initval;
	c += 0xdeadbeef + (3 << 2) + initval;
	c ^= b;
	c -= rol32(b, 14);
	a ^= c;
	a -= rol32(c, 11);
	b ^= a;
	b -= rol32(a, 25);
	c ^= b;
	c -= rol32(b, 16);
	a ^= c;
	a -= rol32(c, 4);
	b ^= a;
	b -= rol32(a, 14);
	c ^= b;
	c -= rol32(b, 24);
	return c;
}

static __always_inline __u32 lb_select_maglev(const struct axon_lb4_service *svc,
					      const struct axon_pkt *p)
{
	__u32 id = svc->maglev_table, idx, hash;
	__u32 *table;

	table = bpf_map_lookup_elem(&axon_lb4_maglev_v1, &id);
	if (!table)
		return 0;
	hash = jhash_3words(p->tuple.saddr, p->tuple.daddr,
			    ((__u32)p->tuple.sport << 16 | p->tuple.dport) ^ p->tuple.proto,
			    cfg_maglev_hash_seed);
	idx = hash % cfg_maglev_table_size;
	if (idx >= cfg_maglev_table_size)
		return 0;
	return table[idx];
}

static __always_inline __u32 lb_select_random(const struct axon_lb4_key *svc_key,
					      const struct axon_lb4_service *svc)
{
	struct axon_lb4_key key = *svc_key;
	struct axon_lb4_service *slot;

	key.backend_slot = (bpf_get_prandom_u32() % svc->count) + 1;
	slot = bpf_map_lookup_elem(&axon_lb4_services_v1, &key);
	return slot ? slot->backend_id : 0;
}

/* sessionAffinity ClientIP: the backend of the client's last new connection
 * to the service, if that was within the timeout and the backend still
 * belongs to the service; 0 otherwise. */
static __always_inline __u32 lb_affinity_backend(const struct axon_lb4_service *svc,
						 __be32 client, __u64 now)
{
	struct axon_lb4_affinity_key key = {.client = client, .rev_nat_index = svc->rev_nat_index};
	struct axon_lb4_affinity_match_key match;
	struct axon_lb4_affinity_value *v;

	v = bpf_map_lookup_elem(&axon_lb4_affinity_v1, &key);
	if (!v || now - v->last_used_ns > (__u64)svc->affinity_timeout_s * NSEC_PER_SEC)
		return 0;
	match.backend_id = v->backend_id;
	match.rev_nat_index = svc->rev_nat_index;
	if (!bpf_map_lookup_elem(&axon_lb4_affinity_match_v1, &match))
		return 0;
	return v->backend_id;
}

static __always_inline void lb_affinity_note(const struct axon_lb4_service *svc, __be32 client,
					     __u32 backend_id, __u64 now)
{
	struct axon_lb4_affinity_key key = {.client = client, .rev_nat_index = svc->rev_nat_index};
	struct axon_lb4_affinity_value v = {.last_used_ns = now, .backend_id = backend_id};

	bpf_map_update_elem(&axon_lb4_affinity_v1, &key, &v, BPF_ANY);
}

/* What lb4_dnat did: the service (0: the packet is not for one), its flags
 * and the backend chosen. */
struct lb4_result {
	__u32 rev_nat_index;
	__u32 backend_id;
	__u16 l7_proxy_port; /* AXON_LB_F_L7: the proxy's port, nothing rewritten */
	__u8 flags;	    /* the service's */
	__u8 backend_flags; /* the backend's */
};

/* If the packet goes to a Service frontend that has all of `need_flags`,
 * rewrites its destination to a backend and fills *r. Returns 0 (also when
 * the packet is not for such a frontend) or a drop reason. */
static __always_inline int lb4_dnat(struct __sk_buff *skb, struct axon_pkt *p, __u64 now,
				    __u8 need_flags, struct lb4_result *r)
{
	struct axon_lb4_key key = {
	    .vip = p->tuple.daddr,
	    .dport = p->tuple.dport,
	    .proto = p->tuple.proto,
	};
	struct axon_lb4_service *svc;
	struct axon_lb4_backend *be = NULL;
	struct axon_ct_key ckey;
	struct axon_ct_entry *ce;
	__u32 backend_id = 0;
	__u64 lifetime;

	if (p->tuple.proto != IPPROTO_TCP && p->tuple.proto != IPPROTO_UDP)
		return 0;
	if (!bpf_map_lookup_elem(&axon_lb4_vips_v1, &key.vip))
		return 0;
	svc = bpf_map_lookup_elem(&axon_lb4_services_v1, &key);
	if (!svc || (svc->flags & need_flags) != need_flags)
		return 0;
	if ((svc->flags & AXON_LB_F_TWO_SCOPES) && !(need_flags & AXON_LB_F_EXTERNAL)) {
		key.scope = AXON_LB_SCOPE_INT; /* a pod: every backend */
		svc = bpf_map_lookup_elem(&axon_lb4_services_v1, &key);
		if (!svc)
			return 0;
	}
	r->rev_nat_index = svc->rev_nat_index;
	r->flags = svc->flags;
	if (svc->flags & AXON_LB_F_L7) {
		r->l7_proxy_port = (__u16)svc->l7_proxy_port;
		return 0;
	}
	lifetime = (__u64)(p->tuple.proto == IPPROTO_TCP ? cfg_ct_tcp_established_s
							 : cfg_ct_other_s) *
		   NSEC_PER_SEC;

	/* A connection keeps its backend while that backend exists. */
	ct_key_forward(&ckey, &p->tuple, AXON_CT_SERVICE);
	ce = bpf_map_lookup_elem(&axon_ct4_v2, &ckey);
	if (ce && ce->expires_ns > now) {
		backend_id = ce->backend_id;
		be = bpf_map_lookup_elem(&axon_lb4_backends_v1, &backend_id);
	}
	if (!be) {
		if (svc->count == 0)
			return AXON_DROP_NO_SERVICE;
		backend_id = 0;
		if (svc->flags & AXON_LB_F_AFFINITY)
			backend_id = lb_affinity_backend(svc, p->tuple.saddr, now);
		if (!backend_id && svc->algorithm == AXON_LB_MAGLEV)
			backend_id = lb_select_maglev(svc, p);
		if (!backend_id)
			backend_id = lb_select_random(&key, svc);
		be = bpf_map_lookup_elem(&axon_lb4_backends_v1, &backend_id);
		if (!be)
			return AXON_DROP_NO_SERVICE;
		if (svc->flags & AXON_LB_F_AFFINITY)
			lb_affinity_note(svc, p->tuple.saddr, backend_id, now);
		struct axon_ct_entry e = {
		    .backend_id = backend_id,
		    .rev_nat_index = svc->rev_nat_index,
		    .expires_ns = now + lifetime,
		};
		if (bpf_map_update_elem(&axon_ct4_v2, &ckey, &e, BPF_ANY))
			return AXON_DROP_CT_MAP_INSERTION_FAILED;
	} else if (now + lifetime > ce->expires_ns + NSEC_PER_SEC) {
		ce->expires_ns = now + lifetime;
	}
	r->backend_id = backend_id;
	r->backend_flags = be->flags;
	return nat_rewrite(skb, p, 1, be->addr, be->port);
}

/* A reply from a Service's backend gets the Service's VIP:port as source
 * again; an ICMP error about a Service connection (the backend refused or
 * could not take a packet) is made to be about the VIP:port the client
 * used. A Service deleted meanwhile leaves the packet as it is. */
static __always_inline int lb4_rev_nat(struct __sk_buff *skb, struct axon_pkt *p,
				       __u32 rev_nat_index)
{
	struct axon_lb4_reverse_nat *rn;

	rn = bpf_map_lookup_elem(&axon_lb4_reverse_nat_v1, &rev_nat_index);
	if (!rn)
		return 0;
	if (p->icmp_error)
		return nat_icmp_error_dst(skb, p, rn->addr, rn->port);
	return nat_rewrite(skb, p, 0, rn->addr, rn->port);
}

#endif /* AXON_BPF_LB_H */
