/* Map keys and values: shared with Sources/CSluiceShared (Swift) and the bpf/ programs (kernel); change both.
 * Every map is pinned under /sys/fs/bpf/sluice/<name>. Addresses are IPv4 in network byte order;
 * ports in host byte order unless a field says otherwise.
 */
#ifndef SLUICE_MAPS_H
#define SLUICE_MAPS_H

#include <linux/types.h>

#define SLUICE_PIN_DIR "/sys/fs/bpf/sluice"

/* Packets the proxy must take carry this mark (Cilium's MARK_MAGIC_TO_PROXY); policy routing
 * (`ip rule fwmark 0x200/0xf00 lookup 2004`, `local 0.0.0.0/0 dev lo table 2004`) delivers them
 * locally, where sk_lookup picks the proxy socket. */
#define SLUICE_MARK_TO_PROXY 0x0200u
#define SLUICE_MARK_MASK 0x0F00u
/* Sockets the proxy opens toward upstreams carry SO_MARK SLUICE_MARK_FROM_PROXY (Cilium's
 * egress-proxy magic) in the SLUICE_MARK_MASK bits and the security identity of the client whose
 * request they carry in the others: identity bits 0-7 in mark bits 0-7, bits 8-24 in mark bits
 * 12-28 (Cilium puts identity << 16 beside 0x0B00, which holds 16 bits; Sluice's node-local CIDR
 * and FQDN identities need 25). tc decides the destination's L3/L4 ingress policy with that
 * identity and never steers such a packet again (bpf/lib/steer.h). Identity 0 (unknown) matches
 * only policy entries for every peer. */
#define SLUICE_MARK_FROM_PROXY 0x0B00u
#define SLUICE_MARK_IDENTITY_MAX 0x01FFFFFFu
#define SLUICE_ROUTE_TABLE 2004

#define SLUICE_MARK_ENCODE_IDENTITY(identity) \
    (SLUICE_MARK_FROM_PROXY | ((identity) & 0xFFu) | (((identity) >> 8) & 0x1FFFFu) << 12)
#define SLUICE_MARK_DECODE_IDENTITY(mark) (((mark) & 0xFFu) | (((mark) >> 12) & 0x1FFFFu) << 8)

/* The SO_MARK of a proxy upstream socket carrying `identity` (<= SLUICE_MARK_IDENTITY_MAX). */
static inline __u32 sluice_mark_from_proxy(__u32 identity)
{
    return SLUICE_MARK_ENCODE_IDENTITY(identity);
}

/* The identity carried by a mark that has SLUICE_MARK_FROM_PROXY in its SLUICE_MARK_MASK bits. */
static inline __u32 sluice_mark_identity(__u32 mark)
{
    return SLUICE_MARK_DECODE_IDENTITY(mark);
}

/* Steered packets of a client that is not a local pod (world, the node, remote nodes), seen on the
 * pod's veth after routing, go back into the node's stack by bpf_redirect to the ingress of this
 * device (the loopback device is always ifindex 1 in a network namespace) with
 * SLUICE_MARK_TO_PROXY, so the policy route above delivers them to the proxy (Cilium's hairpin
 * through cilium_host). Needs accept_local on it (the node's own address as source) and TCP early
 * demux off in the node namespace (docs/architecture.md, "Steering"). */
#define SLUICE_HAIRPIN_IFINDEX 1

#define SLUICE_MAX_ENDPOINTS 65536
#define SLUICE_MAX_L7_PORTS 65536
#define SLUICE_MAX_STEERED 262144
#define SLUICE_MAX_POLICY_ENTRIES 524288
#define SLUICE_MAX_POLICY_MODES 131072
#define SLUICE_MAX_IPCACHE 65536
#define SLUICE_MAX_CT 262144
/* Cilium's bpf-fragments-map-max default. */
#define SLUICE_MAX_FRAGMENTS 8192

/* sluice_endpoints: pod IPv4 -> endpoint. */
struct sluice_endpoint_key {
    __u32 ip4;
};

struct sluice_endpoint_info {
    __u32 id;            /* endpoint ID, > 0 */
    __u32 identity;      /* numeric security identity of the pod's label set */
    __u32 ifindex;       /* host-side veth in the node namespace */
    __u32 flags;
};

/* sluice_veths: host-side veth ifindex -> the endpoint behind it (the same value as its
 * sluice_endpoints entry). Written with it by the agent for every endpoint whose ifindex is
 * known. tc finds through it whose packet an IPv6 packet or a spoofed IPv4 packet is: the
 * address in the packet cannot say. */
struct sluice_veth_key {
    __u32 ifindex;
};

