// SPDX-License-Identifier: GPL-2.0
/* sk_lookup: attached to the node's network namespace (link pinned at
 * /sys/fs/bpf/sluice/sk_lookup_link).
 *
 * A lookup whose 4-tuple tc recorded in sluice_steered goes to the proxy listener of its kind,
 * taken from the sluice_proxy_socks sockmap. When that slot is empty (the proxy is not running)
 * or the socket cannot take the packet, the lookup fails closed: SK_DROP plus a DROPPED flow
 * record (Hubble's PROXY_LOOKUP_FAILED). Lookups tc did not steer pass untouched.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "flow_ring.h"
#include "maps.h"

/* AF_INET; <sys/socket.h> is a libc header and does not build for -target bpf. */
#define SLUICE_AF_INET 2

/* The sockmap slot of each proxy kind; SLUICE_SOCK_MAX when the kind has no listener. */
static __always_inline __u32 sluice_sock_index(__u8 kind)
{
    switch (kind) {
    case SLUICE_PROXY_HTTP:
        return SLUICE_SOCK_HTTP;
    case SLUICE_PROXY_DNS_UDP:
        return SLUICE_SOCK_DNS_UDP;
    case SLUICE_PROXY_DNS_TCP:
        return SLUICE_SOCK_DNS_TCP;
    default:
        return SLUICE_SOCK_MAX;
    }
}

/* The verdict funnel for steered lookups that cannot reach the proxy: writes the DROPPED flow
 * record and returns SK_DROP. */
static __always_inline int sluice_drop(const struct sluice_tuple *t, const struct sluice_steer_info *info)
{
    __u64 seq = 0;
    struct sluice_flow *rec = sluice_flow_reserve_l3l4(&seq);
    if (!rec)
        return SK_DROP;
    rec->time_ns = bpf_ktime_get_ns();
    rec->src_identity = info->src_identity;
    rec->dst_identity = info->dst_identity;
    rec->src_endpoint = info->src_endpoint;
    rec->dst_endpoint = info->dst_endpoint;
    sluice_flow_set_ip4(rec->src_ip, t->src_ip4);
    sluice_flow_set_ip4(rec->dst_ip, t->dst_ip4);
    rec->src_port = t->src_port;
    rec->dst_port = t->dst_port;
    rec->ip_version = 4;
    rec->l4_proto = t->proto;
    rec->verdict = SLUICE_VERDICT_DROPPED;
    rec->flow_type = SLUICE_FLOW_TYPE_L3_L4;
    rec->event_type = SLUICE_EVENT_DROP;
    rec->drop_reason = SLUICE_DROP_PROXY_LOOKUP_FAILED;
    /* The first proxy the packet would have reached: the sender's egress when it has L7 rules. */
    rec->direction = (info->sides & SLUICE_STEER_EGRESS) ? SLUICE_DIR_EGRESS : SLUICE_DIR_INGRESS;
    rec->is_reply = SLUICE_REPLY_FALSE;
    rec->tcp_flags = t->proto == IPPROTO_TCP ? SLUICE_TCP_SYN : 0;
    sluice_flow_commit(rec, seq);
    return SK_DROP;
}

SEC("sk_lookup")
int sluice_sk_lookup(struct bpf_sk_lookup *ctx)
{
    if (ctx->family != SLUICE_AF_INET)
        return SK_PASS;
    if (ctx->protocol != IPPROTO_TCP && ctx->protocol != IPPROTO_UDP)
        return SK_PASS;

    /* remote_port is network order, local_port host order (include/uapi/linux/bpf.h). */
    struct sluice_tuple tuple = {
        .src_ip4 = ctx->remote_ip4,
        .dst_ip4 = ctx->local_ip4,
        .src_port = bpf_ntohs(ctx->remote_port),
        .dst_port = (__u16)ctx->local_port,
        .proto = (__u8)ctx->protocol,
    };
    struct sluice_steer_info *info = bpf_map_lookup_elem(&sluice_steered, &tuple);
    if (!info)
        return SK_PASS;

    __u32 index = sluice_sock_index(info->kind);
    if (index >= SLUICE_SOCK_MAX)
        return sluice_drop(&tuple, info);
    struct bpf_sock *sk = bpf_map_lookup_elem(&sluice_proxy_socks, &index);
    if (!sk)
        return sluice_drop(&tuple, info);
    long err = bpf_sk_assign(ctx, sk, 0);
    bpf_sk_release(sk);
    if (err)
        return sluice_drop(&tuple, info);
    return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
