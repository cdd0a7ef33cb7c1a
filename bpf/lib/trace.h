/* Records of allowed L3/L4 traffic for the tc programs, at Cilium's default monitor aggregation
 * (`medium`): a trace record (event type TRACE, FORWARDED) when a packet opens a connection, when
 * either side sends a TCP flag among SYN, FIN and RST it had not sent before (so SYN, SYN-ACK,
 * each FIN, an RST), and for the first reply (is_reply true); never one per packet. Which
 * packets qualify is decided by connection tracking (lib/conntrack.h: sluice_ct_track,
 * sluice_ct_refresh). A policy-verdict record (event type POLICY_VERDICT, FORWARDED or
 * REDIRECTED) for a connection's first packet in each direction whose endpoint has a policy
 * there, with the kind of entry that allowed it (policy_match) and that entry's policy (policy_ref).
 * As in Cilium, a live connection is also traced again in each direction once its last trace there
 * is 5 seconds old (CT_REPORT_INTERVAL), flags changed or not.
 * Records go to the flow ring (lib/flow_ring.h, include/sluice_flow.h). */
#ifndef SLUICE_LIB_TRACE_H
#define SLUICE_LIB_TRACE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "flow_ring.h"
#include "maps.h"
#include "packet.h"

/* A trace record of an allowed packet at observation point `point` (enum sluice_trace_point),
 * `reason` from connection tracking (enum sluice_trace_reason; 0: not traced, nothing written).
 * `direction` is the connection's as seen by the endpoint whose veth saw the packet (Hubble's
 * rule: the opener's packets are EGRESS on its veth, INGRESS toward the other pod). */
static __always_inline void sluice_trace(const struct sluice_l4 *l4, __u8 point, __u8 reason, __u8 direction,
                                         __u32 src_identity, __u32 dst_identity, __u32 src_endpoint,
                                         __u32 dst_endpoint)
{
    if (!reason || !sluice_allowed_records_on())
        return;
    __u64 seq = 0;
    struct sluice_flow *rec = sluice_flow_reserve_l3l4(&seq);
    if (!rec)
        return;
    sluice_flow_fill_l3l4(rec, l4, src_identity, dst_identity, src_endpoint, dst_endpoint);
    rec->verdict = SLUICE_VERDICT_FORWARDED;
    rec->event_type = SLUICE_EVENT_TRACE;
    rec->trace_point = point;
    rec->trace_reason = reason;
    rec->direction = direction;
    rec->is_reply = reason == SLUICE_TRACE_REASON_REPLY ? SLUICE_REPLY_TRUE : SLUICE_REPLY_FALSE;
    sluice_flow_commit(rec, seq);
}

/* The policy-verdict record of a connection's first packet that the policy of one endpoint in
 * `direction` allowed: `match` is the kind of entry (enum sluice_policy_match), `redirected`
 * whether that entry sends it to the proxy (verdict REDIRECTED, else FORWARDED). Hubble takes
 * such a packet as no reply. */
static __always_inline void sluice_policy_verdict_notify(const struct sluice_l4 *l4, __u8 match, int redirected,
                                                         __u32 policy_ref, __u8 direction, __u32 src_identity,
                                                         __u32 dst_identity, __u32 src_endpoint, __u32 dst_endpoint)
{
    if (!sluice_allowed_records_on())
        return;
    __u64 seq = 0;
    struct sluice_flow *rec = sluice_flow_reserve_l3l4(&seq);
    if (!rec)
        return;
    sluice_flow_fill_l3l4(rec, l4, src_identity, dst_identity, src_endpoint, dst_endpoint);
    rec->verdict = redirected ? SLUICE_VERDICT_REDIRECTED : SLUICE_VERDICT_FORWARDED;
    rec->event_type = SLUICE_EVENT_POLICY_VERDICT;
    rec->policy_match = match;
    rec->policy_ref = policy_ref;
    rec->direction = direction;
    rec->is_reply = SLUICE_REPLY_FALSE;
    sluice_flow_commit(rec, seq);
}

#endif
