// SPDX-License-Identifier: GPL-2.0
/* tc_endpoint: two programs on every endpoint's host-side veth.
 *
 * sluice_tc_endpoint (clsact ingress: packets leaving a pod) checks first that the packet is the
 * pod's own: its IPv4 source must be the endpoint whose veth it arrived on (else
 * INVALID_SOURCE_IP, 132), its headers complete (else 134) and, for a later fragment, its first
 * fragment seen (else 175: lib/fragments.h). Then L3/L4 policy: IPv4 fragmentation-needed
 * always passes; a reply of a tracked connection, or an ICMP error related to one, passes;
 * otherwise the source pod's egress policy and, when the destination is a local pod, its
 * ingress policy are looked up (lib/policy.h); a deny drops the packet with a flow record (with
 * --policy-deny-response=icmp an egress deny answers ICMP destination unreachable instead:
 * lib/deny_response.h), an allowed packet's connection is tracked in sluice_ct
 * (lib/conntrack.h). IPv6 meets only the pod's egress rule for IPv6 (sluice_policy_verdict6).
 * sluice_tc_to_endpoint (clsact egress: packets toward a pod) decides the pod's ingress policy for
 * traffic that no local pod sent (the node, world), and for all IPv6; IPv4 pod-to-pod traffic
 * was decided on the source's veth already.
 * ARP passes both; other frames that are not IP pass unless the endpoint has default deny in
 * that direction (UNSUPPORTED_L3_PROTOCOL, 139).
 *
 * Steering (after policy, lib/steer.h): a packet whose source's egress or destination's ingress
 * has an entry in sluice_l7_ports goes to the proxy: in sluice_tc_endpoint skb->mark =
 * SLUICE_MARK_TO_PROXY, which policy routing in the node namespace turns into local delivery; in
 * sluice_tc_to_endpoint (after routing) the same mark and a redirect to the loopback device's
 * ingress (the hairpin). sk_lookup then hands it to the proxy listener. A TCP SYN or any UDP
 * datagram also records its 4-tuple in sluice_steered with both endpoints, both identities and
 * the sides whose L7 rules apply, so sk_lookup and the proxy know them. Packets of the proxy's own
 * upstream connections carry the client's identity in their mark; sluice_tc_to_endpoint decides
 * the pod's ingress policy with it and never steers them. Everything else passes untouched.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "deny_response.h"
#include "fragments.h"
#include "maps.h"
#include "packet.h"
#include "policy.h"
#include "steer.h"

/* Whether a packet toward a pod is the node's own: locally generated (no ingress device) or
 * sent by the proxy. */
static __always_inline int sluice_node_sent(const struct __sk_buff *skb)
{
    return skb->ingress_ifindex == 0 || (skb->mark & SLUICE_MARK_MASK) == SLUICE_MARK_FROM_PROXY;
}

/* An IPv6 packet of the endpoint `ep` (NULL: a veth Sluice knows no endpoint of) in `direction`,
 * exchanged with a peer of identity `peer` (world, or host for the node's own packets): dropped
 * when incomplete or when that direction's policy denies it (sluice_policy_verdict6). */
