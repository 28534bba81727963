/* ABI of axon's datapath (libdatapath/bpf/datapath.bpf.c): every map key and
 * value and every ring-buffer event, shared by the BPF C programs and the C++
 * that loads and drives them. One header, two compilers, no mirror types.
 *
 * Byte order: fields named __be* are in network order (as in the packet);
 * everything else is host order.
 *
 * Map names carry the axon_ prefix and a layout version (_v1). Maps are
 * pinned by name under the node's pin directory, so they outlive the agent:
 * a change of any layout below needs a new version suffix. */
#ifndef AXON_ABI_DATAPATH_H
#define AXON_ABI_DATAPATH_H

#include "axon/abi/common.h"

/* ---------------------------------------------------------------------------
 * Drop reasons: Cilium's numbers (bpf/lib/common.h), Hubble's DropReason enum
 * names and Cilium's monitor texts (pkg/monitor/api/drop.go), so the flow
 * decoder maps them 1:1. X(NAME, code, hubble_name, text). */
#define AXON_DROP_REASONS(X) \
	X(INVALID_SOURCE_IP, 132, "INVALID_SOURCE_IP", "Invalid source ip") \
	X(POLICY_DENIED, 133, "POLICY_DENIED", "Policy denied") \
	X(INVALID_PACKET, 134, "INVALID_PACKET_DROPPED", "Invalid packet") \
	X(CT_INVALID_HDR, 135, "CT_TRUNCATED_OR_INVALID_HEADER", "CT: Truncated or invalid header") \
	X(UNSUPPORTED_L3, 139, "UNSUPPORTED_L3_PROTOCOL", "Unsupported L3 protocol") \
	X(WRITE_ERROR, 141, "ERROR_WRITING_TO_PACKET", "Error writing to packet") \
	X(UNKNOWN_L4, 142, "UNKNOWN_L4_PROTOCOL", "Unknown L4 protocol") \
	X(CSUM_L3, 153, "ERROR_WHILE_CORRECTING_L3_CHECKSUM", "Error while correcting L3 checksum") \
	X(CSUM_L4, 154, "ERROR_WHILE_CORRECTING_L4_CHECKSUM", "Error while correcting L4 checksum") \
	X(CT_MAP_INSERTION_FAILED, 155, "CT_MAP_INSERTION_FAILED", "CT: Map insertion failed") \
	X(FRAG_NOT_SUPPORTED, 157, "IP_FRAGMENTATION_NOT_SUPPORTED", "IP fragmentation not supported") \
	X(NO_SERVICE, 158, "SERVICE_BACKEND_NOT_FOUND", "Service backend not found") \
	X(NO_CONFIG, 165, "NO_CONFIGURATION_AVAILABLE_TO_PERFORM_POLICY_DECISION", "No configuration available to perform policy decision") \
	X(POLICY_DENY, 181, "POLICY_DENY", "Policy denied by denylist")

enum axon_drop_reason {
	AXON_DROP_NONE = 0, /* forwarded: the metrics map's "reason" for passed packets */
#define AXON_X_ENUM(name, code, hubble, text) AXON_DROP_##name = code,
	AXON_DROP_REASONS(AXON_X_ENUM)
#undef AXON_X_ENUM
};

/* ---------------------------------------------------------------------------
 * Events (one ring buffer, axon_events_v1). Types and trace observation points
 * are Cilium's monitor numbers (pkg/monitor/api/types.go). */
enum axon_event_type {
	AXON_EVENT_DROP = 1,  /* subtype: drop reason */
	AXON_EVENT_TRACE = 4, /* subtype: observation point */
};

enum axon_trace_point {
	AXON_TRACE_TO_ENDPOINT = 0,   /* to-container: delivered into the pod */
	AXON_TRACE_TO_PROXY = 1,      /* redirected to the L7 proxy */
	AXON_TRACE_FROM_ENDPOINT = 5, /* from-container: left the pod */
};

/* The programs wake the event reader once this much is pending; below it the
 * reader finds events when its poll times out. */
#define AXON_EVENTS_WAKEUP_BYTES (64 * 1024)

/* Hubble's Verdict enum. */
enum axon_verdict {
	AXON_VERDICT_FORWARDED = 1,
	AXON_VERDICT_DROPPED = 2,
	AXON_VERDICT_REDIRECTED = 5,
};

/* Hubble's TraceReason enum. */
enum axon_trace_reason {
	AXON_TRACE_REASON_UNKNOWN = 0,
	AXON_TRACE_REASON_NEW = 1,
	AXON_TRACE_REASON_ESTABLISHED = 2,
	AXON_TRACE_REASON_REPLY = 3,
	AXON_TRACE_REASON_RELATED = 4, /* an ICMP error about a tracked connection */
};

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

