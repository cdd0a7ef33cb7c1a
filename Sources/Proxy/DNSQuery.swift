import DNS
import Flows
import Policy
import SluiceIO

/// One DNS query as the proxy decided it: who asked whom, over which transport, what, and when.
/// Kept (with its fresh upstream ID) until the answer is relayed, so the response flow can be
/// written after the query bytes are gone.
struct DNSQuery {
    var client: DNSEndpointAddress
    /// The original destination: the DNS server the pod asked.
    var server: DNSEndpointAddress
    /// 17 (UDP) or 6 (TCP).
    var proto: UInt8
    var steer: SteerInfo?
    /// The client's message ID, put back on the answer.
    var originalID: UInt16
    /// First question's name, lower-cased with a trailing dot (what the rules matched).
    var qname: [UInt8]
    /// First question's type.
    var qtype: UInt16
    /// CLOCK_MONOTONIC of the decide phase.
    var requestTimeNs: UInt64
    /// First question's class (an upstream answer must repeat the question: `DNSAnswerMatch`).
    var qclass: UInt16 = 1
    /// The side whose verdict the request flow shows: egress (DNS rules are egress rules), or
    /// ingress when the receiver's ingress rules refused the query.
    var direction: Flow.TrafficDirection = .egress
    /// `PolicyKey.ref` of the policy whose rule decided (0 = none).
    var policyRef: UInt32 = 0
}

/// What to do with a received query, decided from its bytes, the steering entry and the policy.
enum DNSQueryDecision {
    /// Not a query worth any answer (shorter than a header, or a response): drop silently.
    case ignore
    /// Unparseable: answer FORMERR (miekg/dns does this before Cilium's handler sees the
    /// message, so no flow is written), or drop when even that cannot be built.
    case formatError([UInt8]?)
    /// An opcode other than QUERY: answer NOTIMP (miekg/dns, before Cilium's handler: no flow).
    case notImplemented([UInt8]?)
    /// Allowed: forward to the original server with a fresh ID.
    case forward(DNSQuery)
    /// Denied by a DNS rule: answer REFUSED/NXDOMAIN, one DROPPED request flow.
    case reject(DNSQuery, DNSRejectReply)
    /// No rule admits this server at all (or the datagram was not steered): an L3/L4 drop.
    case drop(DNSQuery)
}

extension DNSQueryDecision {
    /// The read → parse → decide phases for one query message.
    ///
    /// Policy (cilium-semantics.md 1.7, 3.2): only the first question's name counts, lower-cased
    /// with a trailing dot; the peer is the server's identity (DNS rules are egress). A port
    /// without DNS rules (any more) forwards: there is nothing to enforce at L7.
    ///
    /// Both sides (`SteerInfo.sides`): the client's egress DNS rules decide first. DNS rules exist
    /// only on egress (Cilium rejects them on ingress), so a server whose ingress still has L7
    /// rules on the port has HTTP rules there: one proxy cannot parse the connection as both, so
    /// the query is refused in the ingress side's name (tc drops such flows before steering them;
    /// this covers a policy change in between).
    static func decide(
        _ bytes: UnsafeRawBufferPointer, client: DNSEndpointAddress, server: DNSEndpointAddress,
        proto: UInt8, steer: SteerInfo?, snapshot: PolicySnapshot,
        reject: DNSProxyConfig.RejectResponseCode, now: UInt64
    ) -> DNSQueryDecision {
        let head: QueryHead, qtype: RRType, qclass: RRClass
        switch DNSQueryScreen.screen(bytes) {
        case .refused(let decision): return decision
        case .query(let h, let t, let c): (head, qtype, qclass) = (h, t, c)
        }
        var query = DNSQuery(
            client: client, server: server, proto: proto, steer: steer, originalID: head.id,
            qname: head.lowercasedQuestionName(in: bytes), qtype: qtype.rawValue,
            requestTimeNs: now, qclass: qclass.rawValue)
        guard let steer, !steer.sides.isEmpty else { return .drop(query) }
        let refusal = DNSRejectReply(head: head, rcode: reject == .nameError ? .nxDomain : .refused)
        if steer.sides.contains(.egress) {
            if let policy = snapshot.dnsPolicy(endpointID: steer.sourceEndpoint, port: server.port, proto: proto) {
                let verdict = query.qname.withUnsafeBytes {
                    policy.briefDecision(peerIdentity: steer.destinationIdentity, qname: $0)
                }
                query.policyRef = verdict.policyRef
                if verdict.reason == .peerNotAllowed { return .drop(query) }
                if !verdict.allowed { return .reject(query, refusal) }
            } else if proto == IPProtocol.tcp,
                snapshot.httpPolicy(endpointID: steer.sourceEndpoint, direction: .egress, port: server.port) != nil
            {
                return .reject(query, refusal)
            }
        }
        if steer.sides.contains(.ingress), proto == IPProtocol.tcp,
            snapshot.httpPolicy(endpointID: steer.destinationEndpoint, direction: .ingress, port: server.port) != nil
        {
            query.direction = .ingress
            query.policyRef = 0
            return .reject(query, refusal)
        }
        return .forward(query)
    }
}

/// The reply a denied query gets: its parsed head and the rcode, built only when it is sent
/// (`DNSWorker.act`: over the query's own bytes, `DNSReply.errorInPlace`).
struct DNSRejectReply {
    let head: QueryHead
    let rcode: RCode

    /// The reply as its own array (`DNSReply.error(for:head:rcode:)`), for `queryBytes` of `head`.
    func bytes(for queryBytes: UnsafeRawBufferPointer) -> [UInt8] {
        DNSReply.error(for: queryBytes, head: head, rcode: rcode)
    }
}

/// Per-worker counters of the DNS proxy (loop thread only; read them from that thread).
final class DNSCounters {
    var queries = 0
    var forwarded = 0
    var rejected = 0
    /// Refused UDP queries put into the datapath's deny cache (`DNSWorker.cacheDenial`).
    var denialsCached = 0
    var dropped = 0
    var formatErrors = 0
    /// Queries with an opcode other than QUERY, answered NOTIMP.
    var notImplemented = 0
    var ignored = 0
    /// Upstream silent past the forward timeout: no answer, no flow (like Cilium).
    var timeouts = 0
    /// SERVFAIL answers for proxy-side failures (cannot forward, too many in flight).
    var serverFailures = 0
    var answers = 0
    /// Upstream datagrams that matched no query in flight (late, spoofed or duplicated).
    var unmatchedAnswers = 0
    /// Upstream messages with the ID of a query in flight (and its server's address) whose
    /// question differs from the query's, or that are not a response: discarded, the query
    /// still waits for the genuine answer (`DNSAnswerMatch`).
    var mismatchedAnswers = 0
    var malformedAnswers = 0
    /// DNS-over-TCP connections whose queries stopped being read for a while (too many answers
    /// unread by the client, or too many queries in flight), and those closed because answers
    /// piled up past the bound.
    var tcpPauses = 0
    var tcpOverflowCloses = 0
    /// Answers that could not be sent to the client.
    var replyFailures = 0
}
