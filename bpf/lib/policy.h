/* L3/L4 policy for the tc programs: peer identity from the ipcache, the four-step policy map
 * lookup (IPv4) and the IPv6 rule, and the drop funnel that writes the flow record. Connection
 * tracking: lib/conntrack.h. Maps: lib/maps.h; keys and values: include/sluice_maps.h.
 * Semantics: Cilium's per-endpoint policy map (docs/architecture.md, "L3/L4 policy"). */
#ifndef SLUICE_LIB_POLICY_H
#define SLUICE_LIB_POLICY_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "conntrack.h"
#include "flow_ring.h"
#include "maps.h"
#include "packet.h"
#include "sluice_identity.h" /* reserved identities, shared with Swift */
#include "trace.h"

/* The identity of an IPv4 address (network order): longest ipcache prefix, world when none. */
static __always_inline __u32 sluice_ipcache_identity(__u32 ip4)
{
    struct sluice_ipcache_key key = { .prefixlen = 32, .ip4 = ip4 };
    struct sluice_ipcache_value *value = bpf_map_lookup_elem(&sluice_ipcache, &key);
    return value ? value->identity : SLUICE_IDENTITY_WORLD;
}

/* One policy map probe; returns the action or 0 when the key is absent. */
static __always_inline __u8 sluice_policy_probe(__u32 endpoint_id, __u32 identity, __u16 port, __u8 proto,
                                                __u8 direction)
{
    struct sluice_policy_key key = {
        .endpoint_id = endpoint_id,
        .identity = identity,
        .port = port,
        .proto = proto,
        .direction = direction,
    };
    struct sluice_policy_value *value = bpf_map_lookup_elem(&sluice_policy, &key);
    return value ? value->action : 0;
}

/* One policy map probe; returns the entry or NULL when the key is absent. */
static __always_inline struct sluice_policy_value *sluice_policy_entry(__u32 endpoint_id, __u32 identity, __u16 port,
                                                                       __u8 proto, __u8 direction)
{
    struct sluice_policy_key key = {
        .endpoint_id = endpoint_id,
        .identity = identity,
        .port = port,
        .proto = proto,
        .direction = direction,
    };
    return bpf_map_lookup_elem(&sluice_policy, &key);
}

static __always_inline int sluice_policy_is_deny(const struct sluice_policy_value *v)
{
    return v && v->action == SLUICE_POLICY_DENY;
}

/* What allowed a packet in one endpoint's policy (sluice_policy_decide): no policy in that
 * direction (nothing to report), or the kind of entry, whether it redirects to the proxy and the
 * policy it came from; for an explicit deny, the denying entry's policy. */
struct sluice_policy_allow {
    __u8 enforced;       /* the endpoint has a policy in that direction */
    __u8 match;          /* enum sluice_policy_match: the most specific allowing entry */
    __u8 redirect;       /* that entry is SLUICE_POLICY_REDIRECT */
    __u8 _pad;
    __u32 policy_ref;    /* that entry's (or the deny's) policy_ref */
};

/* The policy decision of one endpoint for one packet: SLUICE_DROP_NONE (pass),
 * SLUICE_DROP_POLICY_DENY (an explicit deny covers it) or SLUICE_DROP_POLICY_DENIED (default deny,
 * nothing allows it). An endpoint with no mode entry has no policy in that direction. The packet
 * is keyed by its policy port and protocol (lib/packet.h): ICMP by its type, protocols other than
 * TCP, UDP, SCTP, ICMP and ICMPv6 by protocol 0 and port 0 (only L3-only rules name them).
 * `allow` says what allowed a passing packet: the peer on the port (L3-L4), every peer on the
 * port (L4-only), the peer on every port (L3-only), everyone (all), in that order, as Cilium's
 * policy lookup ranks them; none when default deny is off and no entry matched. */
