/* The L2 responder (Cilium's): on the node's device, an ARP request that asks
 * who has an address this node announces there (axon_l2_responder_v1) is
 * turned, in place, into the reply "it is at <the device's MAC>" and sent
 * back out of the device, while the node's L2 lease (axon_l2_lease_v1) has
 * not run out. Requests for other addresses, gratuitous ARP, everything
 * that is not an Ethernet/IPv4 ARP request, and every request once the lease
 * ran out pass to the stack. */
#ifndef AXON_BPF_L2_H
#define AXON_BPF_L2_H

#include <linux/if_ether.h>

#include "lib/maps.h"

#define ARPHRD_ETHER_ 1
#define ARPOP_REQUEST_ 1
#define ARPOP_REPLY_ 2

struct axon_arp_eth {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[ETH_ALEN];
	__be32 spa;
	__u8 tha[ETH_ALEN];
	__be32 tpa;
} __attribute__((packed));

/* Returns a TC verdict when it answered, or -1 to let the frame pass. */
static __always_inline int l2_arp_reply(struct __sk_buff *skb)
{
	struct axon_l2_responder_key key = {.ifindex = skb->ifindex};
	struct axon_l2_responder_value *v;
	struct axon_netdev_info *nd;
	struct axon_l2_lease *lease;
	__u32 zero = 0;
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct axon_arp_eth *arp = (void *)(eth + 1);
	__u8 requester[ETH_ALEN];
	__be32 requester_ip;
	__u32 ifindex = skb->ifindex;

	if ((void *)(arp + 1) > data_end)
		return -1;
	if (arp->htype != bpf_htons(ARPHRD_ETHER_) || arp->ptype != bpf_htons(ETH_P_IP) ||
	    arp->hlen != ETH_ALEN || arp->plen != 4 || arp->op != bpf_htons(ARPOP_REQUEST_))
		return -1;
	if (arp->spa == arp->tpa)
		return -1; /* gratuitous: nobody to answer */
	key.ip = arp->tpa;
	v = bpf_map_lookup_elem(&axon_l2_responder_v1, &key);
	if (!v)
		return -1;
	/* Fenced: an agent that stopped renewing its lease answers nothing,
	 * so two nodes never answer for one address. */
	lease = bpf_map_lookup_elem(&axon_l2_lease_v1, &zero);
	if (!lease || bpf_ktime_get_ns() >= lease->expires_ns)
		return -1;
	nd = bpf_map_lookup_elem(&axon_netdevs_v1, &ifindex);
	if (!nd)
		return -1;
	__builtin_memcpy(requester, arp->sha, ETH_ALEN);
	requester_ip = arp->spa;
	/* The reply: to the requester, from the device. */
	__builtin_memcpy(eth->h_dest, requester, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nd->mac, ETH_ALEN);
	arp->op = bpf_htons(ARPOP_REPLY_);
	__builtin_memcpy(arp->tha, requester, ETH_ALEN);
	arp->tpa = requester_ip;
	__builtin_memcpy(arp->sha, nd->mac, ETH_ALEN);
	arp->spa = key.ip;
	__sync_fetch_and_add(&v->responses, 1);
	return bpf_redirect(skb->ifindex, 0);
}

#endif /* AXON_BPF_L2_H */
