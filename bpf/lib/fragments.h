/* IPv4 fragments, as Cilium's fragment tracking does (cilium-hardening.md 2): the fragment that
 * carries the L4 header stores the datagram's ports in sluice_fragments under (addresses, IP
 * ID, protocol) and is decided like any packet; a later fragment takes the ports from there and
 * so follows the same policy. A later fragment whose first one was not seen (or was evicted from
 * the LRU) is dropped: FIRST_LOGICAL_DATAGRAM_FRAGMENT_NOT_FOUND (175). Out-of-order fragments
 * therefore die, as in Cilium (cilium issue 25709). IPv6 is not decided port by port
 * (lib/policy.h, sluice_policy_verdict6), so its fragments need no tracking. */
#ifndef SLUICE_LIB_FRAGMENTS_H
#define SLUICE_LIB_FRAGMENTS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"
#include "packet.h"

/* For a fragment: stores (first) or restores (later) the ports. Returns SLUICE_DROP_NONE, or
 * SLUICE_DROP_FRAG_NOT_FOUND for a later fragment without an entry. */
static __always_inline __u8 sluice_fragment_ports(struct sluice_l4 *l4)
{
    if (!(l4->flags & SLUICE_L4_FRAGMENT))
        return SLUICE_DROP_NONE;
    struct sluice_frag_key key = {
        .saddr = l4->saddr,
        .daddr = l4->daddr,
        .id = l4->frag_id,
        .proto = l4->proto,
    };
    if (!(l4->flags & SLUICE_L4_NO_HEADER)) {
        struct sluice_frag_value ports = {
            .sport = l4->sport,
            .dport = l4->dport,
            .icmp_type = l4->icmp_type,
            .icmp_code = l4->icmp_code,
        };
        /* A failed store (map full cannot happen with an LRU) only costs the later fragments. */
        bpf_map_update_elem(&sluice_fragments, &key, &ports, BPF_ANY);
        return SLUICE_DROP_NONE;
    }
    struct sluice_frag_value *ports = bpf_map_lookup_elem(&sluice_fragments, &key);
    if (!ports)
        return SLUICE_DROP_FRAG_NOT_FOUND;
    l4->sport = ports->sport;
    l4->dport = ports->dport;
    l4->icmp_type = ports->icmp_type;
    l4->icmp_code = ports->icmp_code;
    sluice_policy_fields(l4);
    return SLUICE_DROP_NONE;
}

#endif