/* Which proxy listener takes a steered connection or datagram. */
enum sluice_proxy_kind {
    SLUICE_PROXY_NONE = 0,
    SLUICE_PROXY_HTTP = 1,     /* TCP, rules.http */
    SLUICE_PROXY_DNS_UDP = 2,  /* UDP, rules.dns */
    SLUICE_PROXY_DNS_TCP = 3,  /* TCP, rules.dns */
};

/* Index of each proxy listener in the sluice_proxy_socks sockmap. */
enum sluice_sock_index {
    SLUICE_SOCK_HTTP = 0,
    SLUICE_SOCK_DNS_UDP = 1,
    SLUICE_SOCK_DNS_TCP = 2,
    SLUICE_SOCK_MAX = 4,
};

/* sluice_l7_ports: (endpoint, port, protocol, direction) whose traffic goes to the proxy.
 * Ingress: endpoint = destination pod, port = its port. Egress: endpoint = source pod,
 * port = destination port. */
struct sluice_l7_key {
    __u32 endpoint_id;
    __u16 port;
    __u8 proto;          /* IPPROTO_TCP or IPPROTO_UDP */
    __u8 direction;      /* enum sluice_direction */
};

struct sluice_l7_value {
    __u8 kind;           /* enum sluice_proxy_kind */
    __u8 _pad[3];
    __u32 _reserved;
};

/* sluice_steered (LRU): the 4-tuple + proto of a connection or datagram flow that tc sent to the
 * proxy. sk_lookup finds the listener through it; the proxy reads it back after accept/recvmsg to
 * learn the direction and the endpoint whose policy applies (like Cilium's conntrack lookup). */
struct sluice_tuple {
    __u32 src_ip4;
    __u32 dst_ip4;
    __u16 src_port;      /* host order */
    __u16 dst_port;      /* host order */
    __u8 proto;
    __u8 _pad[3];
};

struct sluice_steer_info {
    __u32 src_endpoint;  /* local endpoint of the source address; 0 = not a local pod */
    __u32 dst_endpoint;  /* local endpoint of the destination address; 0 = not a local pod */
    __u32 src_identity;
    __u32 dst_identity;
    __u8 sides;          /* SLUICE_STEER_EGRESS | SLUICE_STEER_INGRESS: whose L7 rules apply */
    __u8 kind;           /* enum sluice_proxy_kind (both sides have the same kind) */
    __u8 _pad[6];
    __u64 created_ns;
};

/* sluice_steer_info.sides: the proxy decides every request with the L7 rules of each side named
 * here and lets it pass only when all of them allow it (Cilium traverses an egress and an
 * ingress proxy; Sluice decides both in one pass). */
#define SLUICE_STEER_EGRESS 0x01   /* the source endpoint's egress rules on this port */
#define SLUICE_STEER_INGRESS 0x02  /* the destination endpoint's ingress rules on this port */

/* sluice_policy: the L3/L4 policy of every endpoint (Cilium's per-endpoint policy map, one map
 * keyed by endpoint here). identity 0 = any peer, port 0 = any port. proto is TCP 6, UDP 17,
 * SCTP 132, ICMP 1 or ICMPv6 58, or 0 for every other IP protocol (GRE, IGMP, ...: only L3-only
 * rules, which have no port, name them). For ICMP and ICMPv6 the port is SLUICE_ICMP_PORT(type)
 * (`icmps` rules; Cilium keeps the type in the port field too). Ingress: endpoint = destination
 * pod, identity = source, port = its port. Egress: endpoint = source pod, identity =
 * destination, port = destination port. tc looks up (identity, port), (identity, any port),
 * (any, port), (any, any): any deny wins, else any allow/redirect allows, else the endpoint's
 * mode decides. */
enum sluice_policy_action {
    SLUICE_POLICY_ALLOW = 1,
    SLUICE_POLICY_DENY = 2,      /* ingressDeny/egressDeny: drop, POLICY_DENY (181) */
    SLUICE_POLICY_REDIRECT = 3,  /* allow through the proxy (steering itself: sluice_l7_ports) */
};

struct sluice_policy_key {
    __u32 endpoint_id;
    __u32 identity;      /* peer identity; 0 = any */
    __u16 port;          /* host order; 0 = any */
    __u8 proto;          /* IPPROTO_TCP/UDP/SCTP/ICMP/ICMPV6, or 0 = any other protocol */
    __u8 direction;      /* enum sluice_direction */
};

/* The policy port of ICMP type `type`: bit 8 set, so type 0 (echo reply) is not the any-port
 * wildcard 0. Shared with Sources/Policy/PortRule.swift (ICMPType.policyPort); change both. */
#define SLUICE_ICMP_PORT(type) ((__u16)(0x100u | (__u8)(type)))

/* The same for Swift, which does not import function-like macros (SharedConstantsTests). */
static inline __u16 sluice_icmp_port(__u8 type)
{
    return SLUICE_ICMP_PORT(type);
}

