/* Bounds-checked parsing of a packet that starts with an Ethernet header: IPv4 with TCP, UDP,
 * SCTP, ICMP or any other protocol (fragments included), and IPv6 (the fixed header and the
 * first next header). Headers are read with direct packet access; a header that is not in the
 * linear part of the skb is pulled in first (bpf_skb_pull_data), so "truncated" always means
 * the packet itself is too short. */
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

#include "sluice_flow.h"
#include "sluice_maps.h"

/* iphdr.frag_off (host order): more fragments, and the fragment offset. */
#define SLUICE_IP_MF 0x2000
#define SLUICE_IP_OFFSET_MASK 0x1FFF
/* Offset of the flags byte (FIN..CWR) in the TCP header. */
#define SLUICE_TCP_FLAGS_OFFSET 13

#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6 58
#endif

/* ICMP (RFC 792) and ICMPv6 (RFC 4443) types and codes the datapath tells apart. <linux/icmp.h>
 * pulls in libc socket headers the BPF target cannot include, hence the local names. */
#define SLUICE_ICMP_ECHO_REPLY 0
#define SLUICE_ICMP_UNREACH 3
#define SLUICE_ICMP_ECHO 8
#define SLUICE_ICMP_TIME_EXCEEDED 11
#define SLUICE_ICMP_PARAMETER_PROBLEM 12
#define SLUICE_ICMP_CODE_FRAG_NEEDED 4
#define SLUICE_ICMP6_UNREACH 1
#define SLUICE_ICMP6_PACKET_TOO_BIG 2
#define SLUICE_ICMP6_TIME_EXCEEDED 3
#define SLUICE_ICMP6_PARAMETER_PROBLEM 4
#define SLUICE_ICMP6_ECHO 128
#define SLUICE_ICMP6_ECHO_REPLY 129

/* Bytes of L4 header a packet must carry in full to be decided: a shorter one (a "tiny first
 * fragment", RFC 1858, or a truncated packet) is dropped as invalid (134), like Cilium's
 * DROP_INVALID / DROP_CT_INVALID_HDR. ICMP: type, code, checksum and the 4-byte rest of header
 * (echo identifier) — Cilium drops ICMP shorter than 8 bytes (cilium-hardening.md 1). */
#define SLUICE_TCP_HEADER_MIN 20
#define SLUICE_UDP_HEADER 8
#define SLUICE_SCTP_COMMON_HEADER 12
#define SLUICE_ICMP_HEADER 8
#define SLUICE_IPV6_HEADER 40

/* sluice_l4.flags */
#define SLUICE_L4_FRAGMENT 0x01     /* part of a fragmented IPv4 datagram */
#define SLUICE_L4_NO_HEADER 0x02    /* a later fragment: its ports come from sluice_fragments */
#define SLUICE_L4_ICMP_ERROR 0x04   /* an ICMP error (it quotes the packet it is about) */
#define SLUICE_L4_FRAG_NEEDED 0x08  /* ICMPv4 destination unreachable, fragmentation needed */

/* What the tc programs need from one packet. Addresses network order, ports host order. */
struct sluice_l4 {
    __u32 saddr;        /* IPv4 (0 for IPv6: see saddr6) */
    __u32 daddr;
    __u16 sport;        /* connection-tracking ports: TCP/UDP/SCTP ports; ICMP echo identifier */
    __u16 dport;
    __u8 proto;         /* IPv4 protocol or IPv6 next header */
    __u8 tcp_flags;
    __u8 icmp_type;     /* ICMP / ICMPv6 */
    __u8 icmp_code;
    __u16 policy_port;  /* the port of policy entries: dport, SLUICE_ICMP_PORT(type), or 0 */
    __u8 policy_proto;  /* the protocol of policy entries: proto, or 0 for "any other" */
    __u8 flags;         /* SLUICE_L4_* */
    __u16 frag_id;      /* IPv4 identification (network order) of a fragment */
    __u8 ip_version;    /* 4 or 6 */
    __u8 invalid;       /* SLUICE_DROP_INVALID_PACKET when the L4 header is incomplete */
    __u32 l4_offset;    /* where the L4 header starts, from the start of the packet */
    __u32 saddr6[4];    /* IPv6 only */
    __u32 daddr6[4];
};

/* What sluice_parse_packet found. */
enum sluice_packet_kind {
    SLUICE_PACKET_INVALID = -1,  /* an IP packet whose IP header is truncated or malformed */
    SLUICE_PACKET_OTHER = 0,     /* ARP (or a frame too short for Ethernet): not Sluice's business */
    SLUICE_PACKET_NOT_IP = 1,    /* another EtherType (802.1Q, LLDP, ...): default deny drops it */
    SLUICE_PACKET_IPV4 = 4,
    SLUICE_PACKET_IPV6 = 6,
};

