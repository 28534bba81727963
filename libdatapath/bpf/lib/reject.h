/* serviceNoBackendResponse: reject (Cilium's default). A TCP or UDP packet
 * to a Service without backends becomes, in place, an ICMP destination
 * unreachable (port unreachable) from the Service address back to the
 * client, quoting the packet's IPv4 header and first 8 bytes: a TCP client
 * sees a refused connection at once, a UDP client ECONNREFUSED, instead of
 * waiting for a timeout. The frame goes back out of the interface it came
 * in on, marked so the endpoint's to-container program lets it through. */
#ifndef AXON_BPF_REJECT_H
#define AXON_BPF_REJECT_H

#include "lib/nat.h"
#include "lib/parse.h"

#define AXON_MARK_REJECT 0x0b00
#define ICMP_PORT_UNREACH 3

struct axon_reject_frame {
	__u8 eth[14];
	__u8 pad[2]; /* keeps ip 4-byte aligned in this struct */
	struct iphdr ip;
	struct {
		__u8 type;
		__u8 code;
		__sum16 checksum;
		__u32 unused;
	} icmp;
	__u8 quote[28]; /* the packet's IPv4 header (no options) + 8 bytes */
};

/* Returns a TC verdict (the redirect), or -1 when the packet cannot be
 * answered (IP options, fragments, too short): then it is dropped. */
static __always_inline int lb4_reject(struct __sk_buff *skb, const struct axon_pkt *p)
{
	struct axon_reject_frame f = {};
	__u8 mac[6];
	__s64 sum;

	if (p->tuple.proto != IPPROTO_TCP && p->tuple.proto != IPPROTO_UDP)
		return -1;
	if (p->l4_off != sizeof(struct ethhdr) + sizeof(struct iphdr))
		return -1;
	if (bpf_skb_load_bytes(skb, 0, f.eth, sizeof f.eth) < 0 ||
	    bpf_skb_load_bytes(skb, sizeof(struct ethhdr), f.quote, sizeof f.quote) < 0)
		return -1;
	__builtin_memcpy(mac, f.eth, 6); /* swap the MAC addresses */
	__builtin_memcpy(f.eth, f.eth + 6, 6);
	__builtin_memcpy(f.eth + 6, mac, 6);

	f.ip.version = 4;
	f.ip.ihl = 5;
	f.ip.tot_len = bpf_htons(sizeof f.ip + sizeof f.icmp + sizeof f.quote);
	f.ip.ttl = 64;
	f.ip.protocol = IPPROTO_ICMP;
	f.ip.saddr = p->tuple.daddr; /* the Service address: no translation happened */
	f.ip.daddr = p->tuple.saddr;
	sum = bpf_csum_diff(NULL, 0, (__be32 *)&f.ip, sizeof f.ip, 0);
	f.ip.check = (__u16)~csum_fold32((__u32)sum);

	f.icmp.type = ICMP_DEST_UNREACH;
	f.icmp.code = ICMP_PORT_UNREACH;
	sum = bpf_csum_diff(NULL, 0, (__be32 *)&f.icmp, sizeof f.icmp + sizeof f.quote, 0);
	f.icmp.checksum = (__u16)~csum_fold32((__u32)sum);

	if (bpf_skb_change_tail(skb, sizeof f.eth + sizeof f.ip + sizeof f.icmp + sizeof f.quote, 0))
		return -1;
	if (bpf_skb_store_bytes(skb, 0, f.eth, sizeof f.eth, 0) < 0 ||
	    bpf_skb_store_bytes(skb, sizeof f.eth, &f.ip,
				sizeof f.ip + sizeof f.icmp + sizeof f.quote, 0) < 0)
		return -1;
	skb->mark = AXON_MARK_REJECT;
	return bpf_redirect(skb->ifindex, 0);
}

#endif /* AXON_BPF_REJECT_H */
