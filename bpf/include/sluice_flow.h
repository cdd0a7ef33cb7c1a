/* The flow record: shared with Sources/CSluiceShared (Swift) and the bpf/ programs (kernel); change both.
 *
 * The flow map is a ring of SLUICE_FLOW_SLOTS fixed-size records in a BPF_F_MMAPABLE array map
 * (`sluice_flows`), plus a one-entry mmapable array (`sluice_flow_head`) whose `next_seq` every
 * writer bumps with an atomic fetch-and-add. Kernel programs write through
 * bpf_map_lookup_elem(); the proxy writes through its mmap of the same pages, with no syscall.
 *
 * Writing record number `seq` (0, 1, 2, ...):
 *   1. seq = fetch_add(&head->next_seq, 1); slot = seq % SLUICE_FLOW_SLOTS
 *   2. slot->commit = 0                      (readers skip the slot)
 *   3. fill the other fields
 *   4. slot->commit = seq + 1                (release store: the record is complete)
 * A reader that wants record `seq` reads commit (acquire), copies, and re-reads commit: the copy is
 * valid when both reads equal seq + 1.
 */
#ifndef SLUICE_FLOW_H
#define SLUICE_FLOW_H

#include <linux/types.h>

/* 4096 records (4 MiB): Hubble's default ring (--hubble-event-buffer-capacity 4095). The proxy
 * maps and writes every page of it, so it is part of the agent's resident memory. A build that
 * changes this recreates the pinned ring at the next start (CSluice_bpf_object_unpin_stale). */
#define SLUICE_FLOW_SLOTS 4096u
#define SLUICE_FLOW_RECORD_SIZE 1024u

/* The layout of the records this header describes, kept in sluice_flow_head.layout: Datapath.open
 * (the agent) writes it when it creates or adopts the ring, after dropping the records of a ring
 * of another layout (their commit words cleared); readers (FlowRing.openForReading: `sluice
 * observe`, sluice-observer) refuse a ring of another layout. Bump it with any change to where
 * a field of struct sluice_flow or its L7 parts sits. 0: a ring of a build before the word
 * (layout 1: the http part's fixed fields after url). */
#define SLUICE_FLOW_LAYOUT 2u

/* Hubble Verdict enum values (flow.proto). */
enum sluice_verdict {
    SLUICE_VERDICT_UNKNOWN = 0,
    SLUICE_VERDICT_FORWARDED = 1,
    SLUICE_VERDICT_DROPPED = 2,
    SLUICE_VERDICT_ERROR = 3,
    SLUICE_VERDICT_AUDIT = 4,
    SLUICE_VERDICT_REDIRECTED = 5,
};

/* Hubble FlowType. */
enum sluice_flow_type {
    SLUICE_FLOW_TYPE_UNKNOWN = 0,
    SLUICE_FLOW_TYPE_L3_L4 = 1,
    SLUICE_FLOW_TYPE_L7 = 2,
};

/* Hubble event_type.type values (monitor API). */
enum sluice_event_type {
    SLUICE_EVENT_DROP = 1,
    SLUICE_EVENT_TRACE = 4,
    SLUICE_EVENT_POLICY_VERDICT = 5,
    SLUICE_EVENT_L7 = 129,
};

/* Cilium's trace observation points (monitor sub_type of trace events, pkg/monitor/api). */
enum sluice_trace_point {
    SLUICE_TRACE_TO_ENDPOINT = 0,   /* TRACE_TO_LXC: delivered to a local pod */
    SLUICE_TRACE_TO_PROXY = 1,      /* steered to the L7 proxy */
    SLUICE_TRACE_TO_STACK = 3,      /* left a pod toward the node's stack (world, host, remote) */
};

/* Hubble TraceReason (flow.proto): the connection-tracking state of a traced packet. */
enum sluice_trace_reason {
    SLUICE_TRACE_REASON_NEW = 1,
    SLUICE_TRACE_REASON_ESTABLISHED = 2,
    SLUICE_TRACE_REASON_REPLY = 3,
    SLUICE_TRACE_REASON_RELATED = 4, /* an ICMP error about a tracked connection (Cilium's CT_RELATED) */
};

/* Cilium's policy_match_type (pkg/monitor/api, POLICY_MATCH_*): which policy entry allowed. */
enum sluice_policy_match {
    SLUICE_POLICY_MATCH_NONE = 0,
    SLUICE_POLICY_MATCH_L3_ONLY = 1,   /* the peer, every port */
    SLUICE_POLICY_MATCH_L3_L4 = 2,     /* the peer on this port */
    SLUICE_POLICY_MATCH_L4_ONLY = 3,   /* every peer on this port */
    SLUICE_POLICY_MATCH_ALL = 4,       /* every peer, every port */
};

/* Hubble TrafficDirection. */
enum sluice_direction {
    SLUICE_DIR_UNKNOWN = 0,
    SLUICE_DIR_INGRESS = 1,
    SLUICE_DIR_EGRESS = 2,
};

