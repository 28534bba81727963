/* ABI of the datapath's drop reasons and its trace/drop events (the ring
 * buffer axon_events_v1), which the flow parser (libhubble) reads. Shared by
 * the BPF programs (bpf/) and the C++ that drives them; byte order: fields
 * named __be* are in network order, the rest host order. */
#ifndef AXON_ABI_EVENTS_H
#define AXON_ABI_EVENTS_H

#include "axon/abi/common.h"
#include "axon/abi/policy.h"

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
	X(NAT_NO_MAPPING, 167, "NO_MAPPING_FOR_NAT_MASQUERADE", "No mapping for NAT masquerade") \
	X(NO_FIB, 169, "FIB_LOOKUP_FAILED", "FIB lookup failed") \
	X(SOCKET_LOOKUP_FAILED, 178, "SOCKET_LOOKUP_FAILED", "Socket lookup failed") \
	X(SOCKET_ASSIGN_FAILED, 179, "SOCKET_ASSIGN_FAILED", "Socket assign failed") \
	X(PROXY_UNSUPPORTED_PROTO, 180, "PROXY_REDIRECTION_NOT_SUPPORTED_FOR_PROTOCOL", "Proxy redirection not supported for protocol") \
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

#endif /* AXON_ABI_EVENTS_H */