/* Direction seen from the endpoint; the numbers are Hubble's TrafficDirection. */
enum axon_direction {
	AXON_DIR_INGRESS = 1, /* into the pod: to-container */
	AXON_DIR_EGRESS = 2,  /* out of the pod: from-container */
};

enum axon_event_flags {
	AXON_EVENT_F_REPLY = 1 << 0, /* packet of the reply direction of a tracked connection */
	AXON_EVENT_F_NAT = 1 << 1,   /* orig and xlated differ (Service DNAT or reverse NAT) */
};

/* An IPv4 5-tuple. ICMP echo: sport = identifier, dport = 0 (request) or
 * sport = 0, dport = identifier (reply), so a reply reverses its request. */
struct axon_flow_tuple {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};
AXON_ABI_ASSERT(sizeof(struct axon_flow_tuple) == 16, "axon_flow_tuple layout");

/* One trace or drop event: what a Hubble flow needs. */
struct axon_event {
	__u64 timestamp_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u8 type;          /* enum axon_event_type */
	__u8 subtype;       /* drop reason, or trace observation point */
	__u8 direction;     /* enum axon_direction */
	__u8 flags;         /* enum axon_event_flags */
	__u32 ifindex;      /* host-side veth of the endpoint */
	__u32 endpoint_id;
	__u32 src_identity;
	__u32 dst_identity;
	__u32 len;                     /* skb->len */
	struct axon_flow_tuple orig;   /* before NAT: a Service's VIP:port */
	struct axon_flow_tuple xlated; /* after NAT: the backend (== orig without NAT) */
	__u8 tcp_flags;                /* FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 ... */
	__u8 verdict;                  /* enum axon_verdict */
	__u8 match_type;               /* enum axon_match_type */
	__u8 trace_reason;             /* enum axon_trace_reason */
	__u16 proxy_port;              /* redirect verdict: the L7 proxy's port */
	__u8 icmp_type;
	__u8 icmp_code;
};
AXON_ABI_ASSERT(sizeof(struct axon_event) == 72, "axon_event layout");

/* ---------------------------------------------------------------------------
 * Endpoints (axon_endpoints_v1, hash): the host-side veth's ifindex -> the
 * pod behind it. The programs are shared by every endpoint of a node and find
 * their endpoint through skb->ifindex. */
struct axon_endpoint_key {
	__u32 ifindex;
};
struct axon_endpoint_info {
	__u32 endpoint_id; /* key of the endpoint's policy (axon_policy_v1) */
	__u32 identity;    /* the pod's security identity */
	__be32 ipv4;       /* the pod's address: other sources are dropped (132) */
	__u32 flags;
};
AXON_ABI_ASSERT(sizeof(struct axon_endpoint_info) == 16, "axon_endpoint_info layout");

/* Local endpoints by address (axon_lxc_v1, hash), for BPF host routing: a
 * packet that from-container passes to another pod of the node goes straight
 * to that pod's host-side veth (bpf_redirect; its to-container program still
 * runs) instead of through the node's IP stack. Entries exist only for
 * endpoints whose MAC addresses are known. */
struct axon_lxc_key {
	__be32 ipv4;
};
struct axon_lxc_info {
	__u32 ifindex;     /* the pod's host-side veth */
	__u8 mac[6];       /* the pod's own interface (destination MAC) */
	__u8 host_mac[6];  /* the host-side veth (source MAC, the pod's gateway) */
};
AXON_ABI_ASSERT(sizeof(struct axon_lxc_info) == 16, "axon_lxc_info layout");

/* ---------------------------------------------------------------------------
 * ipcache (axon_ipcache_v1, LPM trie): IPv4 prefix -> security identity, so
 * pod IPs (/32) and CIDR identities share one longest-prefix lookup. An
 * address in no prefix is world (2). */
struct axon_ipcache_key {
	__u32 prefixlen; /* 0..32: bits of addr that must match */
	__be32 addr;
};
struct axon_ipcache_value {
	__u32 identity;
	__be32 tunnel_endpoint; /* node that hosts the address; 0 = not routed by axon */
	__u32 flags;
	__u32 pad;
};
AXON_ABI_ASSERT(sizeof(struct axon_ipcache_key) == 8, "axon_ipcache_key layout");
AXON_ABI_ASSERT(sizeof(struct axon_ipcache_value) == 16, "axon_ipcache_value layout");

/* Reserved identities (Cilium's numbers). */
#define AXON_IDENTITY_UNKNOWN 0
#define AXON_IDENTITY_HOST 1
#define AXON_IDENTITY_WORLD 2

