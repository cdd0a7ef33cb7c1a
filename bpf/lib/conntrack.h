/* Connection tracking for the tc programs (sluice_ct, keys and flags in include/sluice_maps.h).
 *
 * An entry is created for every connection policy allowed (its first packet's tuple). A packet
 * whose reversed tuple has a live entry is a reply and skips policy (Cilium's CT_REPLY); forward
 * packets are decided again every time (a policy change applies to open connections). An entry
 * is live while its last packet is younger than its lifetime (SLUICE_CT_LIFETIME_*, Cilium's
 * defaults); an expired entry counts as absent, and a new TCP SYN on a closing connection starts
 * a new one (Cilium's CT_NEW on a reused 4-tuple). The agent deletes expired entries
 * (Datapath.sweepConnections); the LRU evicts the oldest when full. */
#ifndef SLUICE_LIB_CONNTRACK_H
#define SLUICE_LIB_CONNTRACK_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"
#include "packet.h"

#define SLUICE_NS_PER_S 1000000000ull

/* The last clock reading, shared by every CPU (.bss): the jiffy it was taken in and the
 * CLOCK_MONOTONIC_COARSE seconds then. Both clocks move at the tick, so reading the inlined
 * jiffies counter per packet and the clock helper once a jiffy gives the same seconds as reading
 * the helper every time, for about 20 ns less per packet (measured with BPF_PROG_RUN). A reader
 * that races a writer may see the previous second: one second off at worst. */
struct sluice_clock {
    __u64 jiffies;
    __u32 seconds;
    __u32 _pad;
};
/* Not static: LLVM would split a static struct into two variables, whose .bss BTF the kernel
 * rejects. Each object that includes this header has its own copy. */
struct sluice_clock sluice_clock_cache;

/* CLOCK_MONOTONIC_COARSE seconds (`Datapath.monotonicSeconds` reads the same clock). */
static __always_inline __u32 sluice_now_s(void)
{
    __u64 jiffies = bpf_jiffies64();
    if (sluice_clock_cache.jiffies != jiffies) {
        sluice_clock_cache.seconds = (__u32)(bpf_ktime_get_coarse_ns() / SLUICE_NS_PER_S);
        /* Seconds before jiffies (x86 keeps store order; the compiler must too). */
        __asm__ __volatile__("" ::: "memory");
        sluice_clock_cache.jiffies = jiffies;
    }
    return sluice_clock_cache.seconds;
}

/* The tuple of a packet, and of its reply. */
static __always_inline struct sluice_tuple sluice_tuple_of(const struct sluice_l4 *l4, int reversed)
{
    struct sluice_tuple t = {
        .src_ip4 = reversed ? l4->daddr : l4->saddr,
        .dst_ip4 = reversed ? l4->saddr : l4->daddr,
        .src_port = reversed ? l4->dport : l4->sport,
        .dst_port = reversed ? l4->sport : l4->dport,
        .proto = l4->proto,
    };
    return t;
}

/* Seconds an entry lives after its last packet. */
static __always_inline __s32 sluice_ct_lifetime(__u8 proto, __u32 flags)
{
    if (proto != IPPROTO_TCP)
        return SLUICE_CT_LIFETIME_ANY;
    if ((flags & (SLUICE_CT_TX_CLOSING | SLUICE_CT_RX_CLOSING)) == (SLUICE_CT_TX_CLOSING | SLUICE_CT_RX_CLOSING))
        return SLUICE_CT_LIFETIME_TCP_CLOSE;
    if (!(flags & SLUICE_CT_ESTABLISHED))
        return SLUICE_CT_LIFETIME_TCP_SYN;
    return SLUICE_CT_LIFETIME_TCP;
}

/* Whether the entry of a `proto` connection is live at `now` (seconds). seen_s may be a second
 * ahead of `now` when another CPU just refreshed it, hence the signed age. */
static __always_inline int sluice_ct_live(const struct sluice_ct_entry *entry, __u8 proto, __u32 now)
{
    __s32 age = (__s32)(now - entry->seen_s);
    return age <= sluice_ct_lifetime(proto, entry->flags);
}