static __always_inline int sluice_ipv6(const struct sluice_l4 *l4, const struct sluice_endpoint_info *ep, __u32 peer,
                                       __u8 direction)
{
    __u8 reason = l4->invalid;
    if (!reason && ep)
        reason = sluice_policy_verdict6(ep->id, peer, l4, direction);
    __u32 identity = ep ? ep->identity : 0;
    __u32 id = ep ? ep->id : 0;
    if (reason == SLUICE_DROP_NONE) {
        /* No connection tracking for IPv6: Cilium's `medium` aggregation is approximated from the
         * packet itself, a trace for each TCP packet carrying SYN, FIN or RST (SYN-ACK as the
         * reply), none for other packets (which would be one per packet). */
        if (l4->proto == IPPROTO_TCP && (l4->tcp_flags & (SLUICE_TCP_SYN | SLUICE_TCP_FIN | SLUICE_TCP_RST))) {
            __u8 why = !(l4->tcp_flags & SLUICE_TCP_SYN)  ? SLUICE_TRACE_REASON_ESTABLISHED
                       : (l4->tcp_flags & SLUICE_TCP_ACK) ? SLUICE_TRACE_REASON_REPLY
                                                          : SLUICE_TRACE_REASON_NEW;
            if (direction == SLUICE_DIR_EGRESS)
                sluice_trace(l4, SLUICE_TRACE_TO_STACK, why, direction, identity, peer, id, 0);
            else
                sluice_trace(l4, SLUICE_TRACE_TO_ENDPOINT, why, direction, peer, identity, 0, id);
        }
        return TC_ACT_OK;
    }
    if (direction == SLUICE_DIR_EGRESS)
        return sluice_policy_drop(l4, reason, direction, identity, peer, id, 0);
    return sluice_policy_drop(l4, reason, direction, peer, identity, 0, id);
}

/* A frame that is neither IP nor ARP, of the endpoint `ep` in `direction`: dropped under default
 * deny (UNSUPPORTED_L3_PROTOCOL, 139), else passed. */
static __always_inline int sluice_not_ip(const struct sluice_l4 *l4, const struct sluice_endpoint_info *ep,
                                         __u8 direction)
{
    if (!ep || !sluice_default_deny(ep->id, direction))
        return TC_ACT_OK;
    if (direction == SLUICE_DIR_EGRESS)
        return sluice_policy_drop(l4, SLUICE_DROP_UNSUPPORTED_L3, direction, ep->identity, 0, ep->id, 0);
    return sluice_policy_drop(l4, SLUICE_DROP_UNSUPPORTED_L3, direction, 0, ep->identity, 0, ep->id);
}

/* A packet that left a pod but is not that pod's to send: its IPv4 source is another endpoint's
 * or no endpoint's address (132), or its IP header is unusable (134). Recorded with the
 * endpoint whose veth it came from as the source. */
static __always_inline int sluice_not_from_pod(struct __sk_buff *skb, const struct sluice_l4 *l4, __u8 reason,
                                               const struct sluice_endpoint_info *dst)
{
    struct sluice_endpoint_info *sender = sluice_veth_endpoint(skb->ingress_ifindex);
    __u32 dst_identity = dst ? dst->identity : l4->ip_version ? sluice_ipcache_identity(l4->daddr) : 0;
    return sluice_policy_drop(l4, reason, SLUICE_DIR_EGRESS, sender ? sender->identity : 0, dst_identity,
                              sender ? sender->id : 0, dst ? dst->id : 0);
}

