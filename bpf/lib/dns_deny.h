/* Denied DNS queries answered in the datapath (include/sluice_dns.h: the cache, its key and its
 * generation). sluice_tc_endpoint calls sluice_dns_deny_lookup for a UDP datagram its source's
 * egress steers to the DNS proxy, after anti-spoofing and L3/L4 policy. A plain query (QR 0,
 * opcode QUERY, no TC, QDCOUNT 1, ANCOUNT and NSCOUNT 0, ARCOUNT 0 or one OPT record without
 * options, an uncompressed name of at most 255 bytes, nothing after the records; IPv4 without
 * options, not a fragment) whose lower-cased key is in sluice_dns_deny with the current generation
 * is turned into the proxy's reply (Sources/DNS/DNSReply.swift, errorInPlace: the same bytes) by
 * sluice_dns_deny_answer and sent back to the pod; anything else goes to the proxy as before.
 * The reply is as long as the query, so only the DNS header and the OPT record's fixed fields
 * change, and the UDP checksum is updated for them (addresses and ports swap, which leaves the
 * sums as they were). */
#ifndef SLUICE_LIB_DNS_DENY_H
#define SLUICE_LIB_DNS_DENY_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "flow_ring.h"
#include "maps.h"
#include "packet.h"
#include "sluice_dns.h"
#include "trace.h"

#define SLUICE_DNS_HEADER 12
#define SLUICE_DNS_OPT_RR 11   /* root owner, type, class, TTL, rdlength */
#define SLUICE_RR_TYPE_OPT 41

/* The deny cache (LRU), filled by the DNS proxy. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, SLUICE_MAX_DNS_DENY);
    __type(key, struct sluice_dns_deny_key);
    __type(value, struct sluice_dns_deny_value);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_dns_deny SEC(".maps");

/* The deny generation (one word; the agent writes it through mmap). */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __uint(map_flags, BPF_F_MMAPABLE);
    __type(key, __u32);
    __type(value, struct sluice_dns_generation);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_dns_gen SEC(".maps");

/* Queries answered here, per CPU (the agent sums them). */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct sluice_dns_stats);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_dns_stats SEC(".maps");

/* What the lookup learned about the query, for the answer. */
struct sluice_dns_query {
    __u32 dns_off;       /* the DNS header's offset in the packet */
    __u32 opt_off;       /* the OPT record's offset in the packet; 0 = none */
    __u32 qtype_off;     /* the question's type (after its name) */
    __u8 flags_hi;       /* header bytes 2 and 3 as received */
    __u8 flags_lo;
    __u8 opt_ttl[4];     /* the OPT record's TTL field as received */
    __u8 opt_class[2];
};

/* The query's IPv4 + UDP + DNS headers, read in one call. */
struct sluice_dns_headers {
    struct iphdr ip;
    __u16 sport;
    __u16 dport;
    __u16 udp_len;
    __u16 udp_check;
    __u8 dns[SLUICE_DNS_HEADER];
};

/* The key being built (too large for the stack beside the rest), and how many of its name's
 * 8-byte words may be non-zero: every word from `dirty` on is zero, so a run lower-cases the
 * words of its own name and zeroes only those up to `dirty`, not all 32. The query's headers and
 * what the lookup learned live here too: the program's stack and sluice_dns_deny_try's together
 * must stay within 512 bytes. */
struct sluice_dns_scratch {
    struct sluice_dns_deny_key key;
    __u32 dirty;
    struct sluice_dns_headers h;
    struct sluice_dns_query q;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct sluice_dns_scratch);
} sluice_dns_scratch SEC(".maps");

/* ASCII A-Z to a-z in each byte of `x` (eight name bytes), every other byte unchanged. */
static __always_inline __u64 sluice_dns_lower8(__u64 x)
{
    const __u64 ones = 0x0101010101010101ULL;
    __u64 low7 = x & (0x7f * ones);
    __u64 above_z = low7 + (0x7f - 'Z') * ones;   /* high bit: byte > 'Z' */
    __u64 from_a = low7 + (0x80 - 'A') * ones;    /* high bit: byte >= 'A' */
    __u64 upper = (from_a & ~above_z & ~x) & (0x80 * ones);
    return x | (upper >> 2);
}

/* The cache entry answering this query now, or NULL (not a plain query, no entry, or an entry of
 * another generation). `l4` is a UDP datagram of an IPv4 pod; fills `q` on a hit. */
