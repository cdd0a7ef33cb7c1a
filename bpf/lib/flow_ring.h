/* Appending a record to the flow ring from a BPF program (protocol: include/sluice_flow.h).
 * The proxy appends to the same ring through its mmap (Sources/Datapath/FlowRing.swift); both
 * take sequence numbers from the same atomic counter, so records never collide. */
#ifndef SLUICE_LIB_FLOW_RING_H
#define SLUICE_LIB_FLOW_RING_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"
#include "packet.h"

/* Compiler barrier. x86-64 is TSO, so stores become visible in program order once the compiler
 * keeps them in order; an arch with weaker ordering would need a BPF store-release here. */
#define sluice_barrier() asm volatile("" ::: "memory")

/* Takes the next sequence number and returns its slot, already marked incomplete (commit = 0)
 * and zeroed up to `zero_len` bytes (the whole record, or offsetof(struct sluice_flow, l7) for an
 * L3/L4 record, whose readers never look at the L7 part), or NULL when a map is missing (cannot
 * happen with a loaded object). The caller fills the record and publishes it with
 * sluice_flow_commit(). */
static __always_inline struct sluice_flow *sluice_flow_reserve_part(__u64 *seq_out, const __u32 zero_len)
{
    __u32 zero = 0;
    struct sluice_flow_head *head = bpf_map_lookup_elem(&sluice_flow_head, &zero);
    if (!head)
        return NULL;
    __u64 seq = __sync_fetch_and_add(&head->next_seq, 1);
    __u32 slot = (__u32)(seq % SLUICE_FLOW_SLOTS);
    struct sluice_flow *rec = bpf_map_lookup_elem(&sluice_flows, &slot);
    if (!rec)
        return NULL;
    rec->commit = 0;
    sluice_barrier();
    __builtin_memset((__u8 *)rec + sizeof(rec->commit), 0, zero_len - sizeof(rec->commit));
    *seq_out = seq;
    return rec;
}

/* The same, zeroing the whole record. */
static __always_inline struct sluice_flow *sluice_flow_reserve(__u64 *seq_out)
{
    return sluice_flow_reserve_part(seq_out, sizeof(struct sluice_flow));
}

/* The same for an L3/L4 record (drop, trace, policy verdict): the L7 part keeps old bytes. */
static __always_inline struct sluice_flow *sluice_flow_reserve_l3l4(__u64 *seq_out)
{
    return sluice_flow_reserve_part(seq_out, __builtin_offsetof(struct sluice_flow, l7));
}

/* Publishes a record filled after sluice_flow_reserve(): readers accept it from now on. */
static __always_inline void sluice_flow_commit(struct sluice_flow *rec, __u64 seq)
{
    sluice_barrier();
    *(volatile __u64 *)&rec->commit = seq + 1;
}

/* Writes an IPv4 address (network order) into a record's 16-byte address field. */
static __always_inline void sluice_flow_set_ip4(__u8 *dst, __u32 ip4)
{
    __builtin_memcpy(dst, &ip4, sizeof(ip4));
}

/* Whether records of allowed traffic are wanted (the agent's --no-flows turns them off, to
 * measure what they cost; `sluice flows pause` too). The DNS denials tc answers follow it as the
 * proxy's L7 records do (Agent+Flows.swift). Read only when a packet qualifies, so not once per
 * packet. */
static __always_inline int sluice_allowed_records_on(void)
{
    __u32 zero = 0;
    struct sluice_config *config = bpf_map_lookup_elem(&sluice_config, &zero);
    return !config || !config->no_allowed_records;
}

/* The parts every record written in the datapath shares: time, both sides, addresses, ports,
 * protocol. */
static __always_inline void sluice_flow_fill_ends(struct sluice_flow *rec, const struct sluice_l4 *l4,
                                                  __u32 src_identity, __u32 dst_identity, __u32 src_endpoint,
                                                  __u32 dst_endpoint)
{
    rec->time_ns = bpf_ktime_get_ns();
    rec->src_identity = src_identity;
    rec->dst_identity = dst_identity;
    rec->src_endpoint = src_endpoint;
    rec->dst_endpoint = dst_endpoint;
    if (l4->ip_version == 6) {
        __builtin_memcpy(rec->src_ip, l4->saddr6, sizeof(l4->saddr6));
        __builtin_memcpy(rec->dst_ip, l4->daddr6, sizeof(l4->daddr6));
    } else {
        sluice_flow_set_ip4(rec->src_ip, l4->saddr);
        sluice_flow_set_ip4(rec->dst_ip, l4->daddr);
    }
    rec->src_port = l4->sport;
    rec->dst_port = l4->dport;
    rec->ip_version = l4->ip_version;
    rec->l4_proto = l4->proto;
}

/* The parts every L3/L4 record shares: the ends, ICMP type and code, TCP flags. */
static __always_inline void sluice_flow_fill_l3l4(struct sluice_flow *rec, const struct sluice_l4 *l4,
                                                  __u32 src_identity, __u32 dst_identity, __u32 src_endpoint,
                                                  __u32 dst_endpoint)
{
    sluice_flow_fill_ends(rec, l4, src_identity, dst_identity, src_endpoint, dst_endpoint);
    rec->icmp_type = l4->icmp_type;
    rec->icmp_code = l4->icmp_code;
    rec->flow_type = SLUICE_FLOW_TYPE_L3_L4;
    rec->tcp_flags = l4->tcp_flags;
}

#endif