/* The entry of `tuple` when it is live for this packet, else NULL. */
static __always_inline struct sluice_ct_entry *sluice_ct_lookup(struct sluice_tuple *tuple, const struct sluice_l4 *l4,
                                                                __u32 now)
{
    struct sluice_ct_entry *entry = bpf_map_lookup_elem(&sluice_ct, tuple);
    if (!entry || !sluice_ct_live(entry, l4->proto, now))
        return NULL;
    /* A SYN on a connection that saw a FIN or RST opens a new one: policy decides it afresh. */
    if (l4->proto == IPPROTO_TCP && (l4->tcp_flags & (SLUICE_TCP_SYN | SLUICE_TCP_ACK)) == SLUICE_TCP_SYN &&
        (entry->flags & SLUICE_CT_CLOSED))
        return NULL;
    return entry;
}

/* The tracked connection whose reply this packet is, or NULL. */
static __always_inline struct sluice_ct_entry *sluice_ct_reply_entry(const struct sluice_l4 *l4, __u32 now)
{
    struct sluice_tuple reply = sluice_tuple_of(l4, 1);
    return sluice_ct_lookup(&reply, l4, now);
}

/* The tracked connection this packet continues, or NULL when it opens one. */
static __always_inline struct sluice_ct_entry *sluice_ct_forward_entry(const struct sluice_l4 *l4, __u32 now)
{
    struct sluice_tuple forward = sluice_tuple_of(l4, 0);
    return sluice_ct_lookup(&forward, l4, now);
}

/* The flags a TCP packet adds to its connection: a packet without SYN makes it established; a
 * FIN closes its sender's side (`reply`: the side that did not open it), an RST both. */
static __always_inline __u32 sluice_ct_packet_flags(const struct sluice_l4 *l4, int reply)
{
    if (l4->proto != IPPROTO_TCP)
        return 0;
    __u32 flags = (l4->tcp_flags & SLUICE_TCP_SYN) ? 0 : SLUICE_CT_ESTABLISHED;
    if (l4->tcp_flags & SLUICE_TCP_RST)
        flags |= SLUICE_CT_CLOSED | SLUICE_CT_TX_CLOSING | SLUICE_CT_RX_CLOSING;
    else if (l4->tcp_flags & SLUICE_TCP_FIN)
        flags |= SLUICE_CT_CLOSED | (reply ? SLUICE_CT_RX_CLOSING : SLUICE_CT_TX_CLOSING);
    return flags;
}

/* The monitor-aggregation bits a packet sets (SLUICE_CT_REPORT_MASK): its TCP flags among FIN,
 * SYN and RST on its side, and for a reply the "reply traced" bit. */
static __always_inline __u32 sluice_ct_report_flags(const struct sluice_l4 *l4, int reply)
{
    __u32 tcp = l4->proto == IPPROTO_TCP ? (__u32)(l4->tcp_flags & SLUICE_CT_REPORT_TCP_FLAGS) : 0;
    if (reply)
        return tcp << SLUICE_CT_RX_SEEN_SHIFT | SLUICE_CT_RX_TRACED;
    return tcp << SLUICE_CT_TX_SEEN_SHIFT;
}

/* Notes a packet of a tracked connection: its TCP state, and the time, written only when the
 * second changed, so a busy connection costs one store a second, not one per packet. Returns
 * whether the packet is to be traced (lib/trace.h): it set a monitor-aggregation bit no packet
 * set before (the atomic or's old value decides, so two CPUs never both trace the same change),
 * or its direction was last traced SLUICE_CT_REPORT_INTERVAL seconds ago or more. */
static __always_inline int sluice_ct_refresh(struct sluice_ct_entry *entry, const struct sluice_l4 *l4, __u32 now,
                                             int reply)
{
    __u32 add = sluice_ct_packet_flags(l4, reply) | sluice_ct_report_flags(l4, reply);
    int report = 0;
    if ((entry->flags | add) != entry->flags) {
        __u32 old = __sync_fetch_and_or(&entry->flags, add);
        report = (add & SLUICE_CT_REPORT_MASK & ~old) != 0;
    }
    if (entry->seen_s != now)
        entry->seen_s = now;
    /* Cilium's CT_REPORT_INTERVAL: traced again once its direction's last trace is 5 s old. The
     * compare-and-swap lets one CPU win, so a busy connection gives one repeat, not one per CPU. */
    __u32 *last = reply ? &entry->rx_report_s : &entry->tx_report_s;
    __u32 last_s = *last;
    if (report) {
        if (last_s != now)
            *last = now;
    } else if ((__s32)(now - last_s) >= SLUICE_CT_REPORT_INTERVAL) {
        report = __sync_val_compare_and_swap(last, last_s, now) == last_s;
    }
    return report;
}