static __always_inline __u8 sluice_policy_decide(__u32 endpoint_id, __u32 identity, const struct sluice_l4 *l4,
                                                 __u8 direction, struct sluice_policy_allow *allow)
{
    struct sluice_policy_mode_key mode_key = { .endpoint_id = endpoint_id, .direction = direction };
    struct sluice_policy_mode *mode = bpf_map_lookup_elem(&sluice_policy_mode, &mode_key);
    if (!mode)
        return SLUICE_DROP_NONE;
    allow->enforced = 1;
    struct sluice_policy_value *a = sluice_policy_entry(endpoint_id, identity, l4->policy_port, l4->policy_proto,
                                                        direction);
    struct sluice_policy_value *b = sluice_policy_entry(endpoint_id, identity, 0, l4->policy_proto, direction);
    struct sluice_policy_value *c = sluice_policy_entry(endpoint_id, 0, l4->policy_port, l4->policy_proto, direction);
    struct sluice_policy_value *d = sluice_policy_entry(endpoint_id, 0, 0, l4->policy_proto, direction);
    /* Deny beats every allow, whatever the specificity (Cilium semantics 1.10, rule 1). */
    struct sluice_policy_value *deny = sluice_policy_is_deny(a)   ? a
                                       : sluice_policy_is_deny(b) ? b
                                       : sluice_policy_is_deny(c) ? c
                                       : sluice_policy_is_deny(d) ? d
                                                                  : NULL;
    if (deny) {
        allow->policy_ref = deny->policy_ref;
        return SLUICE_DROP_POLICY_DENY;
    }
    struct sluice_policy_value *hit = a;
    allow->match = SLUICE_POLICY_MATCH_L3_L4;
    if (!hit) {
        hit = c;
        allow->match = SLUICE_POLICY_MATCH_L4_ONLY;
    }
    if (!hit) {
        hit = b;
        allow->match = SLUICE_POLICY_MATCH_L3_ONLY;
    }
    if (!hit) {
        hit = d;
        allow->match = SLUICE_POLICY_MATCH_ALL;
    }
    if (hit) {
        allow->redirect = hit->action == SLUICE_POLICY_REDIRECT;
        allow->policy_ref = hit->policy_ref;
        return SLUICE_DROP_NONE;
    }
    allow->match = SLUICE_POLICY_MATCH_NONE;
    return mode->default_deny ? SLUICE_DROP_POLICY_DENIED : SLUICE_DROP_NONE;
}

/* sluice_policy_decide without the report. */
static __always_inline __u8 sluice_policy_verdict(__u32 endpoint_id, __u32 identity, const struct sluice_l4 *l4,
                                                  __u8 direction)
{
    struct sluice_policy_allow allow = {};
    return sluice_policy_decide(endpoint_id, identity, l4, direction, &allow);
}

/* The policy decision for an IPv6 packet of one endpoint, whose peer is `identity`: host for the
 * node's own packets toward a pod, else world. Sluice has no IPv6 addresses for pods and no IPv6
 * identities yet (dual-stack is not built), so no allow can name an IPv6 peer: under default
 * deny every IPv6 packet from or to another peer than the node is dropped (POLICY_DENIED).
 * Without default deny, explicit denies that name every peer (identity 0) or world drop it
 * (POLICY_DENY); otherwise it passes, as it does with no policy at all in that direction. The
 * node's own packets are decided like IPv4 ones from the host identity (allow-localhost, unless
 * a deny names the host). */
static __always_inline __u8 sluice_policy_verdict6(__u32 endpoint_id, __u32 identity, const struct sluice_l4 *l4,
                                                   __u8 direction)
{
    if (identity == SLUICE_IDENTITY_HOST)
        return sluice_policy_verdict(endpoint_id, identity, l4, direction);
    struct sluice_policy_mode_key mode_key = { .endpoint_id = endpoint_id, .direction = direction };
    struct sluice_policy_mode *mode = bpf_map_lookup_elem(&sluice_policy_mode, &mode_key);
    if (!mode)
        return SLUICE_DROP_NONE;
    if (mode->default_deny)
        return SLUICE_DROP_POLICY_DENIED;
    __u8 a = sluice_policy_probe(endpoint_id, identity, l4->policy_port, l4->policy_proto, direction);
    __u8 b = sluice_policy_probe(endpoint_id, identity, 0, l4->policy_proto, direction);
    __u8 c = sluice_policy_probe(endpoint_id, 0, l4->policy_port, l4->policy_proto, direction);
    __u8 d = sluice_policy_probe(endpoint_id, 0, 0, l4->policy_proto, direction);
    if (a == SLUICE_POLICY_DENY || b == SLUICE_POLICY_DENY || c == SLUICE_POLICY_DENY || d == SLUICE_POLICY_DENY)
        return SLUICE_DROP_POLICY_DENY;
    return SLUICE_DROP_NONE;
}

