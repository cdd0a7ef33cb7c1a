/* Steering toward the proxy, after L3/L4 policy allowed a packet: whose L7 rules take it (the
 * sender's egress, the receiver's ingress, or both), the record of a steered connection in
 * sluice_steered, and the hairpin of packets whose client is not a local pod.
 * Maps: lib/maps.h; keys and values: include/sluice_maps.h. Semantics: docs/architecture.md,
 * "Steering"; cilium-hardening.md section 5 (both proxies are traversed). */
#ifndef SLUICE_LIB_STEER_H
#define SLUICE_LIB_STEER_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "flow_ring.h"
#include "maps.h"
#include "packet.h"
#include "dns_deny.h"

/* The L7 port entry of one side of the packet, or NULL. */
static __always_inline struct sluice_l7_value *
sluice_l7_lookup(const struct sluice_endpoint_info *ep, const struct sluice_l4 *l4, __u8 direction)
{
    if (!ep)
        return NULL;
    struct sluice_l7_key key = {
        .endpoint_id = ep->id,
        .port = l4->dport,
        .proto = l4->proto,
        .direction = direction,
    };
    return bpf_map_lookup_elem(&sluice_l7_ports, &key);
}

/* A TCP SYN (without ACK) or any UDP datagram: the packet that opens what the proxy will accept. */
static __always_inline int sluice_steer_opens_flow(const struct sluice_l4 *l4)
{
    return l4->proto == IPPROTO_UDP || (l4->tcp_flags & (SLUICE_TCP_SYN | SLUICE_TCP_ACK)) == SLUICE_TCP_SYN;
}

/* Records a new steered connection (TCP SYN) or datagram flow (UDP) for sk_lookup and the proxy. */
static __always_inline void sluice_record_steered(const struct sluice_l4 *l4, __u32 src_endpoint,
                                                  __u32 dst_endpoint, __u8 sides, __u8 kind,
                                                  __u32 src_identity, __u32 dst_identity)
{
    struct sluice_tuple tuple = {
        .src_ip4 = l4->saddr,
        .dst_ip4 = l4->daddr,
        .src_port = l4->sport,
        .dst_port = l4->dport,
        .proto = l4->proto,
    };
    struct sluice_steer_info info = {
        .src_endpoint = src_endpoint,
        .dst_endpoint = dst_endpoint,
        /* Both sides' identities as policy saw them: a local endpoint's own, else the ipcache's
         * (CIDR, learned toFQDNs IP, world) or host, so the proxy matches L7 peers like the
         * datapath. */
        .src_identity = src_identity,
        .dst_identity = dst_identity,
        .sides = sides,
        .kind = kind,
        .created_ns = bpf_ktime_get_ns(),
    };
    bpf_map_update_elem(&sluice_steered, &tuple, &info, BPF_ANY);
}

/* The verdict funnel of steering: both sides carry L7 rules on the port but of different parser
 * kinds (one side's HTTP, the other's DNS): no single proxy can decide both, so the packet is
 * dropped (fail closed) with Hubble's PROXY_REDIRECTION_NOT_SUPPORTED (180), charged to the
 * receiver's ingress. Writes the DROPPED flow record and returns TC_ACT_SHOT. */
static __always_inline int sluice_steer_drop(const struct sluice_l4 *l4, __u32 src_identity, __u32 dst_identity,
                                             __u32 src_endpoint, __u32 dst_endpoint)
{
    __u64 seq = 0;
    struct sluice_flow *rec = sluice_flow_reserve_l3l4(&seq);
    if (!rec)
        return TC_ACT_SHOT;
    sluice_flow_fill_ends(rec, l4, src_identity, dst_identity, src_endpoint, dst_endpoint);
    rec->verdict = SLUICE_VERDICT_DROPPED;
    rec->flow_type = SLUICE_FLOW_TYPE_L3_L4;
    rec->event_type = SLUICE_EVENT_DROP;
    rec->drop_reason = SLUICE_DROP_PROXY_REDIRECTION_NOT_SUPPORTED;
    rec->direction = SLUICE_DIR_INGRESS;
    rec->is_reply = SLUICE_REPLY_UNKNOWN;
    rec->tcp_flags = l4->tcp_flags;
    sluice_flow_commit(rec, seq);
    return TC_ACT_SHOT;
}

/* The L7 steering of an allowed packet that left a pod (sluice_tc_endpoint, before routing): the
 * source's egress L7 port and the destination's ingress L7 port are both looked up; either one
 * sends the packet to the proxy (skb->mark, policy routing), and the record names every side
 * whose rules the proxy must apply. A UDP query the source's egress steers to the DNS proxy is
 * first looked up in the deny cache (lib/dns_deny.h): on a hit it is answered there (with the
 * trace record of reason `trace_reason`), *answered is set and nothing is recorded in
 * sluice_steered. Returns TC_ACT_OK, the drop above, or the answer's verdict. */