/* Tracks an allowed packet: refreshes `existing` (its live forward entry), or creates the entry,
 * replacing an expired or closed one. ICMP errors open nothing. Returns the trace reason of the
 * packet under monitor aggregation: SLUICE_TRACE_REASON_NEW when it opened the connection,
 * SLUICE_TRACE_REASON_ESTABLISHED when it set a new TCP flag, else 0 (not traced). */
static __always_inline __u8 sluice_ct_track(const struct sluice_l4 *l4, struct sluice_ct_entry *existing, __u32 flags,
                                            __u32 now)
{
    if (existing)
        return sluice_ct_refresh(existing, l4, now, 0) ? SLUICE_TRACE_REASON_ESTABLISHED : 0;
    if (l4->flags & SLUICE_L4_ICMP_ERROR)
        return 0;
    struct sluice_tuple forward = sluice_tuple_of(l4, 0);
    struct sluice_ct_entry entry = {
        .created_ns = bpf_ktime_get_ns(),
        .flags = flags | sluice_ct_packet_flags(l4, 0) | sluice_ct_report_flags(l4, 0),
        .seen_s = now,
        .tx_report_s = now,
    };
    bpf_map_update_elem(&sluice_ct, &forward, &entry, BPF_ANY);
    return SLUICE_TRACE_REASON_NEW;
}

/* The quoted packet of an ICMP error: its IPv4 header, then 8 bytes of its L4 header. */
struct sluice_icmp_quote {
    __u8 version_ihl;
    __u8 tos;
    __u16 tot_len;
    __u16 id;
    __u16 frag_off;
    __u8 ttl;
    __u8 protocol;
    __u16 check;
    __u32 saddr;
    __u32 daddr;
};

/* Whether an ICMPv4 error is related to a live tracked connection, so it passes without a
 * policy check in either direction (Cilium's CT_RELATED): it must come from the peer the quoted
 * packet was sent to and go back to that packet's sender (the connection's address pair, as in
 * Cilium), and, stricter than Cilium, the quoted packet must belong to the connection (its
 * tuple, either way round). An error from a third address goes through policy.
 * Returns SLUICE_ICMP_TO_OPENER when the quoted packet went the connection's forward way (the
 * error goes back to the side that opened it), SLUICE_ICMP_TO_RESPONDER when it was a reply, 0
 * when the packet is no related error. */
#define SLUICE_ICMP_TO_OPENER 1
#define SLUICE_ICMP_TO_RESPONDER 2
static __always_inline int sluice_icmp_related(struct __sk_buff *skb, const struct sluice_l4 *l4, __u32 now)
{
    if (!(l4->flags & SLUICE_L4_ICMP_ERROR) || l4->ip_version != 4)
        return 0;
    __u32 off = l4->l4_offset + SLUICE_ICMP_HEADER;
    struct sluice_icmp_quote ip;
    if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)) < 0)
        return 0;
    __u32 ihl_bytes = (__u32)(ip.version_ihl & 0x0f) * 4;
    if (ip.version_ihl >> 4 != 4 || ihl_bytes < sizeof(ip))
        return 0;
    if (ip.saddr != l4->daddr || ip.daddr != l4->saddr)
        return 0;
    __u8 quoted[SLUICE_ICMP_HEADER];
    if (bpf_skb_load_bytes(skb, off + ihl_bytes, quoted, sizeof(quoted)) < 0)
        return 0;
    struct sluice_l4 inner = {
        .saddr = ip.saddr,
        .daddr = ip.daddr,
        .proto = ip.protocol,
    };
    if (ip.protocol == IPPROTO_ICMP) {
        sluice_icmp_fields(&inner, quoted);
    } else if (ip.protocol == IPPROTO_TCP || ip.protocol == IPPROTO_UDP || ip.protocol == IPPROTO_SCTP) {
        inner.sport = (__u16)quoted[0] << 8 | quoted[1];
        inner.dport = (__u16)quoted[2] << 8 | quoted[3];
    }
    struct sluice_tuple tuple = sluice_tuple_of(&inner, 0);
    struct sluice_ct_entry *entry = bpf_map_lookup_elem(&sluice_ct, &tuple);
    if (entry && sluice_ct_live(entry, inner.proto, now))
        return SLUICE_ICMP_TO_OPENER;
    tuple = sluice_tuple_of(&inner, 1);
    entry = bpf_map_lookup_elem(&sluice_ct, &tuple);
    return entry && sluice_ct_live(entry, inner.proto, now) ? SLUICE_ICMP_TO_RESPONDER : 0;
}

#endif