static __always_inline struct sluice_dns_deny_value *
sluice_dns_deny_lookup(struct __sk_buff *skb, const struct sluice_l4 *l4, struct sluice_dns_query *q)
{
    if (l4->proto != IPPROTO_UDP || (l4->flags & SLUICE_L4_FRAGMENT) || l4->l4_offset != ETH_HLEN + 20)
        return NULL;
    __u32 zero = 0;
    struct sluice_dns_scratch *scratch = bpf_map_lookup_elem(&sluice_dns_scratch, &zero);
    if (!scratch)
        return NULL;
    struct sluice_dns_headers *hp = &scratch->h;
    if (bpf_skb_load_bytes(skb, ETH_HLEN, hp, sizeof(*hp)) < 0)
        return NULL;
    __u32 udp_len = bpf_ntohs(hp->udp_len);
    if (bpf_ntohs(hp->ip.tot_len) != 20 + udp_len || udp_len < 8 + SLUICE_DNS_HEADER + 1 + 4)
        return NULL;
    /* QR 0, opcode QUERY, TC 0; QDCOUNT 1, ANCOUNT 0, NSCOUNT 0, ARCOUNT 0 or 1. */
    const __u8 *dns = hp->dns;
    if ((dns[2] & 0xfa) != 0 || dns[4] != 0 || dns[5] != 1 || (dns[6] | dns[7] | dns[8] | dns[9]) != 0 ||
        dns[10] != 0 || dns[11] > 1)
        return NULL;
    struct sluice_dns_deny_key *key = &scratch->key;
    __u32 dns_off = ETH_HLEN + 20 + 8;
    __u32 body = udp_len - 8 - SLUICE_DNS_HEADER;  /* >= 5 */
    __u32 take = body > SLUICE_DNS_NAME_MAX ? SLUICE_DNS_NAME_MAX : body;
    if (take < 1 || take > SLUICE_DNS_NAME_MAX)
        return NULL;
    /* The load may write up to `take` bytes: note them dirty before any early return. */
    __u32 taken_words = (take + 7) / 8;
    if (scratch->dirty < taken_words)
        scratch->dirty = taken_words;
    if (bpf_skb_load_bytes(skb, dns_off + SLUICE_DNS_HEADER, key->name, take) < 0)
        return NULL;
    /* The labels: at most 128 (each is at least 2 bytes of 255). */
    __u32 pos = 0;
    int ended = 0;
    for (int i = 0; i < 128; i++) {
        if (pos >= take)
            return NULL;
        __u8 len = key->name[pos & 0xff];
        if (len == 0) {
            ended = 1;
            break;
        }
        if (len & 0xc0)
            return NULL;
        pos += 1 + len;
    }
    if (!ended || pos + 1 > SLUICE_DNS_NAME_MAX)
        return NULL;
    __u32 name_len = pos + 1;
    /* Question type and class, then nothing (ARCOUNT 0) or an OPT record without options. */
    __u32 rest = body - name_len;
    __u32 opt_off = 0;
    if (dns[11] == 0) {
        if (rest != 4)
            return NULL;
    } else {
        if (rest != 4 + SLUICE_DNS_OPT_RR)
            return NULL;
        __u8 opt[SLUICE_DNS_OPT_RR];
        opt_off = dns_off + SLUICE_DNS_HEADER + name_len + 4;
        if (bpf_skb_load_bytes(skb, opt_off, opt, sizeof(opt)) < 0)
            return NULL;
        if (opt[0] != 0 || opt[1] != 0 || opt[2] != SLUICE_RR_TYPE_OPT || opt[9] != 0 || opt[10] != 0)
            return NULL;
        q->opt_class[0] = opt[3];
        q->opt_class[1] = opt[4];
        __builtin_memcpy(q->opt_ttl, &opt[5], 4);
    }
    /* Lower-case the name in place, eight bytes at a time, zeroing what follows it up to the
     * last word a run may have written. */
    __u64 *words = (__u64 *)key->name;
    __u32 name_words = (name_len + 7) / 8;
    __u32 end = scratch->dirty > name_words ? scratch->dirty : name_words;
#pragma unroll
    for (__u32 w = 0; w < 32; w++) {
        if (w < end) {
            __u32 start = w * 8;
            __u64 word = words[w];
            if (start >= name_len)
                word = 0;
            else if (start + 8 > name_len)
                word &= (1ULL << ((name_len - start) * 8)) - 1;
            words[w] = sluice_dns_lower8(word);
        }
    }
    scratch->dirty = name_words;
    key->client_ip4 = l4->saddr;
    key->server_ip4 = l4->daddr;
    key->server_port = l4->dport;
    key->name_len = name_len;
    key->_pad = 0;
    struct sluice_dns_deny_value *value = bpf_map_lookup_elem(&sluice_dns_deny, key);
    if (!value)
        return NULL;
    struct sluice_dns_generation *gen = bpf_map_lookup_elem(&sluice_dns_gen, &zero);
    if (!gen || value->generation != gen->value)
        return NULL;
    q->dns_off = dns_off;
    q->opt_off = opt_off;
    q->qtype_off = dns_off + SLUICE_DNS_HEADER + name_len;
    q->flags_hi = dns[2];
    q->flags_lo = dns[3];
    return value;
}