SEC("tc")
int sluice_tc_endpoint(struct __sk_buff *skb)
{
    struct sluice_l4 l4 = {};
    int kind = sluice_parse_packet(skb, &l4);
    if (kind == SLUICE_PACKET_OTHER)
        return TC_ACT_OK;
    if (kind == SLUICE_PACKET_NOT_IP)
        return sluice_not_ip(&l4, sluice_veth_endpoint(skb->ingress_ifindex), SLUICE_DIR_EGRESS);
    if (kind == SLUICE_PACKET_IPV6)
        return sluice_ipv6(&l4, sluice_veth_endpoint(skb->ingress_ifindex), SLUICE_IDENTITY_WORLD, SLUICE_DIR_EGRESS);
    if (kind == SLUICE_PACKET_INVALID)
        return sluice_not_from_pod(skb, &l4, SLUICE_DROP_INVALID_PACKET, NULL);

    struct sluice_endpoint_key src_key = { .ip4 = l4.saddr };
    struct sluice_endpoint_key dst_key = { .ip4 = l4.daddr };
    struct sluice_endpoint_info *src = bpf_map_lookup_elem(&sluice_endpoints, &src_key);
    struct sluice_endpoint_info *dst = bpf_map_lookup_elem(&sluice_endpoints, &dst_key);
    /* Anti-spoofing (Cilium's is_valid_lxc_src_ipv4): whatever policy either address has. */
    if (!src || src->ifindex != skb->ingress_ifindex)
        return sluice_not_from_pod(skb, &l4, SLUICE_DROP_INVALID_SOURCE_IP, dst);

    /* An incomplete L4 header (134), or a later fragment without its first (175). */
    __u8 malformed = l4.invalid ? l4.invalid : sluice_fragment_ports(&l4);
    if (malformed)
        return sluice_policy_drop(&l4, malformed, SLUICE_DIR_EGRESS, src->identity,
                                  dst ? dst->identity : sluice_ipcache_identity(l4.daddr), src->id, dst ? dst->id : 0);
    /* allow-icmp-frag-needed (Cilium's default): path MTU discovery works whatever the policy. */
    if (l4.flags & SLUICE_L4_FRAG_NEEDED)
        return TC_ACT_OK;

    /* Replies skip policy, like Cilium's CT_REPLY; the forward direction is checked on every
     * packet, so a policy change also applies to open connections. */
    __u32 now = sluice_now_s();
    struct sluice_ct_entry *reply = sluice_ct_reply_entry(&l4, now);
    if (reply) {
        /* A reply the pod sends: the connection is the pod's ingress. */
        if (sluice_ct_refresh(reply, &l4, now, 1))
            sluice_trace(&l4, dst ? SLUICE_TRACE_TO_ENDPOINT : SLUICE_TRACE_TO_STACK, SLUICE_TRACE_REASON_REPLY,
                         SLUICE_DIR_INGRESS, src->identity, dst ? dst->identity : sluice_ipcache_identity(l4.daddr),
                         src->id, dst ? dst->id : 0);
        return TC_ACT_OK;
    }
    int related = sluice_icmp_related(skb, &l4, now);
    if (related) {
        /* Traced as Cilium traces CT_RELATED: each error, on the connection's side of the pod
         * that sends it (the responder's ingress when it goes back to the opener). */
        sluice_trace(&l4, dst ? SLUICE_TRACE_TO_ENDPOINT : SLUICE_TRACE_TO_STACK, SLUICE_TRACE_REASON_RELATED,
                     related == SLUICE_ICMP_TO_OPENER ? SLUICE_DIR_INGRESS : SLUICE_DIR_EGRESS, src->identity,
                     dst ? dst->identity : sluice_ipcache_identity(l4.daddr), src->id, dst ? dst->id : 0);
        return TC_ACT_OK;
    }
    struct sluice_ct_entry *ct = sluice_ct_forward_entry(&l4, now);

    __u32 src_identity = src ? src->identity : sluice_ipcache_identity(l4.saddr);
    __u32 dst_identity = dst ? dst->identity : sluice_ipcache_identity(l4.daddr);
    __u32 src_id = src ? src->id : 0;
    __u32 dst_id = dst ? dst->id : 0;
    struct sluice_policy_allow egress = {}, ingress = {};
    if (src) {
        __u8 reason = sluice_policy_decide(src->id, dst_identity, &l4, SLUICE_DIR_EGRESS, &egress);
        /* A connection opened toward a learned toFQDNs IP continues after the IP's TTL expired
         * (its identity and entries are gone; new connections are dropped: semantics 4.5) while
         * its entry lives; an explicit deny still wins. */
        if (reason == SLUICE_DROP_POLICY_DENIED && ct && (ct->flags & SLUICE_CT_FQDN))
            reason = SLUICE_DROP_NONE;
        if (reason != SLUICE_DROP_NONE) {
            int verdict = sluice_policy_drop_by(&l4, reason, SLUICE_DIR_EGRESS, src_identity, dst_identity, src_id,
                                                dst_id, egress.policy_ref);
            /* --policy-deny-response=icmp: egress denies only, as in Cilium 1.19; never an ICMP
             * error about an ICMP error (RFC 1122 3.2.2). */
            if (sluice_deny_response_icmp() && !(l4.flags & SLUICE_L4_ICMP_ERROR))
                return sluice_icmp_deny(skb);
            return verdict;
        }
    }
    if (dst) {
        __u8 reason = sluice_policy_decide(dst->id, src_identity, &l4, SLUICE_DIR_INGRESS, &ingress);
        if (reason != SLUICE_DROP_NONE)
            return sluice_policy_drop_by(&l4, reason, SLUICE_DIR_INGRESS, src_identity, dst_identity, src_id, dst_id,
                                         ingress.policy_ref);
    }
    __u8 trace = sluice_ct_track(
        &l4, ct, SLUICE_CT_SEEN_BY_FROM_POD | (sluice_identity_is_fqdn(dst_identity) ? SLUICE_CT_FQDN : 0), now);
    /* Policy verdicts for the connection's first packet, where a policy decided. */
    if (trace == SLUICE_TRACE_REASON_NEW) {
        if (egress.enforced)
            sluice_policy_verdict_notify(&l4, egress.match, egress.redirect, egress.policy_ref, SLUICE_DIR_EGRESS,
                                         src_identity, dst_identity, src_id, dst_id);
        if (ingress.enforced)
            sluice_policy_verdict_notify(&l4, ingress.match, ingress.redirect, ingress.policy_ref, SLUICE_DIR_INGRESS,
                                         src_identity, dst_identity, src_id, dst_id);
    }
    /* A query the proxy denied before, under the policy in force, is answered in sluice_steer
     * (lib/dns_deny.h), with the records the proxy would write: the trace record any steered
     * packet gets, and the DNS request flow. */
    int answered = 0;
    int verdict = sluice_steer(skb, &l4, src, dst, src_identity, dst_identity, trace, &answered);
    if (answered)
        return verdict;
    if (verdict == TC_ACT_OK) {
        __u8 point = (skb->mark & SLUICE_MARK_MASK) == SLUICE_MARK_TO_PROXY ? SLUICE_TRACE_TO_PROXY
                     : dst                                                 ? SLUICE_TRACE_TO_ENDPOINT
                                                                           : SLUICE_TRACE_TO_STACK;
        sluice_trace(&l4, point, trace, SLUICE_DIR_EGRESS, src_identity, dst_identity, src_id, dst_id);
    }
    return verdict;
}

