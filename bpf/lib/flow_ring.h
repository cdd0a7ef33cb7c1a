/* Appending a record to the flow ring from a BPF program (protocol: include/sluice_flow.h).
 * The proxy appends to the same ring through its mmap (Sources/Datapath/FlowRing.swift); both
 * take sequence numbers from the same atomic counter, so records never collide. */
#ifndef SLUICE_LIB_FLOW_RING_H
#define SLUICE_LIB_FLOW_RING_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"

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

#endif