/* Makes the first `len` bytes of the packet directly readable. 0 when the packet is shorter. */
static __always_inline int sluice_pull(struct __sk_buff *skb, __u32 len)
{
    if ((long)skb->data + len <= (long)skb->data_end)
        return 1;
    if (skb->len < len)
        return 0;
    return bpf_skb_pull_data(skb, len) == 0;
}

/* Bytes of L4 header `proto` must carry (0: a protocol Sluice reads no header of). */
static __always_inline __u32 sluice_l4_header_len(__u8 proto)
{
    switch (proto) {
    case IPPROTO_TCP: return SLUICE_TCP_HEADER_MIN;
    case IPPROTO_UDP: return SLUICE_UDP_HEADER;
    case IPPROTO_SCTP: return SLUICE_SCTP_COMMON_HEADER;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6: return SLUICE_ICMP_HEADER;
    default: return 0;
    }
}

/* Sets policy_port and policy_proto from proto, ports and ICMP type. */
static __always_inline void sluice_policy_fields(struct sluice_l4 *out)
{
    switch (out->proto) {
    case IPPROTO_TCP:
    case IPPROTO_UDP:
    case IPPROTO_SCTP:
        out->policy_proto = out->proto;
        out->policy_port = out->dport;
        break;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
        out->policy_proto = out->proto;
        out->policy_port = SLUICE_ICMP_PORT(out->icmp_type);
        break;
    default:
        out->policy_proto = 0;
        out->policy_port = 0;
    }
}

/* ICMP/ICMPv6 type, code and connection-tracking ports: an echo request has the identifier as
 * its destination port, an echo reply as its source port (Cilium's ct_lookup4), so a reply is
 * the reversed tuple of its request; other types have ports 0. Errors are flagged. */
static __always_inline void sluice_icmp_fields(struct sluice_l4 *out, const __u8 *icmp)
{
    __u8 type = icmp[0];
    __u16 id = (__u16)icmp[4] << 8 | icmp[5];
    int v6 = out->proto == IPPROTO_ICMPV6;
    out->icmp_type = type;
    out->icmp_code = icmp[1];
    if (type == (v6 ? SLUICE_ICMP6_ECHO : SLUICE_ICMP_ECHO)) {
        out->dport = id;
    } else if (type == (v6 ? SLUICE_ICMP6_ECHO_REPLY : SLUICE_ICMP_ECHO_REPLY)) {
        out->sport = id;
    } else if (v6 ? (type >= SLUICE_ICMP6_UNREACH && type <= SLUICE_ICMP6_PARAMETER_PROBLEM)
                  : (type == SLUICE_ICMP_UNREACH || type == SLUICE_ICMP_TIME_EXCEEDED ||
                     type == SLUICE_ICMP_PARAMETER_PROBLEM)) {
        out->flags |= SLUICE_L4_ICMP_ERROR;
        if (!v6 && type == SLUICE_ICMP_UNREACH && out->icmp_code == SLUICE_ICMP_CODE_FRAG_NEEDED)
            out->flags |= SLUICE_L4_FRAG_NEEDED;
    }
}

/* Reads the L4 header at `off` (present in full: the caller checked the IP lengths) into
 * `out`. Returns 0, or -1 when the packet is shorter than its IP header says. */
static __always_inline int sluice_read_l4(struct __sk_buff *skb, struct sluice_l4 *out, __u32 off)
{
    __u32 len = sluice_l4_header_len(out->proto);
    out->l4_offset = off;
    if (len == 0)
        return 0;
    if (off > 128 || !sluice_pull(skb, off + len))
        return -1;
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    __u8 *l4 = data + (off & 0xff);
    if ((void *)(l4 + SLUICE_ICMP_HEADER) > data_end)
        return -1;
    if (out->proto == IPPROTO_ICMP || out->proto == IPPROTO_ICMPV6) {
        sluice_icmp_fields(out, l4);
        return 0;
    }
    /* TCP, UDP and SCTP all start with the source and destination ports. */
    out->sport = (__u16)l4[0] << 8 | l4[1];
    out->dport = (__u16)l4[2] << 8 | l4[3];
    if (out->proto == IPPROTO_TCP) {
        if ((void *)(l4 + SLUICE_TCP_HEADER_MIN) > data_end)
            return -1;
        out->tcp_flags = l4[SLUICE_TCP_FLAGS_OFFSET];
    }
    return 0;
}