/* The identity of a packet toward a pod that no local pod sent: the proxy's upstream packets carry
 * their client's identity in the mark; the node's own packets (locally generated: no ingress
 * device) are host; the rest comes from the ipcache. */
static __always_inline __u32 sluice_remote_identity(const struct __sk_buff *skb, __u32 saddr)
{
    __u32 identity = 0;
    if (sluice_proxy_identity(skb, &identity))
        return identity;
    if (skb->ingress_ifindex == 0)
        return SLUICE_IDENTITY_HOST;
    return sluice_ipcache_identity(saddr);
}

SEC("tc")
int sluice_tc_to_endpoint(struct __sk_buff *skb)
{
    struct sluice_l4 l4 = {};
    int kind = sluice_parse_packet(skb, &l4);
    if (kind == SLUICE_PACKET_OTHER)
        return TC_ACT_OK;
    if (kind == SLUICE_PACKET_NOT_IP)
        return sluice_not_ip(&l4, sluice_veth_endpoint(skb->ifindex), SLUICE_DIR_INGRESS);
    /* No IPv6 address names a pod: the veth the packet leaves by does (skb->ifindex on egress). */
    if (kind == SLUICE_PACKET_IPV6)
        return sluice_ipv6(&l4, sluice_veth_endpoint(skb->ifindex),
                           sluice_node_sent(skb) ? SLUICE_IDENTITY_HOST : SLUICE_IDENTITY_WORLD, SLUICE_DIR_INGRESS);
    if (kind == SLUICE_PACKET_INVALID) {
        struct sluice_endpoint_info *ep = sluice_veth_endpoint(skb->ifindex);
        return sluice_policy_drop(&l4, SLUICE_DROP_INVALID_PACKET, SLUICE_DIR_INGRESS, 0, ep ? ep->identity : 0, 0,
                                  ep ? ep->id : 0);
    }

    struct sluice_endpoint_key dst_key = { .ip4 = l4.daddr };
    struct sluice_endpoint_info *dst = bpf_map_lookup_elem(&sluice_endpoints, &dst_key);
    if (!dst)
        return TC_ACT_OK;
    /* Sent by a local pod: sluice_tc_endpoint decided both sides on the sender's veth. */
    struct sluice_endpoint_key src_key = { .ip4 = l4.saddr };
    if (bpf_map_lookup_elem(&sluice_endpoints, &src_key))
        return TC_ACT_OK;

    __u8 malformed = l4.invalid ? l4.invalid : sluice_fragment_ports(&l4);
    if (malformed)
        return sluice_policy_drop(&l4, malformed, SLUICE_DIR_INGRESS, sluice_remote_identity(skb, l4.saddr),
                                  dst->identity, 0, dst->id);
    if (l4.flags & SLUICE_L4_FRAG_NEEDED)
        return TC_ACT_OK;
    __u32 now = sluice_now_s();
    struct sluice_ct_entry *reply = sluice_ct_reply_entry(&l4, now);
    if (reply) {
        /* A reply toward the pod that opened the connection: its egress. */
        if (sluice_ct_refresh(reply, &l4, now, 1))
            sluice_trace(&l4, SLUICE_TRACE_TO_ENDPOINT, SLUICE_TRACE_REASON_REPLY, SLUICE_DIR_EGRESS,
                         sluice_remote_identity(skb, l4.saddr), dst->identity, 0, dst->id);
        return TC_ACT_OK;
    }
    int related = sluice_icmp_related(skb, &l4, now);
    if (related) {
        /* The pod receives the error: its egress connection when it opened it. */
        sluice_trace(&l4, SLUICE_TRACE_TO_ENDPOINT, SLUICE_TRACE_REASON_RELATED,
                     related == SLUICE_ICMP_TO_OPENER ? SLUICE_DIR_EGRESS : SLUICE_DIR_INGRESS,
                     sluice_remote_identity(skb, l4.saddr), dst->identity, 0, dst->id);
        return TC_ACT_OK;
    }
    struct sluice_ct_entry *ct = sluice_ct_forward_entry(&l4, now);

    __u32 src_identity = sluice_remote_identity(skb, l4.saddr);
    struct sluice_policy_allow ingress = {};
    __u8 reason = sluice_policy_decide(dst->id, src_identity, &l4, SLUICE_DIR_INGRESS, &ingress);
    if (reason != SLUICE_DROP_NONE)
        return sluice_policy_drop_by(&l4, reason, SLUICE_DIR_INGRESS, src_identity, dst->identity, 0, dst->id,
                                     ingress.policy_ref);
    __u8 trace = sluice_ct_track(&l4, ct, SLUICE_CT_SEEN_BY_TO_POD, now);
    if (trace == SLUICE_TRACE_REASON_NEW && ingress.enforced)
        sluice_policy_verdict_notify(&l4, ingress.match, ingress.redirect, ingress.policy_ref, SLUICE_DIR_INGRESS,
                                     src_identity, dst->identity, 0, dst->id);
    int verdict = sluice_steer_to_endpoint(skb, &l4, dst, src_identity);
    if (verdict != TC_ACT_SHOT)
        sluice_trace(&l4, verdict == TC_ACT_REDIRECT ? SLUICE_TRACE_TO_PROXY : SLUICE_TRACE_TO_ENDPOINT, trace,
                     SLUICE_DIR_INGRESS, src_identity, dst->identity, 0, dst->id);
    return verdict;
}

char LICENSE[] SEC("license") = "GPL";