/* Whether the endpoint has default deny in `direction`: what decides a frame that is neither IP
 * nor ARP (no rule can name one; Cilium drops every such frame with DROP_UNKNOWN_L3). */
static __always_inline int sluice_default_deny(__u32 endpoint_id, __u8 direction)
{
    struct sluice_policy_mode_key mode_key = { .endpoint_id = endpoint_id, .direction = direction };
    struct sluice_policy_mode *mode = bpf_map_lookup_elem(&sluice_policy_mode, &mode_key);
    return mode && mode->default_deny;
}

/* The endpoint behind the host-side veth `ifindex`, or NULL. */
static __always_inline struct sluice_endpoint_info *sluice_veth_endpoint(__u32 ifindex)
{
    struct sluice_veth_key key = { .ifindex = ifindex };
    return bpf_map_lookup_elem(&sluice_veths, &key);
}

static __always_inline int sluice_identity_is_fqdn(__u32 identity)
{
    return identity >= SLUICE_IDENTITY_FQDN_BASE && identity <= SLUICE_IDENTITY_FQDN_END;
}

/* The verdict funnel of every tc drop (policy_ref: the explicit deny's policy): writes the DROPPED flow record (L3/L4, event type DROP,
 * the Hubble drop reason: 132 spoofed source, 133 default deny, 134 invalid packet, 175 fragment
 * without its first, 181 explicit deny) and returns TC_ACT_SHOT. Silent for the client: no RST,
 * no ICMP (Cilium semantics 3.3). */
static __always_inline int sluice_policy_drop_by(const struct sluice_l4 *l4, __u8 reason, __u8 direction,
                                                 __u32 src_identity, __u32 dst_identity, __u32 src_endpoint,
                                                 __u32 dst_endpoint, __u32 policy_ref)
{
    __u64 seq = 0;
    struct sluice_flow *rec = sluice_flow_reserve_l3l4(&seq);
    if (!rec)
        return TC_ACT_SHOT;
    sluice_flow_fill_l3l4(rec, l4, src_identity, dst_identity, src_endpoint, dst_endpoint);
    /* A later fragment without its first has no L4 layer to show (Hubble prints `IPv4`). */
    if (reason == SLUICE_DROP_FRAG_NOT_FOUND || l4->invalid)
        rec->l4_proto = 0;
    rec->verdict = SLUICE_VERDICT_DROPPED;
    rec->event_type = SLUICE_EVENT_DROP;
    rec->drop_reason = reason;
    rec->direction = direction;
    /* Hubble leaves is_reply unknown on drops (semantics 5.3): compact prints `<>`. */
    rec->is_reply = SLUICE_REPLY_UNKNOWN;
    /* The explicit deny's policy (ingress_denied_by / egress_denied_by); default deny has none. */
    rec->policy_ref = reason == SLUICE_DROP_POLICY_DENY ? policy_ref : 0;
    sluice_flow_commit(rec, seq);
    return TC_ACT_SHOT;
}

/* sluice_policy_drop_by for drops no policy entry decided. */
static __always_inline int sluice_policy_drop(const struct sluice_l4 *l4, __u8 reason, __u8 direction,
                                              __u32 src_identity, __u32 dst_identity, __u32 src_endpoint,
                                              __u32 dst_endpoint)
{
    return sluice_policy_drop_by(l4, reason, direction, src_identity, dst_identity, src_endpoint, dst_endpoint, 0);
}

#endif
