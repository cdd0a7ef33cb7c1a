/* --policy-deny-response=icmp (Cilium 1.19, PR #41406): an egress policy deny answers the pod
 * with ICMP destination unreachable, code 13 "communication administratively filtered", instead
 * of dropping silently, so a TCP connect fails at once (EHOSTUNREACH) rather than timing out.
 * The denied packet itself becomes the answer: its first 28 bytes (IPv4 header without options
 * plus 8 bytes of L4) are kept as the ICMP payload, a new IPv4 + ICMP header goes in front, the
 * Ethernet addresses are swapped and the packet is redirected back out of the veth it came in on.
 * IPv4 only; packets with IP options stay silent drops (as do ingress denies: Cilium #41859). */
#ifndef SLUICE_LIB_DENY_RESPONSE_H
#define SLUICE_LIB_DENY_RESPONSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"

/* Bytes of the denied packet quoted in the ICMP error (RFC 792: IP header + 64 bits). */
#define SLUICE_ICMP_QUOTE 28
/* Ethernet + new IPv4 + ICMP header + quote. */
#define SLUICE_ICMP_FRAME (ETH_HLEN + 20 + 8 + SLUICE_ICMP_QUOTE)
/* RFC 1812 5.2.7.1: "communication administratively prohibited" / Linux ICMP_PKT_FILTERED. */
#define SLUICE_ICMP_CODE_FILTERED 13

/* RFC 792 destination unreachable. <linux/icmp.h> pulls in libc socket headers, which the BPF
 * target cannot include, hence the local definitions. */
#define SLUICE_ICMP_DEST_UNREACH 3

struct sluice_icmp_header {
    __u8 type;
    __u8 code;
    __u16 checksum;
    __u32 unused;  /* RFC 792: zero for destination unreachable (no next-hop MTU here) */
};

/* True when the agent asked for ICMP answers to egress denies. */
static __always_inline int sluice_deny_response_icmp(void)
{
    __u32 zero = 0;
    struct sluice_config *config = bpf_map_lookup_elem(&sluice_config, &zero);
    return config && config->deny_response == SLUICE_DENY_RESPONSE_ICMP;
}

/* The Internet checksum (RFC 1071) of `words` 16-bit words. */
static __always_inline __u16 sluice_csum(const __u16 *data, int words)
{
    __u32 sum = 0;
#pragma unroll
    for (int i = 0; i < 18; i++) {
        if (i < words)
            sum += data[i];
    }
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (__u16)~sum;
}

/* The ICMP answer: IPv4 header, ICMP header, quote; built in one buffer for the checksums. */
struct sluice_icmp_answer {
    struct iphdr ip;
    struct sluice_icmp_header icmp;
    __u8 quote[SLUICE_ICMP_QUOTE];
};

/* Turns the denied IPv4 packet in `skb` into an ICMP destination unreachable toward its sender
 * and redirects it back out of the interface it arrived on. Returns TC_ACT_REDIRECT, or
 * TC_ACT_SHOT when the packet cannot be answered (IP options, a helper failed). */
static __always_inline int sluice_icmp_deny(struct __sk_buff *skb)
{
    struct ethhdr eth;
    struct sluice_icmp_answer answer = {};
    if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)) < 0)
        return TC_ACT_SHOT;
    if (bpf_skb_load_bytes(skb, ETH_HLEN, answer.quote, SLUICE_ICMP_QUOTE) < 0)
        return TC_ACT_SHOT;
    struct iphdr *orig = (struct iphdr *)answer.quote;
    if (orig->ihl != 5)
        return TC_ACT_SHOT;

    answer.ip.version = 4;
    answer.ip.ihl = 5;
    answer.ip.tos = 0xc0; /* internetwork control, like the kernel's ICMP errors */
    answer.ip.tot_len = bpf_htons(sizeof(answer));
    answer.ip.ttl = 64;
    answer.ip.protocol = IPPROTO_ICMP;
    /* From the address the pod tried to reach: the pod's stack matches the quote to its socket. */
    answer.ip.saddr = orig->daddr;
    answer.ip.daddr = orig->saddr;
    answer.ip.check = sluice_csum((const __u16 *)&answer.ip, sizeof(answer.ip) / 2);
    answer.icmp.type = SLUICE_ICMP_DEST_UNREACH;
    answer.icmp.code = SLUICE_ICMP_CODE_FILTERED;
    answer.icmp.checksum = sluice_csum((const __u16 *)&answer.icmp,
                                       (sizeof(answer.icmp) + SLUICE_ICMP_QUOTE) / 2);

    __u8 mac[ETH_ALEN];
    __builtin_memcpy(mac, eth.h_source, ETH_ALEN);
    __builtin_memcpy(eth.h_source, eth.h_dest, ETH_ALEN);
    __builtin_memcpy(eth.h_dest, mac, ETH_ALEN);

    if (bpf_skb_change_tail(skb, SLUICE_ICMP_FRAME, 0) < 0)
        return TC_ACT_SHOT;
    if (bpf_skb_store_bytes(skb, 0, &eth, sizeof(eth), 0) < 0)
        return TC_ACT_SHOT;
    if (bpf_skb_store_bytes(skb, ETH_HLEN, &answer, sizeof(answer), 0) < 0)
        return TC_ACT_SHOT;
    return bpf_redirect(skb->ifindex, 0);
}

#endif
