/* Parsing an Ethernet/IPv4 frame into what the datapath decides on. */
#ifndef AXON_BPF_PARSE_H
#define AXON_BPF_PARSE_H

#include "axon/abi/datapath.h"

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_ACK 0x10

#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_ECHO 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12

/* The ICMP echo header (linux/icmp.h drags in libc headers). */
struct axon_icmp_echo {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 id;
	__be16 sequence;
};

#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

/* The parsed packet. tuple changes as NAT rewrites the packet. */
struct axon_pkt {
	struct axon_flow_tuple tuple;
	struct axon_flow_tuple inner; /* ICMP errors: the packet the error is about */
	__u32 l4_off;         /* from the start of the frame */
	__u32 len;            /* skb->len */
	__be16 policy_port;   /* TCP/UDP/SCTP dport, ICMP type; 0 without ports */
	__u8 has_port;        /* the protocol carries a port (or ICMP type) */
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 icmp_error; /* inner holds the embedded packet's tuple */
};

/* Makes the first `need` bytes direct-accessible (non-linear skbs); returns
 * 0, or -1 when the packet is shorter than that. */
static __always_inline int ensure_linear(struct __sk_buff *skb, __u32 need)
{
	if ((void *)(long)skb->data + need <= (void *)(long)skb->data_end)
		return 0;
	if (skb->len < need)
		return -1;
	if (bpf_skb_pull_data(skb, need))
		return -1;
	if ((void *)(long)skb->data + need > (void *)(long)skb->data_end)
		return -1;
	return 0;
}

/* An ICMP error (destination unreachable, time exceeded, parameter problem)
 * carries the IPv4 header and first 8 bytes of the packet it is about. Reads
 * that packet's tuple into p->inner, as its sender sent it, so that the error
 * can be matched to the connection (RFC 792). Errors about packets with IP
 * options or cut shorter than that are left to policy like other ICMP. */
static __always_inline void parse_icmp_error(struct __sk_buff *skb, struct axon_pkt *p,
					     __u32 icmp_off)
{
	void *data, *data_end;
	struct iphdr *in;
	__u8 *l4;

	if (ensure_linear(skb, icmp_off + 8 + sizeof(struct iphdr) + 8))
		return;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (icmp_off > ETH_HLEN + 60)
		return;
	in = data + icmp_off + 8;
	if ((void *)(in + 1) + 8 > data_end || in->ihl != 5)
		return;
	l4 = (void *)(in + 1);
	p->inner.saddr = in->saddr;
	p->inner.daddr = in->daddr;
	p->inner.proto = in->protocol;
	switch (in->protocol) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
		p->inner.sport = ((__be16 *)l4)[0];
		p->inner.dport = ((__be16 *)l4)[1];
		break;
	case IPPROTO_ICMP: {
		struct axon_icmp_echo *echo = (void *)l4;

		if (echo->type == ICMP_ECHO)
			p->inner.sport = echo->id;
		else if (echo->type == ICMP_ECHOREPLY)
			p->inner.dport = echo->id;
		break;
	}
	default:
		break;
	}
	p->icmp_error = 1;
}

/* Parses IPv4 and the L4 header behind it. Returns 0 or a drop reason. */
static __always_inline int parse_ipv4(struct __sk_buff *skb, struct axon_pkt *p)
{
	void *data, *data_end;
	struct iphdr *ip;
	__u32 ihl_len, l4_need;
	__u8 proto;

	if (ensure_linear(skb, ETH_HLEN + sizeof(struct iphdr)))
		return AXON_DROP_INVALID_PACKET;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	ip = data + ETH_HLEN;
	if ((void *)(ip + 1) > data_end)
		return AXON_DROP_INVALID_PACKET;
	if (ip->ihl < 5 || ip->version != 4)
		return AXON_DROP_INVALID_PACKET;
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return AXON_DROP_FRAG_NOT_SUPPORTED;
	ihl_len = ip->ihl * 4;
	proto = ip->protocol;
	p->tuple.saddr = ip->saddr;
	p->tuple.daddr = ip->daddr;
	p->tuple.proto = proto;
	p->l4_off = ETH_HLEN + ihl_len;
	p->len = skb->len;

	switch (proto) {
	case IPPROTO_TCP:
		l4_need = sizeof(struct tcphdr);
		break;
	case IPPROTO_UDP:
		l4_need = sizeof(struct udphdr);
		break;
	case IPPROTO_ICMP:
		l4_need = 8;
		break;
	case IPPROTO_SCTP:
		l4_need = 4; /* the ports; the rest of the common header is not read */
		break;
	default:
		return 0; /* no ports: policy by protocol only */
	}
	if (ensure_linear(skb, ETH_HLEN + ihl_len + l4_need))
		return AXON_DROP_CT_INVALID_HDR;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (ihl_len > 60)
		return AXON_DROP_INVALID_PACKET;
	void *l4 = data + ETH_HLEN + ihl_len;

	if (proto == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > data_end)
			return AXON_DROP_CT_INVALID_HDR;
		if (tcp->doff < 5)
			return AXON_DROP_CT_INVALID_HDR;
		p->tuple.sport = tcp->source;
		p->tuple.dport = tcp->dest;
		p->tcp_flags = ((__u8 *)tcp)[13];
		/* SYN with FIN or RST is no valid TCP segment. */
		if ((p->tcp_flags & TCP_FLAG_SYN) &&
		    (p->tcp_flags & (TCP_FLAG_FIN | TCP_FLAG_RST)))
			return AXON_DROP_CT_INVALID_HDR;
	} else if (proto == IPPROTO_UDP || proto == IPPROTO_SCTP) {
		__be16 *ports = l4;

		if ((void *)(ports + 2) > data_end)
			return AXON_DROP_CT_INVALID_HDR;
		p->tuple.sport = ports[0];
		p->tuple.dport = ports[1];
	} else {
		struct axon_icmp_echo *icmp = l4;

		if ((void *)(icmp + 1) > data_end)
			return AXON_DROP_CT_INVALID_HDR;
		p->icmp_type = icmp->type;
		p->icmp_code = icmp->code;
		p->policy_port = bpf_htons(icmp->type);
		p->has_port = 1;
		/* Echo: the identifier stands in for the ports, so that a reply
		 * is the reversed tuple of its request. */
		if (icmp->type == ICMP_ECHO)
			p->tuple.sport = icmp->id;
		else if (icmp->type == ICMP_ECHOREPLY)
			p->tuple.dport = icmp->id;
		else if (icmp->type == ICMP_DEST_UNREACH || icmp->type == ICMP_TIME_EXCEEDED ||
			 icmp->type == ICMP_PARAMETERPROB)
			parse_icmp_error(skb, p, ETH_HLEN + ihl_len);
		return 0;
	}
	p->policy_port = p->tuple.dport;
	p->has_port = 1;
	return 0;
}

#endif /* AXON_BPF_PARSE_H */
