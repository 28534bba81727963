/* Identity-based policy: the ipcache (address -> identity) and the lookup of
 * one endpoint's compiled policy trie (layout: axon_policy_key). */
#ifndef AXON_BPF_POLICY_H
#define AXON_BPF_POLICY_H

#include "lib/maps.h"
#include "lib/parse.h"

/* The security identity of an address: longest prefix in the ipcache, or
 * world when no prefix holds it. */
static __always_inline __u32 ipcache_identity(__be32 addr)
{
	struct axon_ipcache_key key = {.prefixlen = 32, .addr = addr};
	struct axon_ipcache_value *v = bpf_map_lookup_elem(&axon_ipcache_v1, &key);

	return v ? v->identity : AXON_IDENTITY_WORLD;
}

/* The policy verdict for a packet of `direction` between the endpoint and a
 * peer of `peer_identity`. Fills *out; returns 0 when the packet may pass or
 * the drop reason. */
static __always_inline int policy_check(__u32 endpoint_id, __u32 peer_identity, __u8 direction,
					const struct axon_pkt *p, struct axon_policy_value *out)
{
	struct axon_policy_key key = {
		.prefixlen = p->has_port ? AXON_POLICY_PREFIX_FULL : AXON_POLICY_PREFIX_ANY_PORT,
		.identity = peer_identity,
		.direction = direction,
		.protocol = p->tuple.proto,
		.dport = p->policy_port,
	};
	struct axon_policy_value *v;
	void *trie;

	trie = bpf_map_lookup_elem(&axon_policy_v1, &endpoint_id);
	if (!trie) {
		/* No policy selects this endpoint: allow. */
		out->verdict = AXON_POLICY_UNENFORCED;
		out->match_type = AXON_MATCH_NONE;
		out->proxy_port = 0;
		return 0;
	}
	v = bpf_map_lookup_elem(trie, &key);
	if (!v && peer_identity != 0) {
		key.identity = 0;
		v = bpf_map_lookup_elem(trie, &key);
	}
	if (!v) {
		out->verdict = AXON_POLICY_DENY;
		out->match_type = AXON_MATCH_NONE;
		out->proxy_port = 0;
		return AXON_DROP_POLICY_DENIED;
	}
	*out = *v;
	if (v->verdict == AXON_POLICY_DENY)
		return AXON_DROP_POLICY_DENY;
	return 0;
}

#endif /* AXON_BPF_POLICY_H */
