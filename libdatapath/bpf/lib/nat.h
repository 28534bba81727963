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

/* RFC 1624 incremental update of a checksum for a 32-bit field change. One's
 * complement sums do not care about byte order, so everything stays as on
 * the wire. */
static __always_inline __u16 csum_fold32(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

static __always_inline __u16 csum_replace4(__u16 check, __be32 from, __be32 to)
{
	__u32 s = (__u16)~check;

	s += (__u16)~(from & 0xffff) + (__u16)~(from >> 16) + (to & 0xffff) + (to >> 16);
	return (__u16)~csum_fold32(s);
}

/* An ICMP error about a translated connection, on its way back to the
 * client: the packet it quotes gets `new_addr:new_port` as destination again
 * (the embedded IPv4 header's checksum and the ICMP checksum follow; the
 * embedded L4 checksum stays, the kernel does not read it), and when the
 * error comes from that very destination its outer source is rewritten too.
 * Only for embedded TCP and UDP. Returns 0 or a drop reason. */
static __always_inline int nat_icmp_error_dst(struct __sk_buff *skb, struct axon_pkt *p,
					      __be32 new_addr, __be16 new_port)
{
	__u32 icmp_csum_off = p->l4_off + 2;
	__u32 in_ip = p->l4_off + 8;
	__u32 in_csum_off = in_ip + offsetof(struct iphdr, check);
	__u32 in_daddr_off = in_ip + offsetof(struct iphdr, daddr);
	__u32 in_dport_off = in_ip + sizeof(struct iphdr) + 2;
	__be32 old_addr = p->inner.daddr;
	__be16 old_port = p->inner.dport;
	__u16 old_csum, new_csum;

	if (p->inner.proto != IPPROTO_TCP && p->inner.proto != IPPROTO_UDP)
		return 0;
	if (bpf_skb_load_bytes(skb, in_csum_off, &old_csum, sizeof(old_csum)))
		return AXON_DROP_INVALID_PACKET;
	new_csum = csum_replace4(old_csum, old_addr, new_addr);
	if (bpf_skb_store_bytes(skb, in_daddr_off, &new_addr, sizeof(new_addr), 0) ||
	    bpf_skb_store_bytes(skb, in_csum_off, &new_csum, sizeof(new_csum), 0) ||
	    bpf_skb_store_bytes(skb, in_dport_off, &new_port, sizeof(new_port), 0))
		return AXON_DROP_WRITE_ERROR;
	if (bpf_l4_csum_replace(skb, icmp_csum_off, old_addr, new_addr, sizeof(new_addr)) ||
	    bpf_l4_csum_replace(skb, icmp_csum_off, old_csum, new_csum, sizeof(new_csum)) ||
	    bpf_l4_csum_replace(skb, icmp_csum_off, old_port, new_port, sizeof(new_port)))
		return AXON_DROP_CSUM_L4;
	p->inner.daddr = new_addr;
	p->inner.dport = new_port;
	if (p->tuple.saddr != old_addr)
		return 0; /* a router on the way sent it: its address stays */
	if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_addr, new_addr, sizeof(new_addr)))
		return AXON_DROP_CSUM_L3;
	if (bpf_skb_store_bytes(skb, IP_SRC_OFF, &new_addr, sizeof(new_addr), 0))
		return AXON_DROP_WRITE_ERROR;
	p->tuple.saddr = new_addr;
	return 0;
}

#endif /* AXON_BPF_NAT_H */
