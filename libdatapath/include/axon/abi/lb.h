/* ABI of Service load balancing (axon_lb4_*): services, backends, reverse
 * NAT, Maglev tables, VIPs. Shared by the BPF programs (bpf/) and the C++
 * that drives them; byte order: fields named __be* are in network order, the
 * rest host order. */
#ifndef AXON_ABI_LB_H
#define AXON_ABI_LB_H

#include "axon/abi/common.h"

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

/* A frontend with externalTrafficPolicy Local has two entries: scope EXT
 * (this node's backends, for traffic from outside) flagged
 * AXON_LB_F_TWO_SCOPES, and scope INT (every backend, for the cluster's own
 * pods, as kube-proxy short-circuits in-cluster traffic to such a frontend). */
enum axon_lb_scope {
	AXON_LB_SCOPE_EXT = 0,
	AXON_LB_SCOPE_INT = 1,
};

struct axon_lb4_key {
	__be32 vip;
	__be16 dport;
	__u8 proto;
	__u8 scope; /* enum axon_lb_scope */
	__u16 backend_slot; /* 0 = the service itself */
	__u16 pad2;
};
AXON_ABI_ASSERT(sizeof(struct axon_lb4_key) == 12, "axon_lb4_key layout");

enum axon_lb_algorithm {
	AXON_LB_RANDOM = 1,
	AXON_LB_MAGLEV = 2,
};

/* Slot 0 flags: how a frontend is reached and translated. */
enum axon_lb_flags {
	/* Reached from outside the node's pods too: the node's network device
	 * program (from-netdev) balances it (NodePort, LoadBalancer IP,
	 * externalIP, hostPort). Frontends without it (ClusterIP) are served
	 * to the node's pods only, as Cilium without bpf.lbExternalClusterIP. */
	AXON_LB_F_EXTERNAL = 1 << 0,
	/* externalTrafficPolicy Cluster: a connection from outside to a backend
	 * on another node leaves with the node's address as source (SNAT), so
	 * the reply comes back the same way. Without it (Local) the frontend
	 * lists only the node's own backends and the client's address stays. */
	AXON_LB_F_SNAT = 1 << 1,
	/* sessionAffinity ClientIP: a client's new connections go to the
	 * backend its last one used, until affinity_timeout_s after that use. */
	AXON_LB_F_AFFINITY = 1 << 2,
	/* Pods use the frontend's AXON_LB_SCOPE_INT entry instead. */
	AXON_LB_F_TWO_SCOPES = 1 << 3,
	/* An L7 load balancer (a Gateway's Service, as Cilium's L7 LB): no
	 * backend is chosen here; the connection goes, addresses untouched, to
	 * the node proxy's listener on l7_proxy_port (lib/proxy.h), which routes
	 * each request. */
	AXON_LB_F_L7 = 1 << 4,
};

struct axon_lb4_service {
	union {
		__u32 backend_id;	  /* slot >= 1 */
		__u32 affinity_timeout_s; /* slot 0, with AXON_LB_F_AFFINITY */
		__u32 l7_proxy_port;	  /* slot 0, with AXON_LB_F_L7 */
	};
	__u32 rev_nat_index; /* slot 0: the service id (also the reverse-NAT key) */
	__u16 count;         /* slot 0: number of backends (slots 1..count) */
	__u8 algorithm;      /* slot 0: enum axon_lb_algorithm */
	__u8 flags;          /* slot 0: enum axon_lb_flags */
	__u32 maglev_table;  /* slot 0: key in axon_lb4_maglev_v1; 0 = none */
};
AXON_ABI_ASSERT(sizeof(struct axon_lb4_service) == 16, "axon_lb4_service layout");

enum axon_lb_backend_flags {
	/* A pod of this node: external connections to it keep the client's
	 * address (no SNAT needed, the reply leaves through this node). */
	AXON_LB_BACKEND_F_LOCAL = 1 << 0,
};

