// SPDX-License-Identifier: GPL-2.0
/* tc_endpoint: two programs on every endpoint's host-side veth.
 *
 * sluice_tc_endpoint (clsact ingress: packets leaving a pod) enforces L3/L4 policy first: a reply
 * of a tracked connection passes; otherwise the source pod's egress policy and, when the
 * destination is a local pod, its ingress policy are looked up (lib/policy.h); a deny drops the
 * packet with a flow record (with --policy-deny-response=icmp an egress deny answers ICMP
 * destination unreachable instead: lib/deny_response.h), an allowed packet's connection is
 * tracked in sluice_ct.
 * sluice_tc_to_endpoint (clsact egress: packets toward a pod) decides the pod's ingress policy for
 * traffic that no local pod sent (the node, world); pod-to-pod traffic was decided on the source's
 * veth already.
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
#include "maps.h"
#include "packet.h"
#include "policy.h"
#include "steer.h"

SEC("tc")
int sluice_tc_endpoint(struct __sk_buff *skb)
{
    struct sluice_l4 l4 = {};
    if (sluice_parse_l4(skb, &l4) < 0)
        return TC_ACT_OK;

    struct sluice_endpoint_key src_key = { .ip4 = l4.saddr };
    struct sluice_endpoint_key dst_key = { .ip4 = l4.daddr };
    struct sluice_endpoint_info *src = bpf_map_lookup_elem(&sluice_endpoints, &src_key);
    struct sluice_endpoint_info *dst = bpf_map_lookup_elem(&sluice_endpoints, &dst_key);

    /* Replies skip policy, like Cilium's CT_REPLY; the forward direction is checked on every
     * packet, so a policy change also applies to open connections. */
    struct sluice_ct_entry *reply = sluice_ct_reply_entry(&l4);
    if (reply) {
        sluice_ct_note_close(reply, &l4);
        return TC_ACT_OK;
    }
    struct sluice_ct_entry *ct = sluice_ct_forward_entry(&l4);

    __u32 src_identity = src ? src->identity : sluice_ipcache_identity(l4.saddr);
    __u32 dst_identity = dst ? dst->identity : sluice_ipcache_identity(l4.daddr);
    __u32 src_id = src ? src->id : 0;
    __u32 dst_id = dst ? dst->id : 0;
    if (src) {
        __u8 reason = sluice_policy_verdict(src->id, dst_identity, &l4, SLUICE_DIR_EGRESS);
        /* A connection opened toward a learned toFQDNs IP continues after the IP's TTL expired
         * (its identity and entries are gone; new connections are dropped: semantics 4.5). */
        if (reason != SLUICE_DROP_NONE && !(ct && (ct->flags & SLUICE_CT_FQDN))) {
            int verdict = sluice_policy_drop(&l4, reason, SLUICE_DIR_EGRESS, src_identity, dst_identity, src_id, dst_id);
            /* --policy-deny-response=icmp: egress denies only, as in Cilium 1.19. */
            return sluice_deny_response_icmp() ? sluice_icmp_deny(skb) : verdict;
        }
    }
    if (dst) {
        __u8 reason = sluice_policy_verdict(dst->id, src_identity, &l4, SLUICE_DIR_INGRESS);
        if (reason != SLUICE_DROP_NONE)
            return sluice_policy_drop(&l4, reason, SLUICE_DIR_INGRESS, src_identity, dst_identity, src_id, dst_id);
    }
    sluice_ct_track(&l4, ct, SLUICE_CT_SEEN_BY_FROM_POD | (sluice_identity_is_fqdn(dst_identity) ? SLUICE_CT_FQDN : 0));
    sluice_ct_note_close(ct, &l4);
    return sluice_steer(skb, &l4, src, dst, src_identity, dst_identity);
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
    if (sluice_parse_l4(skb, &l4) < 0)
        return TC_ACT_OK;

    struct sluice_endpoint_key dst_key = { .ip4 = l4.daddr };
    struct sluice_endpoint_info *dst = bpf_map_lookup_elem(&sluice_endpoints, &dst_key);
    if (!dst)
        return TC_ACT_OK;
    /* Sent by a local pod: sluice_tc_endpoint decided both sides on the sender's veth. */
    struct sluice_endpoint_key src_key = { .ip4 = l4.saddr };
    if (bpf_map_lookup_elem(&sluice_endpoints, &src_key))
        return TC_ACT_OK;
    struct sluice_ct_entry *reply = sluice_ct_reply_entry(&l4);
    if (reply) {
        sluice_ct_note_close(reply, &l4);
        return TC_ACT_OK;
    }
    struct sluice_ct_entry *ct = sluice_ct_forward_entry(&l4);

    __u32 src_identity = sluice_remote_identity(skb, l4.saddr);
    __u8 reason = sluice_policy_verdict(dst->id, src_identity, &l4, SLUICE_DIR_INGRESS);
    if (reason != SLUICE_DROP_NONE)
        return sluice_policy_drop(&l4, reason, SLUICE_DIR_INGRESS, src_identity, dst->identity, 0, dst->id);
    sluice_ct_track(&l4, ct, SLUICE_CT_SEEN_BY_TO_POD);
    sluice_ct_note_close(ct, &l4);
    return sluice_steer_to_endpoint(skb, &l4, dst, src_identity);
}

char LICENSE[] SEC("license") = "GPL";