static __always_inline int sluice_steer(struct __sk_buff *skb, const struct sluice_l4 *l4,
                                        const struct sluice_endpoint_info *src,
                                        const struct sluice_endpoint_info *dst, __u32 src_identity,
                                        __u32 dst_identity, __u8 trace_reason, int *answered)
{
    /* Kinds, not pointers, from here on: the verifier refuses arithmetic (`a | b`) that clang
     * makes of two pointer null checks. Entries never hold SLUICE_PROXY_NONE. */
    __u8 egress = 0, ingress = 0;
    struct sluice_l7_value *l7 = sluice_l7_lookup(src, l4, SLUICE_DIR_EGRESS);
    if (l7)
        egress = l7->kind;
    l7 = sluice_l7_lookup(dst, l4, SLUICE_DIR_INGRESS);
    if (l7)
        ingress = l7->kind;
    if (egress == SLUICE_PROXY_NONE && ingress == SLUICE_PROXY_NONE)
        return TC_ACT_OK;
    __u32 src_endpoint = src ? src->id : 0;
    __u32 dst_endpoint = dst ? dst->id : 0;
    if (egress != SLUICE_PROXY_NONE && ingress != SLUICE_PROXY_NONE && egress != ingress)
        return sluice_steer_drop(l4, src_identity, dst_identity, src_endpoint, dst_endpoint);

    skb->mark = SLUICE_MARK_TO_PROXY;
    if (egress == SLUICE_PROXY_DNS_UDP) {
        struct sluice_dns_deny_ctx c = {
            .src_identity = src_identity,
            .dst_identity = dst_identity,
            .src_endpoint = src_endpoint,
            .dst_endpoint = dst_endpoint,
            .trace_reason = trace_reason,
        };
        int verdict = sluice_dns_deny_try(skb, l4, &c);
        if (verdict != SLUICE_DNS_DENY_MISS) {
            *answered = 1;
            return verdict;
        }
    }
    if (sluice_steer_opens_flow(l4)) {
        __u8 sides = (egress ? SLUICE_STEER_EGRESS : 0) | (ingress ? SLUICE_STEER_INGRESS : 0);
        sluice_record_steered(l4, src_endpoint, dst_endpoint, sides, egress ? egress : ingress, src_identity,
                              dst_identity);
    }
    return TC_ACT_OK;
}

/* Whether the pod's ingress policy sends `identity` on this port through the proxy: a REDIRECT
 * entry for that peer or for every peer on the port (an L7 rule selects it). Cilium redirects by
 * the policy map entry that matched; a peer admitted on all ports by a rule without L7 parts (the
 * host under allow-localhost, an L3-only rule) is not redirected, and no L7 rule restricts it. */
static __always_inline int sluice_steer_redirects(__u32 endpoint_id, __u32 identity, const struct sluice_l4 *l4)
{
    struct sluice_policy_key key = {
        .endpoint_id = endpoint_id,
        .identity = identity,
        .port = l4->dport,
        .proto = l4->proto,
        .direction = SLUICE_DIR_INGRESS,
    };
    struct sluice_policy_value *value = bpf_map_lookup_elem(&sluice_policy, &key);
    if (value && value->action == SLUICE_POLICY_REDIRECT)
        return 1;
    key.identity = 0;
    value = bpf_map_lookup_elem(&sluice_policy, &key);
    return value && value->action == SLUICE_POLICY_REDIRECT;
}

/* The L7 steering of an allowed packet toward a pod from a client that is not a local pod
 * (sluice_tc_to_endpoint: world, CIDR peers, remote nodes, the node itself). The packet was routed
 * already, so a mark alone is too late: when the pod's ingress has L7 rules on the port that apply
 * to the client, the destination MAC becomes the loopback device's (zero, so the stack takes it as
 * PACKET_HOST) and the packet is redirected to the ingress of SLUICE_HAIRPIN_IFINDEX with
 * SLUICE_MARK_TO_PROXY, where the policy route delivers it locally and sk_lookup hands it to the
 * proxy. The proxy's own packets (SLUICE_MARK_FROM_PROXY) are never steered again: it decided this
 * pod's L7 rules already. Returns TC_ACT_OK (not steered), TC_ACT_REDIRECT, or TC_ACT_SHOT when
 * the packet cannot be rewritten. */
static __always_inline int sluice_steer_to_endpoint(struct __sk_buff *skb, const struct sluice_l4 *l4,
                                                    const struct sluice_endpoint_info *dst, __u32 src_identity)
{
    if ((skb->mark & SLUICE_MARK_MASK) == SLUICE_MARK_FROM_PROXY)
        return TC_ACT_OK;
    struct sluice_l7_value *ingress = sluice_l7_lookup(dst, l4, SLUICE_DIR_INGRESS);
    if (!ingress)
        return TC_ACT_OK;
    if (!sluice_steer_redirects(dst->id, src_identity, l4))
        return TC_ACT_OK;
    if (sluice_steer_opens_flow(l4))
        sluice_record_steered(l4, 0, dst->id, SLUICE_STEER_INGRESS, ingress->kind, src_identity, dst->identity);

    const __u8 loopback_mac[ETH_ALEN] = {};
    if (bpf_skb_store_bytes(skb, 0, loopback_mac, ETH_ALEN, 0) < 0)
        return TC_ACT_SHOT;
    skb->mark = SLUICE_MARK_TO_PROXY;
    return bpf_redirect(SLUICE_HAIRPIN_IFINDEX, BPF_F_INGRESS);
}

/* The identity of a packet the proxy sent toward a pod (SLUICE_MARK_FROM_PROXY): the client's,
 * carried in the mark (include/sluice_maps.h), so the pod's ingress policy sees who really sent
 * the request instead of the node. Returns 1 and sets *identity for such packets, else 0. */
static __always_inline int sluice_proxy_identity(const struct __sk_buff *skb, __u32 *identity)
{
    if ((skb->mark & SLUICE_MARK_MASK) != SLUICE_MARK_FROM_PROXY)
        return 0;
    *identity = sluice_mark_identity(skb->mark);
    return 1;
}

#endif