/* Hubble DropReason values used by Sluice (flow.proto DropReason). */
enum sluice_drop_reason {
    SLUICE_DROP_NONE = 0,
    SLUICE_DROP_INVALID_SOURCE_IP = 132,     /* source address is not the sending endpoint's */
    SLUICE_DROP_POLICY_DENIED = 133,         /* default deny */
    SLUICE_DROP_INVALID_PACKET = 134,        /* truncated IP or L4 header (INVALID_PACKET_DROPPED) */
    SLUICE_DROP_UNSUPPORTED_L3 = 139,        /* neither IP nor ARP, under default deny (UNSUPPORTED_L3_PROTOCOL) */
    SLUICE_DROP_FRAG_NOT_FOUND = 175,        /* a later IPv4 fragment whose first was not seen */
    SLUICE_DROP_PROXY_LOOKUP_FAILED = 178,   /* hubble SOCKET_LOOKUP_FAILED: no proxy socket, the steered port fails closed */
    SLUICE_DROP_PROXY_REDIRECTION_NOT_SUPPORTED = 180,
    SLUICE_DROP_POLICY_DENY = 181,           /* explicit deny (ingressDeny/egressDeny) */
};

/* Hubble L7FlowType. */
enum sluice_l7_type {
    SLUICE_L7_UNKNOWN = 0,
    SLUICE_L7_REQUEST = 1,
    SLUICE_L7_RESPONSE = 2,
};

enum sluice_l7_proto {
    SLUICE_L7_PROTO_NONE = 0,
    SLUICE_L7_PROTO_HTTP10 = 1,
    SLUICE_L7_PROTO_HTTP11 = 2,
    SLUICE_L7_PROTO_HTTP2 = 3,
    SLUICE_L7_PROTO_DNS = 4,
    SLUICE_L7_PROTO_TLS = 5,  /* a TLS ClientHello judged by serverNames; the http record holds the SNI */
};

/* is_reply: Hubble's BoolValue, absent means unknown. */
enum sluice_reply {
    SLUICE_REPLY_UNKNOWN = 0,
    SLUICE_REPLY_FALSE = 1,
    SLUICE_REPLY_TRUE = 2,
};

/* TCP flags as in the TCP header's 13th byte (FIN=0x01 ... CWR=0x80). */
#define SLUICE_TCP_FIN 0x01
#define SLUICE_TCP_SYN 0x02
#define SLUICE_TCP_RST 0x04
#define SLUICE_TCP_PSH 0x08
#define SLUICE_TCP_ACK 0x10
#define SLUICE_TCP_URG 0x20
#define SLUICE_TCP_ECE 0x40
#define SLUICE_TCP_CWR 0x80

#define SLUICE_HTTP_METHOD_MAX 16
#define SLUICE_HTTP_URL_MAX 384
/* Request headers an HTTP request record carries (sluice_flow_http.headers), already redacted
 * by the agent's --hubble-redact-* options: packed entries of
 *   name_len (1 byte) | value_len (2 bytes, little endian) | name | value
 * in arrival order; a header that does not fit ends the list and sets headers_cut. */
#define SLUICE_HTTP_HEADERS_MAX 508
#define SLUICE_DNS_QUERY_MAX 256
#define SLUICE_DNS_IPS_MAX 8

/* Why one side decided an HTTP request (request flows; Swift Flow.L7Reason). */
enum sluice_l7_reason {
    SLUICE_L7_REASON_NONE = 0,
    SLUICE_L7_REASON_RULE_MATCHED = 1,
    SLUICE_L7_REASON_L4_ONLY_ALLOW = 2,
    SLUICE_L7_REASON_LOCALHOST = 3,
    SLUICE_L7_REASON_NOT_ENFORCED = 4,
    SLUICE_L7_REASON_NO_RULE_MATCHED = 5,
    SLUICE_L7_REASON_DENIED_BY_POLICY = 6,
    SLUICE_L7_REASON_PEER_NOT_ALLOWED = 7,
    SLUICE_L7_REASON_PARSER_MISMATCH = 8,
    SLUICE_L7_REASON_NOT_STEERED = 9,
};

/* headerMatches mismatch actions of the matching rule whose header did not match (bits). */
#define SLUICE_HEADER_ACTION_LOG 0x01
#define SLUICE_HEADER_ACTION_ADD 0x02
#define SLUICE_HEADER_ACTION_DELETE 0x04
#define SLUICE_HEADER_ACTION_REPLACE 0x08

/* Every fixed field first, then the text: a record with a short url writes the lines of bytes
 * 0-191 of its slot and, for a request with headers, those of its headers (from byte 516); a
 * response writes no line past the url (layout 2; layout 1 kept policy_id .. headers_cut after
 * url, two more lines per record). */