struct axon_lb4_backend {
	__be32 addr;
	__be16 port;
	__u8 proto;
	__u8 flags; /* enum axon_lb_backend_flags */
};
AXON_ABI_ASSERT(sizeof(struct axon_lb4_backend) == 8, "axon_lb4_backend layout");

struct axon_lb4_reverse_nat {
	__be32 addr;
	__be16 port;
	__u16 pad;
};
AXON_ABI_ASSERT(sizeof(struct axon_lb4_reverse_nat) == 8, "axon_lb4_reverse_nat layout");

/* skb->mark of an external connection the from-netdev program translated to
 * a backend of this node: AXON_MARK_NODEPORT | service id << 16. The
 * backend's to-container program records the id in the connection, and its
 * from-container translates the replies back to the frontend (the client is
 * not a pod of the node, so no other program of the node would). Service
 * ids therefore stay within 16 bits. */
#define AXON_MARK_NODEPORT 0x0c00
#define AXON_LB4_MAX_SERVICE_ID 65535

/* ---------------------------------------------------------------------------
 * Session affinity (axon_lb4_affinity_v1, LRU hash): (client address,
 * service id) -> the backend of the client's last new connection and when.
 * axon_lb4_affinity_match_v1 (hash): (backend id, service id) -> 1 while the
 * backend belongs to the service: an affinity to a backend that left the
 * service is not followed. */
struct axon_lb4_affinity_key {
	__be32 client;
	__u32 rev_nat_index;
};
AXON_ABI_ASSERT(sizeof(struct axon_lb4_affinity_key) == 8, "axon_lb4_affinity_key layout");

struct axon_lb4_affinity_value {
	__u64 last_used_ns; /* bpf_ktime_get_ns() of the last new connection */
	__u32 backend_id;
	__u32 pad;
};
AXON_ABI_ASSERT(sizeof(struct axon_lb4_affinity_value) == 16, "axon_lb4_affinity_value layout");

struct axon_lb4_affinity_match_key {
	__u32 backend_id;
	__u32 rev_nat_index;
};
AXON_ABI_ASSERT(sizeof(struct axon_lb4_affinity_match_key) == 8, "axon_lb4_affinity_match_key");

/* ---------------------------------------------------------------------------
 * The node's network devices (axon_netdevs_v1, hash): ifindex -> the address
 * external traffic is translated to (SNAT of externalTrafficPolicy Cluster).
 * The from-netdev program runs on TC ingress of each. */
struct axon_netdev_info {
	__be32 ipv4;
	__u8 mac[6]; /* the device's: the L2 responder answers with it */
	__u16 flags;
};
AXON_ABI_ASSERT(sizeof(struct axon_netdev_info) == 12, "axon_netdev_info layout");

/* ---------------------------------------------------------------------------
 * Source NAT of external connections to a backend on another node
 * (axon_snat4_v1, LRU hash), two entries per connection:
 * - OUT, keyed by the client's tuple to the frontend: the node address and
 *   port the connection leaves with, and the backend it went to;
 * - IN, keyed by the backend's reply tuple as it arrives (backend -> node
 *   address:NAT port): the client's address and port, and the service id
 *   whose frontend the reply must carry as source. */
enum axon_snat_dir {
	AXON_SNAT_OUT = 1,
	AXON_SNAT_IN = 2,
};

struct axon_snat4_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 dir; /* enum axon_snat_dir */
	__u16 pad;
};
AXON_ABI_ASSERT(sizeof(struct axon_snat4_key) == 16, "axon_snat4_key layout");

struct axon_snat4_entry {
	__u64 expires_ns;
	__be32 addr;	     /* OUT: the node address; IN: the client's */
	__be16 port;	     /* OUT: the NAT port; IN: the client's port */
	__u16 pad;
	__u32 backend_id;    /* OUT: the backend the port was taken for */
	__u32 rev_nat_index; /* IN: the service (its frontend) */
};
AXON_ABI_ASSERT(sizeof(struct axon_snat4_entry) == 24, "axon_snat4_entry layout");

#endif /* AXON_ABI_LB_H */
