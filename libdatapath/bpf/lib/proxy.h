/* L7 redirect, as Cilium's BPF TPROXY: a packet the policy hands to the
 * node's proxy (AXON_POLICY_REDIRECT) is delivered to the proxy's socket with
 * bpf_sk_assign, keeping its original addresses (the proxy reads the original
 * destination from its accepted socket): the connection's own transparent
 * socket when the proxy already holds it, else the proxy's listener on the
 * proxy port. The node routes packets marked AXON_MARK_PROXY locally (the
 * agent's policy-routing rule), so the stack hands them to that socket.
 *
 * Fail closed: nothing listening on the proxy port (no proxy, proxy crashed
 * or restarting) drops the packet, SOCKET_LOOKUP_FAILED; it never goes on to
 * its destination unfiltered. A packet with an assigned socket that is
 * routed anywhere but locally is dropped by the stack (ip_forward refuses
 * packets with a socket), so a missing routing rule fails closed too.
 *
 * bpf_sk_assign works at TC ingress only. from-container and host routing's
 * to-container-local run there; to-container (TC egress of the veth) checks
 * the listener, then sends the packet, marked, out of the node's proxy device
 * axon_host (cfg_proxy_ifindex), as Cilium's hairpin through cilium_host:
 * it arrives on the veth peer axon_net, whose TC ingress program
 * (axon_to_proxy) assigns the socket. Only the datapath sends on axon_host.
 *
 * The proxy keeps the client's address (both directions): its upstream
 * connection has the client's own 4-tuple (a transparent socket bound to
 * the client's address and port), so the destination's policy sees the
 * client, and the connection's conntrack entry is the one the redirect
 * made. The destination's packets of that tuple are replies of a connection
 * whose egress (at the client's to-container) or ingress (at the server's
 * from-container) went to the proxy: they go to the upstream socket
 * instead (`reply`: that socket only, never a listener). What the
 * proxy itself sends the pod carries AXON_MARK_FROM_PROXY and goes in. */
#ifndef AXON_BPF_PROXY_H
#define AXON_BPF_PROXY_H

#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lib/config.h"
#include "lib/parse.h"

#ifndef BPF_F_CURRENT_NETNS
#define BPF_F_CURRENT_NETNS (-1L)
#endif

enum { PROXY_TCP_LISTEN = 10, PROXY_TCP_TIME_WAIT = 6 }; /* BPF_TCP_* */

/* The socket the packet belongs to: with `established`, the one of its exact
 * 4-tuple (never a listener or a TIME_WAIT); else the listener on `port` of
 * any address. NULL when there is none; the caller releases. */
static __always_inline struct bpf_sock *proxy_socket(struct __sk_buff *skb,
						     const struct axon_pkt *p, __u16 port,
						     int established)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;

	if (established) {
		t.ipv4.saddr = p->tuple.saddr;
		t.ipv4.daddr = p->tuple.daddr;
		t.ipv4.sport = p->tuple.sport;
		t.ipv4.dport = p->tuple.dport;
	} else {
		t.ipv4.dport = bpf_htons(port);
	}
	if (p->tuple.proto == IPPROTO_UDP)
		return established ? NULL
				   : bpf_sk_lookup_udp(skb, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
	sk = bpf_skc_lookup_tcp(skb, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return NULL;
	if (established ? sk->state == PROXY_TCP_LISTEN || sk->state == PROXY_TCP_TIME_WAIT
			: sk->state != PROXY_TCP_LISTEN) {
		bpf_sk_release(sk);
		return NULL;
	}
	return sk;
}

/* The socket for the packet, established first (TCP); a reply: only its
 * connection's. */
static __always_inline struct bpf_sock *proxy_lookup(struct __sk_buff *skb,
						     const struct axon_pkt *p, __u16 port, int reply)
{
	struct bpf_sock *sk = NULL;

	if (p->tuple.proto == IPPROTO_TCP)
		sk = proxy_socket(skb, p, port, 1);
	if (!sk && !reply)
		sk = proxy_socket(skb, p, port, 0);
	return sk;
}

/* Hands the packet to the proxy listening on `port`: 0 when done (at TC
 * ingress) or checked (at egress: the caller sends it back in), else the drop
 * reason. */
static __always_inline int proxy_redirect(struct __sk_buff *skb, const struct axon_pkt *p,
					  __u16 port, int tc_ingress, int reply)
{
	struct bpf_sock *sk;
	long err = 0;

	if (p->tuple.proto != IPPROTO_TCP && p->tuple.proto != IPPROTO_UDP)
		return AXON_DROP_PROXY_UNSUPPORTED_PROTO;
	sk = proxy_lookup(skb, p, port, reply);
	if (!sk)
		return AXON_DROP_SOCKET_LOOKUP_FAILED;
	if (!tc_ingress && !cfg_proxy_ifindex)
		err = -1; /* no way to the socket from here */
	else if (tc_ingress)
		err = bpf_sk_assign(skb, sk, 0);
	bpf_sk_release(sk);
	skb->mark = AXON_MARK_PROXY | (reply ? AXON_MARK_PROXY_REPLY : 0) | ((__u32)port << 16);
	return err ? AXON_DROP_SOCKET_ASSIGN_FAILED : 0;
}

#endif /* AXON_BPF_PROXY_H */
