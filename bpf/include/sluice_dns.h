/* The DNS deny cache: shared with Sources/CSluiceShared (Swift) and the bpf/ programs (kernel); change both.
 *
 * When the DNS proxy refuses a UDP query by L7 DNS policy (REFUSED, or NXDOMAIN with
 * --dns-reject-response-code=nameError) and the query has the plain shape tc can answer (see
 * bpf/lib/dns_deny.h and Sources/Proxy/DNSDenyKey.swift, which build the same key from the same
 * bytes), it inserts the query's key into sluice_dns_deny with the deny generation its decision was
 * made under. tc_endpoint answers the next such query of the same pod to the same server and
 * name itself, while the entry's generation equals sluice_dns_gen: the same reply bytes, the same
 * DROPPED request flow. The agent bumps sluice_dns_gen after every write to the maps that decide
 * steering (endpoints, L7 ports, ipcache) and after every policy snapshot the proxy workers take,
 * so an entry is never used under another policy than the one that denied it.
 */
#ifndef SLUICE_DNS_H
#define SLUICE_DNS_H

#include <linux/types.h>

/* Entries of the deny cache (LRU): each is ~560 bytes of kernel memory (key, value, LRU node),
 * 9 MiB for the map. */
#define SLUICE_MAX_DNS_DENY 16384
/* Bytes of a query name on the wire, the root label included (RFC 1035 2.3.4). */
#define SLUICE_DNS_NAME_MAX 255
/* The OPT record's UDP payload size in the proxy's replies (DNSReply.defaultUDPPayloadSize). */
#define SLUICE_DNS_REPLY_UDP_SIZE 1232

/* sluice_dns_deny (LRU hash): a denied query. Lower-cased means ASCII A-Z to a-z in every byte of
 * the wire name (length bytes are <= 63 and never in that range); every byte after name_len is 0,
 * so a key never depends on what the buffer held before. */
struct sluice_dns_deny_key {
    __u32 client_ip4;    /* the querying pod, network order */
    __u32 server_ip4;    /* the DNS server the query was sent to, network order */
    __u16 server_port;   /* host order */
    __u8 name_len;       /* wire bytes of the first question's name, root label included: 1...255 */
    __u8 _pad;
    __u8 name[256];      /* the name as on the wire, lower-cased, zero after name_len */
};

struct sluice_dns_deny_value {
    __u64 generation;    /* sluice_dns_gen when the proxy decided; stale once it moved on */
    __u32 policy_ref;    /* the request flow's policy_id (PolicyKey.ref of the deciding policy, 0 = none) */
    __u8 rcode;          /* the reply's rcode: 5 REFUSED or 3 NXDOMAIN */
    __u8 _pad;
    __u16 query_len;     /* bytes used in query */
    char query[256];     /* the request flow's query text (lower-cased, trailing dot), as the proxy writes it */
};

/* sluice_dns_gen (array, one entry, mmapable): the deny generation. The agent bumps it with an
 * atomic add through its mmap; tc reads it per query. */
struct sluice_dns_generation {
    __u64 value;
};

/* sluice_dns_stats (per-CPU array, one entry): queries tc answered from the cache. */
struct sluice_dns_stats {
    __u64 answered;
};

_Static_assert(sizeof(struct sluice_dns_deny_key) == 268, "dns deny key size");
_Static_assert(sizeof(struct sluice_dns_deny_value) == 272, "dns deny value size");

#endif