struct sluice_flow_http {
    __u16 code;          /* 0 on requests */
    __u8 method_len;
    __u8 reason;         /* request flows: enum sluice_l7_reason; 0 = none */
    __u16 url_len;       /* bytes used in url (truncated to SLUICE_HTTP_URL_MAX) */
    __u8 header_actions; /* request flows: SLUICE_HEADER_ACTION_* bits */
    __u8 _pad1;
    __u32 policy_id;     /* request flows: the policy whose rule decided (PolicyKey.ref), 0 = none */
    __u8 error_side;     /* responses: the peer whose failure ended the exchange, 1 downstream, 2 upstream, 0 none */
    __u8 _pad2;
    __u16 error_errno;   /* with error_side: the errno of the failed read or write, 0 for an EOF */
    __u16 headers_len;   /* request flows: bytes used in headers */
    __u8 n_headers;      /* request flows: entries in headers */
    __u8 headers_cut;    /* 1: the request had more headers than fit */
    char method[SLUICE_HTTP_METHOD_MAX];
    char url[SLUICE_HTTP_URL_MAX];
    __u8 headers[SLUICE_HTTP_HEADERS_MAX];
};

struct sluice_flow_dns {
    __u32 ttl;
    __u16 rcode;
    __u16 qtype;         /* first question's type */
    __u16 query_len;
    __u8 n_ips;          /* entries used in ips */
    __u8 ip_versions;    /* bit i set: ips[i] is IPv6; else IPv4 in the first 4 bytes */
    __u16 rrtypes_mask;  /* bit 0 A, 1 AAAA, 2 CNAME, 3 other */
    __u16 _pad0;
    char query[SLUICE_DNS_QUERY_MAX];
    __u8 ips[SLUICE_DNS_IPS_MAX][16];
    __u32 policy_id;     /* request flows: the policy whose rule decided (PolicyKey.ref), 0 = none */
    __u8 error_side;     /* responses: the peer whose failure ended the query, 1 downstream, 2 upstream, 0 none */
    __u8 _pad1;
    __u16 error_errno;   /* with error_side: the errno of the failed call, 0 for an EOF */
};

struct sluice_flow {
    __u64 commit;        /* seq + 1 once complete; 0 while written */
    __u64 time_ns;       /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
    __u64 latency_ns;    /* L7 responses */
    __u32 src_identity;
    __u32 dst_identity;
    __u32 src_endpoint;  /* local endpoint IDs; 0 = not a local endpoint */
    __u32 dst_endpoint;
    __u8 src_ip[16];     /* IPv4: first 4 bytes, network order */
    __u8 dst_ip[16];
    __u16 src_port;      /* host order */
    __u16 dst_port;
    __u8 ip_version;     /* 4 or 6; 0 = none */
    __u8 l4_proto;       /* IP protocol: TCP, UDP, SCTP, ICMP, ICMPv6, or another number */
    __u8 verdict;        /* enum sluice_verdict */
    __u8 flow_type;      /* enum sluice_flow_type */
    __u8 event_type;     /* enum sluice_event_type (129 fits in a u8) */
    __u8 drop_reason;    /* enum sluice_drop_reason (all < 256) */
    __u8 direction;      /* enum sluice_direction */
    __u8 is_reply;       /* enum sluice_reply */
    __u8 tcp_flags;
    __u8 l7_type;        /* enum sluice_l7_type */
    __u8 l7_proto;       /* enum sluice_l7_proto */
    __u8 icmp_type;      /* ICMP / ICMPv6 */
    __u8 icmp_code;
    __u8 trace_point;    /* trace events: Cilium's observation point, the monitor sub_type (enum sluice_trace_point) */
    __u8 trace_reason;   /* trace events: Hubble TraceReason (enum sluice_trace_reason) */
    __u8 policy_match;   /* policy-verdict events: Cilium's policy_match_type (enum sluice_policy_match) */
    __u32 policy_ref;    /* policy-verdict events: the allowing entry's policy; POLICY_DENY drops: the denying
                          * entry's (PolicyKey.ref, sluice_policy_value.policy_ref); 0 = none */
    union {
        struct sluice_flow_http http;
        struct sluice_flow_dns dns;
        __u8 raw[928];
    } l7;
};

struct sluice_flow_head {
    __u64 next_seq;      /* bumped atomically by every writer */
    __u64 layout;        /* SLUICE_FLOW_LAYOUT of the records, set by the agent (0: an older build's ring) */
    __u64 _reserved[6];
};

_Static_assert(sizeof(struct sluice_flow) == SLUICE_FLOW_RECORD_SIZE, "flow record size");
_Static_assert(sizeof(struct sluice_flow_http) == 928 && sizeof(struct sluice_flow_dns) == 408, "L7 record sizes");
_Static_assert(sizeof(struct sluice_flow_head) == 64, "flow head size");
_Static_assert(__builtin_offsetof(struct sluice_flow_head, layout) == 8, "layout word offset");
_Static_assert(__builtin_offsetof(struct sluice_flow_http, method) == 20 &&
               __builtin_offsetof(struct sluice_flow_http, url) == 36 &&
               __builtin_offsetof(struct sluice_flow_http, headers) == 420, "http layout 2");

#endif
