/* Bounds-checked parsing of an Ethernet/IPv4/TCP|UDP packet with direct packet access. */
#ifndef SLUICE_LIB_PACKET_H
#define SLUICE_LIB_PACKET_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* The IPv4 fragment-offset bits of iphdr.frag_off (network order on the wire). */
#define SLUICE_IP_OFFSET_MASK 0x1FFF
/* Offset of the flags byte (FIN..CWR) in the TCP header. */
#define SLUICE_TCP_FLAGS_OFFSET 13

/* What the steering programs need from one packet. Addresses network order, ports host order. */
struct sluice_l4 {
    __u32 saddr;
    __u32 daddr;
    __u16 sport;
    __u16 dport;
    __u8 proto;
    __u8 tcp_flags;
};

/* Parses an IPv4 TCP or UDP packet that starts with an Ethernet header. Returns 0 and fills
 * `out` on success; -1 for anything else (non-IPv4, other protocols, truncated headers,
 * non-first fragments, which carry no ports). IP options are skipped using ihl. */
static __always_inline int sluice_parse_l4(struct __sk_buff *skb, struct sluice_l4 *out)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;

    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return -1;
    if (eth->h_proto != bpf_htons(ETH_P_IP))
        return -1;

    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end)
        return -1;
    if (ip->version != 4 || ip->ihl < 5)
        return -1;
    if (ip->frag_off & bpf_htons(SLUICE_IP_OFFSET_MASK))
        return -1;
    if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
        return -1;

    __u32 ihl_bytes = (__u32)ip->ihl * 4;
    void *l4 = (void *)ip + ihl_bytes;
    out->saddr = ip->saddr;
    out->daddr = ip->daddr;
    out->proto = ip->protocol;
    out->tcp_flags = 0;

    if (ip->protocol == IPPROTO_TCP) {
        struct tcphdr *tcp = l4;
        if ((void *)(tcp + 1) > data_end)
            return -1;
        out->sport = bpf_ntohs(tcp->source);
        out->dport = bpf_ntohs(tcp->dest);
        out->tcp_flags = ((__u8 *)tcp)[SLUICE_TCP_FLAGS_OFFSET];
        return 0;
    }
    struct udphdr *udp = l4;
    if ((void *)(udp + 1) > data_end)
        return -1;
    out->sport = bpf_ntohs(udp->source);
    out->dport = bpf_ntohs(udp->dest);
    return 0;
}

#endif