struct sluice_policy_value {
    __u8 action;         /* enum sluice_policy_action */
    __u8 proxy_kind;     /* enum sluice_proxy_kind when action is REDIRECT */
    __u16 _pad;
    __u32 policy_ref;    /* PolicyKey.ref of the policy the entry came from (flow records name it); 0 = none */
};

/* sluice_policy_mode: present for every (endpoint, direction) some rule selects; absent = no
 * policy, everything passes without a policy lookup. default_deny = 0 for enableDefaultDeny false
 * (only deny entries drop). */
struct sluice_policy_mode_key {
    __u32 endpoint_id;
    __u8 direction;      /* enum sluice_direction */
    __u8 _pad[3];
};

struct sluice_policy_mode {
    __u8 default_deny;   /* 1: no matching entry = drop, POLICY_DENIED (133) */
    __u8 _pad[3];
    __u32 _reserved;
};

/* sluice_ipcache (LPM trie): IPv4 prefix -> security identity of the peer. Pods are /32 with
 * their identity, policy CIDRs have node-local CIDR identities (1<<24 + n), 0.0.0.0/0 is world. */
struct sluice_ipcache_key {
    __u32 prefixlen;     /* LPM trie: bits of ip4 that count, 0...32 */
    __u32 ip4;           /* network order */
};

struct sluice_ipcache_value {
    __u32 identity;
    __u32 flags;
};

/* sluice_ct (LRU): connections tc allowed, keyed by the 4-tuple + proto of their first packet
 * (struct sluice_tuple). A packet whose reversed tuple is present is a reply and passes. ICMP
 * echo: the identifier is the port (request: dst_port, reply: src_port, as in Cilium), so echo
 * replies are replies; other ICMP has ports 0.
 * An entry lives while packets keep coming (seen_s, refreshed at most once a second) and counts
 * as absent once older than its lifetime: Cilium's defaults (cilium-hardening.md 4). */
#define SLUICE_CT_SEEN_BY_FROM_POD 0x01  /* created by tc_endpoint (packet left a pod) */
#define SLUICE_CT_SEEN_BY_TO_POD 0x02    /* created by the to-endpoint program (toward a pod) */
#define SLUICE_CT_CLOSED 0x04            /* a FIN or RST was seen: no longer counts as open */
#define SLUICE_CT_FQDN 0x08              /* allowed toward an FQDN identity (toFQDNs): keeps
                                          * passing after the IP's TTL expired while it lives */
#define SLUICE_CT_ESTABLISHED 0x10       /* TCP: a packet without SYN was seen */
#define SLUICE_CT_TX_CLOSING 0x20        /* TCP: FIN from the side that opened it, or any RST */
#define SLUICE_CT_RX_CLOSING 0x40        /* TCP: FIN from the other side, or any RST */
/* Monitor aggregation (lib/trace.h, Cilium's `medium`): the TCP flags of
 * SLUICE_CT_REPORT_TCP_FLAGS each side has sent and that were traced (the opener's at
 * SLUICE_CT_TX_SEEN_SHIFT, the other side's at SLUICE_CT_RX_SEEN_SHIFT), and whether a reply was
 * traced at all; a packet is traced when it sets one of these bits. */
#define SLUICE_CT_REPORT_TCP_FLAGS 0x07  /* FIN, SYN, RST (Cilium's monitor-aggregation-flags) */
#define SLUICE_CT_TX_SEEN_SHIFT 8
#define SLUICE_CT_RX_SEEN_SHIFT 12
#define SLUICE_CT_RX_TRACED 0x8000
#define SLUICE_CT_REPORT_MASK (SLUICE_CT_REPORT_TCP_FLAGS << SLUICE_CT_TX_SEEN_SHIFT | \
                               SLUICE_CT_REPORT_TCP_FLAGS << SLUICE_CT_RX_SEEN_SHIFT | SLUICE_CT_RX_TRACED)

/* Lifetimes in seconds after the last packet (Cilium: bpf-ct-timeout-regular-tcp,
 * -regular-tcp-syn, -regular-tcp-fin, -regular-any). Shared with Sources/Datapath (the agent's
 * garbage collection uses the same rule). */
#define SLUICE_CT_LIFETIME_TCP 21600     /* established TCP: 6 h */
#define SLUICE_CT_LIFETIME_TCP_SYN 60    /* TCP before a packet without SYN */
#define SLUICE_CT_LIFETIME_TCP_CLOSE 10  /* TCP after both sides closed (FIN both ways, or RST) */
#define SLUICE_CT_LIFETIME_ANY 60        /* UDP, SCTP, ICMP, others */

/* Node-local identities of IPs learned for toFQDNs selectors: BASE + n, n < 1<<23. Shared with
 * Sources/Policy/PolicySnapshot+FQDNPolicy.swift (FQDNIdentity); change both. */
