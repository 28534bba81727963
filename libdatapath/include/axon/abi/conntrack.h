/* ABI of connection tracking (axon_ct4_v2) and the policy epoch. Shared by
 * the BPF programs (bpf/) and the C++ that drives them; byte order: fields
 * named __be* are in network order, the rest host order. */
#ifndef AXON_ABI_CONNTRACK_H
#define AXON_ABI_CONNTRACK_H

#include "axon/abi/common.h"

/* ---------------------------------------------------------------------------
 * Conntrack (axon_ct4_v2, LRU hash), one table per node:
 * - CONN: a connection, keyed by its first packet's tuple (after DNAT). One
 *   entry serves both ends when both pods are on this node: the source pod's
 *   from-container admits it for egress (AXON_CT_F_EGRESS), the destination
 *   pod's to-container for ingress (AXON_CT_F_INGRESS), each with its own
 *   policy epoch and proxy port. A packet whose reversed tuple has an entry
 *   admitted by the other end is a reply: it passes without a policy lookup.
 *   Forward packets are checked again when the policy epoch moved (revoking
 *   an allow breaks existing connections, as in Cilium).
 * - SERVICE: keyed by the client's tuple to the VIP, remembers the backend.
 * (axon_ct4_v1 had an entry per end, scopes EGRESS and INGRESS.) */
enum axon_ct_scope {
	AXON_CT_CONN = 1,
	AXON_CT_SERVICE = 2,
};

struct axon_ct_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 scope; /* enum axon_ct_scope */
	__u16 pad;
};
AXON_ABI_ASSERT(sizeof(struct axon_ct_key) == 16, "axon_ct_key layout");

enum axon_ct_flags {
	AXON_CT_F_TX_CLOSING = 1 << 0, /* FIN or RST seen from the initiator */
	AXON_CT_F_RX_CLOSING = 1 << 1, /* FIN or RST seen from the responder */
	AXON_CT_F_SEEN_REPLY = 1 << 2, /* a reply has passed */
	AXON_CT_F_PROXY = 1 << 3,      /* redirected to the proxy (either end) */
	AXON_CT_F_LOCAL_PEER = 1 << 4, /* both ends are pods of this node (host routing) */
	AXON_CT_F_EGRESS = 1 << 5,     /* admitted by the source pod's from-container */
	AXON_CT_F_INGRESS = 1 << 6,    /* admitted by the destination pod's to-container */
	AXON_CT_F_HAIRPIN = 1 << 7,    /* a pod reaching itself through a Service */
};

/* Hairpin: a pod whose Service connection lands on itself gets this source
 * address (Cilium's IPV4_LOOPBACK) so that its replies leave the pod and
 * meet from-container, which translates them back and hands them straight
 * to the pod again. Such packets never reach the node's stack. No policy
 * applies: a pod cannot block itself (Kubernetes). Host order. */
#define AXON_HAIRPIN_IPV4 0xa9fe2a01 /* 169.254.42.1 */

/* tx_flags_seen / rx_flags_seen: the TCP SYN, FIN and RST flags each
 * observation point has reported, from the initiator (tx) and the responder
 * (rx): bits 0-2 seen by a from-container program, bits 4-6 by a
 * to-container program (AXON_CT_SEEN_SHIFT_INGRESS); rx bit 3 / bit 7: that
 * program has reported the first reply. Each end reports what it saw once. */
#define AXON_CT_SEEN_SHIFT_INGRESS 4
#define AXON_CT_SEEN_REPLY_BIT 0x08

struct axon_ct_entry {
	__u64 expires_ns;      /* bpf_ktime_get_ns() deadline; GC removes it after */
	__u32 rev_nat_index;   /* replies get this Service's VIP:port back; 0 = none */
	__u32 backend_id;      /* SERVICE entries: the chosen backend */
	__u32 egress_epoch;    /* policy epoch of the egress end's last check */
	__u16 egress_proxy;    /* egress end's proxy port, host order; 0 = none */
	__u8 tx_flags_seen;    /* see above */
	__u8 rx_flags_seen;
	__u8 flags;            /* enum axon_ct_flags */
	__u8 pad;
	__u16 ingress_proxy;   /* ingress end's proxy port, host order; 0 = none */
	__u32 ingress_epoch;   /* policy epoch of the ingress end's last check */
};
AXON_ABI_ASSERT(sizeof(struct axon_ct_entry) == 32, "axon_ct_entry layout");

/* The policy epoch (axon_epoch_v1, array of one __u32): user space bumps it
 * after every change that can change a verdict (policy, ipcache, endpoints).
 * A forward packet of a tracked connection whose entry was checked in the
 * current epoch skips the policy lookup: the answer cannot have changed.
 * Any change makes the next packet of every connection look policy up
 * again, so revoking an allow still breaks existing connections. */

#endif /* AXON_ABI_CONNTRACK_H */
