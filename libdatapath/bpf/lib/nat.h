/* Rewriting an IPv4 address and L4 port in place, checksums included. */
#ifndef AXON_BPF_NAT_H
#define AXON_BPF_NAT_H

#include "lib/parse.h"

#define IP_CSUM_OFF (ETH_HLEN + offsetof(struct iphdr, check))
#define IP_SRC_OFF (ETH_HLEN + offsetof(struct iphdr, saddr))
#define IP_DST_OFF (ETH_HLEN + offsetof(struct iphdr, daddr))

/* Replaces the source (dst == 0) or destination address and port of a TCP
 * or UDP packet. Returns 0 or a drop reason. */
static __always_inline int nat_rewrite(struct __sk_buff *skb, struct axon_pkt *p, int dst,
				       __be32 new_addr, __be16 new_port)
{
	__be32 old_addr = dst ? p->tuple.daddr : p->tuple.saddr;
	__be16 old_port = dst ? p->tuple.dport : p->tuple.sport;
	__u32 csum_off, port_off, flags;

	if (p->tuple.proto == IPPROTO_TCP) {
		csum_off = p->l4_off + offsetof(struct tcphdr, check);
		flags = 0;
	} else if (p->tuple.proto == IPPROTO_UDP) {
		csum_off = p->l4_off + offsetof(struct udphdr, check);
		flags = BPF_F_MARK_MANGLED_0; /* a zero UDP checksum stays "none" */
	} else {
		return AXON_DROP_UNKNOWN_L4;
	}
	port_off = p->l4_off + (dst ? 2 : 0);

	if (old_addr != new_addr) {
		if (bpf_l4_csum_replace(skb, csum_off, old_addr, new_addr,
					flags | BPF_F_PSEUDO_HDR | sizeof(new_addr)))
			return AXON_DROP_CSUM_L4;
		if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_addr, new_addr, sizeof(new_addr)))
			return AXON_DROP_CSUM_L3;
		if (bpf_skb_store_bytes(skb, dst ? IP_DST_OFF : IP_SRC_OFF, &new_addr,
					sizeof(new_addr), 0))
			return AXON_DROP_WRITE_ERROR;
	}
	if (old_port != new_port) {
		if (bpf_l4_csum_replace(skb, csum_off, old_port, new_port,
					flags | sizeof(new_port)))
			return AXON_DROP_CSUM_L4;
		if (bpf_skb_store_bytes(skb, port_off, &new_port, sizeof(new_port), 0))
			return AXON_DROP_WRITE_ERROR;
	}
	if (dst) {
		p->tuple.daddr = new_addr;
		p->tuple.dport = new_port;
		p->policy_port = new_port;
	} else {
		p->tuple.saddr = new_addr;
		p->tuple.sport = new_port;
	}
	return 0;
}

#endif /* AXON_BPF_NAT_H */
