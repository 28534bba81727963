/* ABI of the per-endpoint policy maps (axon_policy_v1). Shared by the BPF
 * programs (bpf/) and the C++ that drives them; byte order: fields named
 * __be* are in network order, the rest host order. */
#ifndef AXON_ABI_POLICY_H
#define AXON_ABI_POLICY_H

#include "axon/abi/common.h"

/* Flow.policy_match_type (Cilium's monitor numbers). */
enum axon_match_type {
	AXON_MATCH_NONE = 0,
	AXON_MATCH_L3_ONLY = 1,    /* identity, any protocol, any port */
	AXON_MATCH_L3_L4 = 2,      /* identity and port (range) */
	AXON_MATCH_L4_ONLY = 3,    /* any identity, port (range) */
	AXON_MATCH_ALL = 4,        /* any identity, any protocol, any port */
	AXON_MATCH_L3_PROTO = 5,   /* identity and protocol, any port */
	AXON_MATCH_PROTO_ONLY = 6, /* any identity, protocol, any port */
};

/* ---------------------------------------------------------------------------
 * Policy: axon_policy_v1 is a hash of maps, endpoint_id -> that endpoint's
 * own LPM trie of axon_policy_key -> axon_policy_value. Replacing an
 * endpoint's policy builds a new trie and swaps the one outer entry: atomic.
 * No outer entry = no policy selects the endpoint = everything allowed.
 *
 * The trie is encoded in user space (src/policy_map.cpp) from the endpoint's
 * PolicyEntry list so that one longest-prefix lookup answers exactly what the
 * entry list says (deny beats allow, wildcards, port ranges):
 * - identity and direction are always matched in full (prefixlen >= 40);
 * - prefixlen 40: any protocol, any port;
 * - prefixlen 48: that protocol, any port;
 * - prefixlen 48 + n: that protocol, ports whose top n bits equal dport's
 *   (dport is in network order, so a port range is a set of bit prefixes).
 * The program looks up (peer identity, ...) first and (identity 0, ...) when
 * that misses; the peer's entries already include the wildcard ones. A miss
 * in both means: enforced direction, nothing allowed (drop 133). A direction
 * that is not enforced (not in default deny) keeps its deny and redirect
 * entries, and a (0, dir)/40 entry with AXON_POLICY_UNENFORCED takes what
 * they do not match (unless a deny of everything already sits there). */
#define AXON_POLICY_PREFIX_ANY_PROTO 40
#define AXON_POLICY_PREFIX_ANY_PORT 48
#define AXON_POLICY_PREFIX_FULL 64

struct axon_policy_key {
	__u32 prefixlen;
	__u32 identity; /* peer identity; 0 = entries for any peer */
	__u8 direction; /* enum axon_direction */
	__u8 protocol;  /* IPPROTO_*; a packet without ports looks up prefixlen 48 */
	__be16 dport;   /* TCP/UDP/SCTP destination port; ICMP: the type */
};
AXON_ABI_ASSERT(sizeof(struct axon_policy_key) == 12, "axon_policy_key layout");

enum axon_policy_verdict {
	AXON_POLICY_ALLOW = 0,
	AXON_POLICY_DENY = 1,
	AXON_POLICY_REDIRECT = 2,   /* allow, and hand to the L7 proxy at proxy_port */
	AXON_POLICY_UNENFORCED = 3, /* direction not enforced: allow, no policy matched */
};

struct axon_policy_value {
	__u8 verdict;      /* enum axon_policy_verdict */
	__u8 match_type;   /* enum axon_match_type of the deciding entry */
	__u16 proxy_port;  /* host order */
	__u32 pad;
};
AXON_ABI_ASSERT(sizeof(struct axon_policy_value) == 8, "axon_policy_value layout");

/* skb->mark of a packet redirected to the proxy: AXON_MARK_PROXY | port << 16,
 * plus AXON_MARK_PROXY_REPLY for a reply to one of the proxy's own upstream
 * connections (only that connection's socket may take it, never a listener). */
#define AXON_MARK_PROXY 0x0a00
#define AXON_MARK_PROXY_MASK 0xff00
#define AXON_MARK_PROXY_REPLY 0x0001
/* skb->mark (SO_MARK) of the proxy's own sockets: its upstream connections
 * (their policy is checked, but they are never redirected to the proxy
 * again) and its accepted ones (what it answers a pod is not taken for the
 * answer of the pod's peer, lib/proxy.h). */
#define AXON_MARK_FROM_PROXY 0x0d00

#endif /* AXON_ABI_POLICY_H */
