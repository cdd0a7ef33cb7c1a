import CSluiceShared
import Flows
import Policy
import SluiceIO

/// The flow records of one HTTP/2 stream: a request flow at the decide phase and a response
/// flow when the response head is known or a local answer is generated, `l7.http.protocol`
/// "HTTP/2", latency on the response (Cilium's access log, cilium-semantics 5.2). Keeps a copy of
/// method, authority and path (cut at the record's field sizes) for the response flow.
///
/// Loop-thread only. With no sink (flows off) every call returns at once.
struct HTTP2StreamRecord {
    private var method: [UInt8] = []
    private var authority: [UInt8] = []
    private var path: [UInt8] = []
    private var requestTimeNs: UInt64 = 0
    private var awaitingResponse = false

    /// The connection's part of every record (addresses, identities, direction).
    static func common(addresses: ConnectionAddresses, steer: SteerInfo?) -> FlowCommon {
        let direction: Flow.TrafficDirection
        switch steer?.direction {
        case .ingress?: direction = .ingress
        case .egress?: direction = .egress
        case nil: direction = .unknown
        }
        return FlowCommon(
            timeNs: 0, verdict: .forwarded, direction: direction, isReply: false,
            srcIP: addresses.clientAddress, dstIP: addresses.originalDestinationAddress,
            srcPort: addresses.clientPort, dstPort: addresses.originalDestinationPort, l4Proto: FlowCommon.tcp,
            srcIdentity: steer?.sourceIdentity ?? 0, dstIdentity: steer?.destinationIdentity ?? 0,
            srcEndpoint: steer?.direction == .egress ? steer?.endpointID ?? 0 : 0,
            dstEndpoint: steer?.direction == .ingress ? steer?.endpointID ?? 0 : 0)
    }

    /// Copies the request facts at the decide phase.
    mutating func begin(_ view: HTTP2RequestView, recording: Bool) {
        requestTimeNs = Clock.monotonicNs()
        awaitingResponse = true
        guard recording else { return }
        method = Array(view.method.prefix(Int(SLUICE_HTTP_METHOD_MAX)))
        authority = Array(view.authority.prefix(Int(SLUICE_HTTP_URL_MAX)))
        path = Array(view.path.prefix(max(0, Int(SLUICE_HTTP_URL_MAX) - authority.count)))
    }

    /// A request that could not be judged (header list too large): empty fields.
    mutating func beginMalformed() {
        requestTimeNs = Clock.monotonicNs()
        awaitingResponse = true
    }

    /// The request flow: FORWARDED when allowed, DROPPED when denied, ERROR when malformed.
    func request(verdict: Flow.Verdict, common: FlowCommon, to flows: FlowSink?) {
        guard let flows else { return }
        var c = common
        c.timeNs = requestTimeNs
        c.verdict = verdict
        c.isReply = false
        write(flows, common: c, type: .request, code: 0, latency: 0)
    }

    /// The response flow (source and destination swapped), always FORWARDED, once per stream.
    mutating func response(code: Int, common: FlowCommon, to flows: FlowSink?) {
        guard awaitingResponse else { return }
        awaitingResponse = false
        guard let flows else { return }
        let now = Clock.monotonicNs()
        var c = common.swapped()
        c.timeNs = now
        c.verdict = .forwarded
        c.isReply = true
        write(flows, common: c, type: .response, code: UInt16(clamping: code), latency: now &- requestTimeNs)
    }

    /// No rule admits the peer on this port: an L3/L4 policy drop (reason 133, Policy denied).
    func policyDrop(common: FlowCommon, to flows: FlowSink?) {
        guard let flows else { return }
        var c = common
        c.timeNs = requestTimeNs
        c.dropReason = DropReason.policyDenied
        c.tcpFlags = [.syn]
        flows.append { rec in FlowRecordWriter.writeL3L4Drop(rec, common: c) }
    }

    private func write(_ flows: FlowSink, common c: FlowCommon, type: Flow.L7FlowType, code: UInt16, latency: UInt64) {
        method.withUnsafeBytes { m in
            authority.withUnsafeBytes { a in
                path.withUnsafeBytes { p in
                    flows.append { rec in
                        FlowRecordWriter.writeHTTP(rec, common: c, l7Type: type, method: m, scheme: "http",
                                                   authority: a, path: p, code: code, latencyNs: latency,
                                                   proto: .http2)
                    }
                }
            }
        }
    }
}