#define SLUICE_IDENTITY_FQDN_BASE 0x01800000u /* (1 << 24) | (1 << 23) */
#define SLUICE_IDENTITY_FQDN_END 0x01FFFFFFu

/* Cilium's CT_REPORT_INTERVAL: under monitor aggregation a live connection is traced again at
 * most this often in each direction even when no flag changes (seconds). */
#define SLUICE_CT_REPORT_INTERVAL 5

struct sluice_ct_entry {
    __u64 created_ns;    /* bpf_ktime_get_ns() when tracked */
    __u32 flags;         /* SLUICE_CT_*: a u32 so bits are set with one atomic or */
    __u32 seen_s;        /* CLOCK_MONOTONIC seconds of the last packet either way */
    __u32 tx_report_s;   /* seconds of the last trace of the opener's packets (Cilium's last_tx_report) */
    __u32 rx_report_s;   /* seconds of the last trace of a reply (last_rx_report); 0 = none yet */
};

/* sluice_fragments (LRU): the ports of a fragmented IPv4 datagram, stored by the fragment that
 * carries the L4 header so later fragments (which have none) are decided with the same ports
 * (Cilium's cilium_ipv4_frag_datagrams). */
struct sluice_frag_key {
    __u32 saddr;
    __u32 daddr;
    __u16 id;            /* IP identification, network order */
    __u8 proto;
    __u8 _pad;
};

struct sluice_frag_value {
    __u16 sport;         /* host order; ICMP: the connection-tracking ports */
    __u16 dport;
    __u8 icmp_type;
    __u8 icmp_code;
    __u8 _pad[2];
};

/* sluice_config (array, one entry): agent options the tc programs read at run time. */
enum sluice_deny_response {
    SLUICE_DENY_RESPONSE_NONE = 0,  /* silent drop (Cilium's default) */
    SLUICE_DENY_RESPONSE_ICMP = 1,  /* egress denies answer ICMP destination unreachable,
                                     * code 13 "packet filtered" (--policy-deny-response=icmp) */
};

struct sluice_config {
    __u8 deny_response;  /* enum sluice_deny_response */
    __u8 no_allowed_records; /* 1: no trace / policy-verdict records of allowed traffic (agent --no-flows) */
    __u8 _pad[2];
    __u32 _reserved;
};

_Static_assert(sizeof(struct sluice_config) == 8, "config size");
_Static_assert(sizeof(struct sluice_endpoint_info) == 16, "endpoint info size");
_Static_assert(sizeof(struct sluice_l7_key) == 8, "l7 key size");
_Static_assert(sizeof(struct sluice_l7_value) == 8, "l7 value size");
_Static_assert(sizeof(struct sluice_tuple) == 16, "tuple size");
_Static_assert(sizeof(struct sluice_steer_info) == 32, "steer info size");
_Static_assert((SLUICE_MARK_FROM_PROXY & ~SLUICE_MARK_MASK) == 0, "proxy magic inside the mark mask");
_Static_assert((SLUICE_MARK_ENCODE_IDENTITY(SLUICE_MARK_IDENTITY_MAX) & SLUICE_MARK_MASK) == SLUICE_MARK_FROM_PROXY,
               "identity bits outside the mark mask");
_Static_assert(SLUICE_MARK_DECODE_IDENTITY(SLUICE_MARK_ENCODE_IDENTITY(SLUICE_MARK_IDENTITY_MAX)) == SLUICE_MARK_IDENTITY_MAX,
               "25 identity bits round-trip");
_Static_assert(SLUICE_MARK_DECODE_IDENTITY(SLUICE_MARK_ENCODE_IDENTITY(0x01000005u)) == 0x01000005u,
               "CIDR identities round-trip");
_Static_assert(SLUICE_IDENTITY_FQDN_END <= SLUICE_MARK_IDENTITY_MAX, "FQDN identities fit the proxy mark");
_Static_assert(sizeof(struct sluice_policy_key) == 12, "policy key size");
_Static_assert(sizeof(struct sluice_policy_value) == 8, "policy value size");
_Static_assert(sizeof(struct sluice_policy_mode_key) == 8, "policy mode key size");
_Static_assert(sizeof(struct sluice_policy_mode) == 8, "policy mode size");
_Static_assert(sizeof(struct sluice_ipcache_key) == 8, "ipcache key size");
_Static_assert(sizeof(struct sluice_ipcache_value) == 8, "ipcache value size");
_Static_assert(sizeof(struct sluice_ct_entry) == 24, "ct entry size");
_Static_assert(sizeof(struct sluice_veth_key) == 4, "veth key size");
_Static_assert(sizeof(struct sluice_frag_key) == 12, "frag key size");
_Static_assert(sizeof(struct sluice_frag_value) == 8, "frag value size");

#endif
