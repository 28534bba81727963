/* Load-time knobs: const volatile globals in .rodata, set by the loader
 * through the skeleton before load. The verifier sees their values as
 * constants (the map is frozen), so they cost nothing per packet. */
#ifndef AXON_BPF_CONFIG_H
#define AXON_BPF_CONFIG_H

/* Entries of every Maglev table (a prime; Cilium's default 16381). */
const volatile __u32 cfg_maglev_table_size = 16381;
/* Seed of the 5-tuple hash that picks a Maglev slot (equal on every node). */
const volatile __u32 cfg_maglev_hash_seed = 0x2a5e1d;
/* 0: trace events only when a connection starts, sees new TCP flags or its
 * first reply (Cilium's monitor aggregation "medium"); 1: every packet. */
const volatile __u32 cfg_trace_every_packet = 0;
/* 1: packets from-container passes to a pod of this node go straight to its
 * veth (BPF host routing, as Cilium's default); 0: through the node's IP
 * stack (Cilium's bpf.hostLegacyRouting). */
const volatile __u32 cfg_host_routing = 1;
/* A Service without backends: 1 answers ICMP port unreachable (Cilium's
 * serviceNoBackendResponse: reject, the default), 0 drops silently. */
const volatile __u32 cfg_no_backend_reject = 1;
/* The node's proxy device (axon_host, its veth peer axon_net runs
 * axon_to_proxy): to-container sends packets for the proxy out of it, as
 * Cilium's hairpin through cilium_host. 0: none, such packets are dropped. */
const volatile __u32 cfg_proxy_ifindex = 0;
/* Conntrack lifetimes in seconds (Cilium's defaults). */
const volatile __u32 cfg_ct_tcp_syn_s = 60;
const volatile __u32 cfg_ct_tcp_established_s = 21600;
const volatile __u32 cfg_ct_tcp_close_s = 10;
const volatile __u32 cfg_ct_other_s = 60;

#define NSEC_PER_SEC 1000000000ULL

#endif /* AXON_BPF_CONFIG_H */