/* IPv4: addresses, protocol, fragment state and (unless this is a later fragment) the L4
 * header. IP options are skipped using ihl. */
static __always_inline int sluice_parse_ipv4(struct __sk_buff *skb, struct sluice_l4 *out)
{
    if (!sluice_pull(skb, ETH_HLEN + sizeof(struct iphdr)))
        return SLUICE_PACKET_INVALID;
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    struct iphdr *ip = data + ETH_HLEN;
    if ((void *)(ip + 1) > data_end)
        return SLUICE_PACKET_INVALID;
    __u32 ihl_bytes = (__u32)ip->ihl * 4;
    __u32 tot_len = bpf_ntohs(ip->tot_len);
    if (ip->version != 4 || ihl_bytes < sizeof(struct iphdr) || tot_len < ihl_bytes)
        return SLUICE_PACKET_INVALID;
    out->ip_version = 4;
    out->saddr = ip->saddr;
    out->daddr = ip->daddr;
    out->proto = ip->protocol;
    __u16 frag = bpf_ntohs(ip->frag_off);
    if (frag & (SLUICE_IP_MF | SLUICE_IP_OFFSET_MASK)) {
        out->flags |= SLUICE_L4_FRAGMENT;
        out->frag_id = ip->id;
    }
    if (frag & SLUICE_IP_OFFSET_MASK) {
        out->flags |= SLUICE_L4_NO_HEADER;
        return SLUICE_PACKET_IPV4;
    }
    /* The datagram's own length counts, not the frame's: Ethernet padding is no header. */
    if (tot_len < ihl_bytes + sluice_l4_header_len(out->proto) ||
        sluice_read_l4(skb, out, ETH_HLEN + ihl_bytes) < 0) {
        out->invalid = SLUICE_DROP_INVALID_PACKET;
        return SLUICE_PACKET_IPV4;
    }
    sluice_policy_fields(out);
    return SLUICE_PACKET_IPV4;
}

/* The fixed IPv6 header (RFC 8200 3). */
struct sluice_ipv6_header {
    __u8 version_class;
    __u8 class_flow[3];
    __u16 payload_len;
    __u8 next_header;
    __u8 hop_limit;
    __u32 saddr[4];
    __u32 daddr[4];
};

/* IPv6: addresses and, when the first next header is TCP, UDP, SCTP or ICMPv6, its ports or
 * type. Extension headers are not walked: their number stands as the protocol, without ports. */
static __always_inline int sluice_parse_ipv6(struct __sk_buff *skb, struct sluice_l4 *out)
{
    if (!sluice_pull(skb, ETH_HLEN + SLUICE_IPV6_HEADER))
        return SLUICE_PACKET_INVALID;
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    struct sluice_ipv6_header *ip6 = data + ETH_HLEN;
    if ((void *)(ip6 + 1) > data_end)
        return SLUICE_PACKET_INVALID;
    if (ip6->version_class >> 4 != 6)
        return SLUICE_PACKET_INVALID;
    out->ip_version = 6;
    __builtin_memcpy(out->saddr6, ip6->saddr, sizeof(out->saddr6));
    __builtin_memcpy(out->daddr6, ip6->daddr, sizeof(out->daddr6));
    out->proto = ip6->next_header;
    if (bpf_ntohs(ip6->payload_len) < sluice_l4_header_len(out->proto) ||
        sluice_read_l4(skb, out, ETH_HLEN + SLUICE_IPV6_HEADER) < 0) {
        out->invalid = SLUICE_DROP_INVALID_PACKET;
        return SLUICE_PACKET_IPV6;
    }
    sluice_policy_fields(out);
    return SLUICE_PACKET_IPV6;
}

/* Parses the packet into `out` (zeroed by the caller). Returns an enum sluice_packet_kind; for
 * IPv4 and IPv6, out->invalid is set when the L4 header is incomplete, and a later IPv4
 * fragment has SLUICE_L4_NO_HEADER (its ports come from sluice_fragments: lib/fragments.h). */
static __always_inline int sluice_parse_packet(struct __sk_buff *skb, struct sluice_l4 *out)
{
    if (!sluice_pull(skb, ETH_HLEN))
        return SLUICE_PACKET_OTHER;
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return SLUICE_PACKET_OTHER;
    if (eth->h_proto == bpf_htons(ETH_P_IP))
        return sluice_parse_ipv4(skb, out);
    if (eth->h_proto == bpf_htons(ETH_P_IPV6))
        return sluice_parse_ipv6(skb, out);
    if (eth->h_proto == bpf_htons(ETH_P_ARP))
        return SLUICE_PACKET_OTHER;
    return SLUICE_PACKET_NOT_IP;
}

#endif