/* ---------------------------------------------------------------------------
 * Policy: axon_policy_v1 is a hash of maps, endpoint_id -> that endpoint's
 * own LPM trie of axon_policy_key -> axon_policy_value. Replacing an
 * endpoint's policy builds a new trie and swaps the one outer entry: atomic.
 * No outer entry = no policy selects the endpoint = everything allowed.
 *
 * The trie is compiled in user space (src/policy_map.cpp) from the endpoint's
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
 * that is not enforced has one (0, dir)/40 entry with AXON_POLICY_UNENFORCED. */
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

/* skb->mark of a packet redirected to the proxy: AXON_MARK_PROXY | port << 16. */
#define AXON_MARK_PROXY 0x0a00
#define AXON_MARK_PROXY_MASK 0xff00

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

/* ---------------------------------------------------------------------------
 * Services (kube-proxy replacement), Cilium's layout:
 * - axon_lb4_services_v1 (hash): (VIP, port, proto, slot) -> slot 0: the
 *   service (id, backend count, algorithm); slot i >= 1: its i-th backend id;
 * - axon_lb4_backends_v1 (hash): backend id -> address and port;
 * - axon_lb4_reverse_nat_v1 (hash): service id -> VIP and port, for replies;
 * - axon_lb4_maglev_v1 (hash, not preallocated): table id -> a Maglev table,
 *   table_size backend ids. Services with the same backends share a table.
 *   (Not a map of maps: every update of a map-of-maps entry waits for an
 *   RCU grace period, ~10 ms, which would make a Service change slow.)
 * - axon_lb4_vips_v1 (hash): VIP -> how many services it has (__u32). Every
 *   packet leaving a pod asks it first: keyed by address alone, the lookup
 *   for a peer stays in cache, where the services table keyed by a reply's
 *   ephemeral port would miss it (a cold bucket per connection). */
#define AXON_LB4_MAX_VIPS 65536

struct axon_lb4_key {
	__be32 vip;
	__be16 dport;
	__u8 proto;
	__u8 pad;
	__u16 backend_slot; /* 0 = the service itself */
	__u16 pad2;
};
AXON_ABI_ASSERT(sizeof(struct axon_lb4_key) == 12, "axon_lb4_key layout");

enum axon_lb_algorithm {
	AXON_LB_RANDOM = 1,
	AXON_LB_MAGLEV = 2,
};

struct axon_lb4_service {
	__u32 backend_id;    /* slot >= 1 */
	__u32 rev_nat_index; /* slot 0: the service id (also the reverse-NAT key) */
	__u16 count;         /* slot 0: number of backends (slots 1..count) */
	__u8 algorithm;      /* slot 0: enum axon_lb_algorithm */
	__u8 flags;
	__u32 maglev_table;  /* slot 0: key in axon_lb4_maglev_v1; 0 = none */
};
AXON_ABI_ASSERT(sizeof(struct axon_lb4_service) == 16, "axon_lb4_service layout");

struct axon_lb4_backend {
	__be32 addr;
	__be16 port;
	__u8 proto;
	__u8 flags;
};
AXON_ABI_ASSERT(sizeof(struct axon_lb4_backend) == 8, "axon_lb4_backend layout");

struct axon_lb4_reverse_nat {
	__be32 addr;
	__be16 port;
	__u16 pad;
};
AXON_ABI_ASSERT(sizeof(struct axon_lb4_reverse_nat) == 8, "axon_lb4_reverse_nat layout");

/* ---------------------------------------------------------------------------
 * Counters. axon_metrics_v1 (per-CPU array): index = (direction - 1) * 256 +
 * drop reason (0 = forwarded) -> packets and bytes. axon_counters_v1 (per-CPU
 * array): enum axon_counter -> count. */
#define AXON_METRICS_ENTRIES 512

struct axon_metrics_value {
	__u64 packets;
	__u64 bytes;
};

enum axon_counter {
	AXON_COUNTER_EVENTS_LOST = 0, /* ring buffer full: event not written */
	AXON_COUNTER_NON_IP = 1,      /* non-IP frames passed untouched (ARP, ...) */
	AXON_COUNTER_HOST_ROUTED = 2, /* passed straight to a local pod's veth */
	AXON_COUNTER_NR = 4,
};

/* axon_config_v1 (array, one entry): facts the pinned maps were made with; a
 * later load with other values must not reuse them. */
struct axon_config {
	__u32 maglev_table_size;
	__u32 layout_version;
};

#define AXON_LAYOUT_VERSION 2

#endif /* AXON_ABI_DATAPATH_H */