/* One's-complement contribution of byte `b` at offset `off` from the checksummed data's start. */
static __always_inline __u32 sluice_csum_byte(__u8 b, __u32 off)
{
    return off & 1 ? b : (__u32)b << 8;
}

static __always_inline __u16 sluice_csum_fold(__u32 sum)
{
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (__u16)sum;
}

/* The DROPPED request flow the proxy writes for a denied query (DNSFlowRecorder.request). */
static __always_inline void sluice_dns_deny_record(const struct sluice_l4 *l4, const struct sluice_dns_deny_value *v,
                                                   __u16 qtype, __u32 src_identity, __u32 dst_identity,
                                                   __u32 src_endpoint, __u32 dst_endpoint)
{
    __u64 seq = 0;
    struct sluice_flow *rec = sluice_flow_reserve(&seq);
    if (!rec)
        return;
    sluice_flow_fill_ends(rec, l4, src_identity, dst_identity, src_endpoint, dst_endpoint);
    rec->verdict = SLUICE_VERDICT_DROPPED;
    rec->flow_type = SLUICE_FLOW_TYPE_L7;
    rec->event_type = SLUICE_EVENT_L7;
    rec->direction = SLUICE_DIR_EGRESS;
    rec->is_reply = SLUICE_REPLY_FALSE;
    rec->l7_type = SLUICE_L7_REQUEST;
    rec->l7_proto = SLUICE_L7_PROTO_DNS;
    rec->l7.dns.qtype = qtype;
    __u16 len = v->query_len;
    rec->l7.dns.query_len = len > SLUICE_DNS_QUERY_MAX ? SLUICE_DNS_QUERY_MAX : len;
    __builtin_memcpy(rec->l7.dns.query, v->query, SLUICE_DNS_QUERY_MAX);
    rec->l7.dns.policy_id = v->policy_ref;
    sluice_flow_commit(rec, seq);
}


/* Turns the query into the proxy's reply for `v` and sends it back to the pod: header flags (QR,
 * the query's RD and CD, RA, the rcode), the OPT record's payload size and TTL (the query's DO
 * bit), MACs, addresses and ports swapped, the UDP checksum updated for the changed bytes.
 * Writes the request flow and counts the answer. Returns TC_ACT_REDIRECT, or TC_ACT_SHOT when a
 * helper failed (the packet is half rewritten by then). */
