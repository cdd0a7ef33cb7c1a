// SPDX-License-Identifier: GPL-2.0
/* tc_endpoint: clsact ingress of every endpoint's host-side veth, i.e. traffic leaving a pod.
 *
 * A packet whose (endpoint, port, proto, direction) is in sluice_l7_ports gets
 * skb->mark = SLUICE_MARK_TO_PROXY, which policy routing in the node namespace turns into local
 * delivery; sk_lookup then hands it to the proxy listener. The source pod's egress policy is
 * checked before the destination pod's ingress policy. A TCP SYN or any UDP datagram also records
 * its 4-tuple in sluice_steered so sk_lookup and the proxy know the direction and the endpoint
 * whose policy applies. Everything else passes untouched (TC_ACT_OK).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"
#include "packet.h"

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

/* Records a new steered connection (TCP SYN) or datagram flow (UDP). */
static __always_inline void sluice_record_steered(const struct sluice_l4 *l4, __u32 endpoint_id,
                                                  __u8 direction, __u8 kind,
                                                  const struct sluice_endpoint_info *src,
                                                  const struct sluice_endpoint_info *dst)
{
    struct sluice_tuple tuple = {
        .src_ip4 = l4->saddr,
        .dst_ip4 = l4->daddr,
        .src_port = l4->sport,
        .dst_port = l4->dport,
        .proto = l4->proto,
    };
    struct sluice_steer_info info = {
        .endpoint_id = endpoint_id,
        /* 0 = not a local endpoint: the proxy resolves remote identities itself. */
        .src_identity = src ? src->identity : 0,
        .dst_identity = dst ? dst->identity : 0,
        .direction = direction,
        .kind = kind,
        .created_ns = bpf_ktime_get_ns(),
    };
    bpf_map_update_elem(&sluice_steered, &tuple, &info, BPF_ANY);
}

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

    __u8 direction = SLUICE_DIR_EGRESS;
    __u32 endpoint_id = src ? src->id : 0;
    struct sluice_l7_value *l7 = sluice_l7_lookup(src, &l4, SLUICE_DIR_EGRESS);
    if (!l7) {
        direction = SLUICE_DIR_INGRESS;
        endpoint_id = dst ? dst->id : 0;
        l7 = sluice_l7_lookup(dst, &l4, SLUICE_DIR_INGRESS);
    }
    if (!l7)
        return TC_ACT_OK;

    skb->mark = SLUICE_MARK_TO_PROXY;

    int new_flow = l4.proto == IPPROTO_UDP ||
                   (l4.tcp_flags & (SLUICE_TCP_SYN | SLUICE_TCP_ACK)) == SLUICE_TCP_SYN;
    if (new_flow)
        sluice_record_steered(&l4, endpoint_id, direction, l7->kind, src, dst);
    return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