static __always_inline int sluice_dns_deny_answer(struct __sk_buff *skb, const struct sluice_l4 *l4,
                                                  const struct sluice_dns_query *q,
                                                  const struct sluice_dns_deny_value *v, __u32 src_identity,
                                                  __u32 dst_identity, __u32 src_endpoint, __u32 dst_endpoint)
{
    __u32 udp_off = ETH_HLEN + 20;
    __u32 check_off = udp_off + 6;
    /* Header flags: QR, opcode 0, RD as asked; RA, CD as asked, the rcode. */
    __u8 flags[2] = { 0x80 | (q->flags_hi & 0x01), 0x80 | (q->flags_lo & 0x10) | (v->rcode & 0x0f) };
    __u32 old_sum = sluice_csum_byte(q->flags_hi, 2) + sluice_csum_byte(q->flags_lo, 3);
    __u32 new_sum = sluice_csum_byte(flags[0], 2) + sluice_csum_byte(flags[1], 3);
    __u8 opt[6] = { SLUICE_DNS_REPLY_UDP_SIZE >> 8, SLUICE_DNS_REPLY_UDP_SIZE & 0xff, 0, 0,
                    q->opt_ttl[2] & 0x80, 0 };
    if (q->opt_off) {
        /* class (2) and TTL (4) at offsets 3..8 of the record; offsets from the UDP header, whose
         * length (8) keeps the parity of the DNS offset. */
        __u32 at = q->opt_off + 3 - udp_off;
        old_sum += sluice_csum_byte(q->opt_class[0], at) + sluice_csum_byte(q->opt_class[1], at + 1);
#pragma unroll
        for (int i = 0; i < 4; i++)
            old_sum += sluice_csum_byte(q->opt_ttl[i], at + 2 + i);
#pragma unroll
        for (int i = 0; i < 6; i++)
            new_sum += sluice_csum_byte(opt[i], at + i);
    }
    __u16 from = bpf_htons(sluice_csum_fold(old_sum));
    __u16 to = bpf_htons(sluice_csum_fold(new_sum));
    if (bpf_l4_csum_replace(skb, check_off, from, to, BPF_F_MARK_MANGLED_0 | 2) < 0)
        return TC_ACT_SHOT;
    if (bpf_skb_store_bytes(skb, q->dns_off + 2, flags, sizeof(flags), BPF_F_RECOMPUTE_CSUM) < 0)
        return TC_ACT_SHOT;
    if (q->opt_off && bpf_skb_store_bytes(skb, q->opt_off + 3, opt, sizeof(opt), BPF_F_RECOMPUTE_CSUM) < 0)
        return TC_ACT_SHOT;

    /* Addresses and ports swapped: sums unchanged. */
    struct {
        __be32 saddr;
        __be32 daddr;
        __be16 sport;
        __be16 dport;
    } swapped = {
        .saddr = l4->daddr,
        .daddr = l4->saddr,
    };
    swapped.sport = bpf_htons(l4->dport);
    swapped.dport = bpf_htons(l4->sport);
    if (bpf_skb_store_bytes(skb, ETH_HLEN + 12, &swapped, 8, BPF_F_RECOMPUTE_CSUM) < 0)
        return TC_ACT_SHOT;
    if (bpf_skb_store_bytes(skb, udp_off, &swapped.sport, 4, BPF_F_RECOMPUTE_CSUM) < 0)
        return TC_ACT_SHOT;
    __u8 macs[2 * ETH_ALEN];
    if (bpf_skb_load_bytes(skb, 0, macs, sizeof(macs)) < 0)
        return TC_ACT_SHOT;
    __u8 swapped_macs[2 * ETH_ALEN];
    __builtin_memcpy(swapped_macs, macs + ETH_ALEN, ETH_ALEN);
    __builtin_memcpy(swapped_macs + ETH_ALEN, macs, ETH_ALEN);
    if (bpf_skb_store_bytes(skb, 0, swapped_macs, sizeof(swapped_macs), 0) < 0)
        return TC_ACT_SHOT;

    __u16 qtype = 0;
    __u8 qt[2];
    if (bpf_skb_load_bytes(skb, q->qtype_off, qt, 2) == 0)
        qtype = (__u16)qt[0] << 8 | qt[1];
    if (sluice_allowed_records_on())
        sluice_dns_deny_record(l4, v, qtype, src_identity, dst_identity, src_endpoint, dst_endpoint);
    __u32 zero = 0;
    struct sluice_dns_stats *stats = bpf_map_lookup_elem(&sluice_dns_stats, &zero);
    if (stats)
        stats->answered++;
    skb->mark = 0;
    return bpf_redirect(skb->ifindex, 0);
}

/* What sluice_dns_deny_try needs of the caller besides the packet (BPF functions take five
 * arguments at most). */
struct sluice_dns_deny_ctx {
    __u32 src_identity;
    __u32 dst_identity;
    __u32 src_endpoint;
    __u32 dst_endpoint;
    __u32 trace_reason;  /* the trace record's reason (enum sluice_trace_reason; 0: none) */
};

#define SLUICE_DNS_DENY_MISS (-1)

/* The deny cache's whole path for a UDP datagram its source's egress steers to the DNS proxy:
 * on a hit, the trace record every steered packet gets (point TO_PROXY) and the answer above
 * (TC_ACT_REDIRECT, or TC_ACT_SHOT); on a miss SLUICE_DNS_DENY_MISS, nothing written.
 *
 * A global function, not inlined: the verifier checks it once, on its own, instead of once for
 * every path of sluice_tc_endpoint that reaches it. Inlined, the name loops made the program's
 * verification three times as long (179k -> 564k instructions processed), and the agent's start
 * half a second longer: the DNS gap across a restart (integration/scenarios/25). */
__noinline int sluice_dns_deny_try(struct __sk_buff *skb, const struct sluice_l4 *l4, const struct sluice_dns_deny_ctx *c)
{
    if (!l4 || !c)
        return SLUICE_DNS_DENY_MISS;
    __u32 zero = 0;
    struct sluice_dns_scratch *scratch = bpf_map_lookup_elem(&sluice_dns_scratch, &zero);
    if (!scratch)
        return SLUICE_DNS_DENY_MISS;
    struct sluice_dns_query *q = &scratch->q;
    struct sluice_dns_deny_value *v = sluice_dns_deny_lookup(skb, l4, q);
    if (!v)
        return SLUICE_DNS_DENY_MISS;
    sluice_trace(l4, SLUICE_TRACE_TO_PROXY, c->trace_reason, SLUICE_DIR_EGRESS, c->src_identity, c->dst_identity,
                 c->src_endpoint, c->dst_endpoint);
    return sluice_dns_deny_answer(skb, l4, q, v, c->src_identity, c->dst_identity, c->src_endpoint, c->dst_endpoint);
}

#endif
