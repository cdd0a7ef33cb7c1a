import CSluiceShared
import Flows
import Policy
import SluiceIO

/// The flow records of one HTTP/2 stream: request flows at the decide phase and response flows
/// when the response head is known or a local answer is generated, `l7.http.protocol`
/// "HTTP/2", latency on the response (Cilium's access log, cilium-semantics 5.2); one of each per
/// side that decided the stream (`SideVerdicts`, like `HTTPFlowRecorder`). Keeps a copy of
/// method, authority and path (cut at the record's field sizes) for the response flows.
///
/// Loop-thread only. With no sink (flows off) every call returns at once.
struct HTTP2StreamRecord {
    private var method: [UInt8] = []
    private var authority: [UInt8] = []
    private var path: [UInt8] = []
    private var requestTimeNs: UInt64 = 0
    private var awaitingResponse = false
    /// Directions (bit = `Flow.TrafficDirection.rawValue`) that wrote a request flow.
    private var recorded: UInt8 = 0

    /// The connection's part of every record (addresses, both identities and endpoints; the
    /// direction of the first side, used when no side decided).
    static func common(addresses: ConnectionAddresses, steer: SteerInfo?) -> FlowCommon {
        let direction: Flow.TrafficDirection
        switch steer?.firstDirection {
        case .ingress?: direction = .ingress
        case .egress?: direction = .egress
        case nil: direction = .unknown
        }
        return FlowCommon(
            timeNs: 0, verdict: .forwarded, direction: direction, isReply: false,
            srcIP: addresses.clientAddress, dstIP: addresses.originalDestinationAddress,
            srcPort: addresses.clientPort, dstPort: addresses.originalDestinationPort, l4Proto: FlowCommon.tcp,
            srcIdentity: steer?.sourceIdentity ?? 0, dstIdentity: steer?.destinationIdentity ?? 0,
            srcEndpoint: steer?.sourceEndpoint ?? 0, dstEndpoint: steer?.destinationEndpoint ?? 0)
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

    /// The request flows of a decided stream, per side that saw it (see `HTTPFlowRecorder.decided`).
    mutating func decided(_ sides: SideVerdicts, common: FlowCommon, to flows: FlowSink?) {
        if sides.unsteered {
            policyDrop(direction: .unknown, common: common, to: flows)
            return
        }
        if let egress = sides.egress { side(.egress, egress, common: common, to: flows) }
        if let ingress = sides.ingress { side(.ingress, ingress, common: common, to: flows) }
    }

    private mutating func side(_ direction: Flow.TrafficDirection, _ verdict: Verdict, common: FlowCommon,
                               to flows: FlowSink?) {
        if verdict.reason == .peerNotAllowed {
            policyDrop(direction: direction, common: common, to: flows)
        } else {
            request(verdict: verdict.allowed ? .forwarded : .dropped, direction: direction, policyID: verdict.policyRef,
                    common: common, to: flows)
        }
    }

    /// One request flow: FORWARDED when allowed, DROPPED when denied, ERROR when malformed;
    /// `direction` nil = the connection's first side.
    mutating func request(verdict: Flow.Verdict, direction: Flow.TrafficDirection? = nil, policyID: UInt32 = 0,
                          common: FlowCommon, to flows: FlowSink?) {
        var c = common
        c.direction = direction ?? common.direction
        recorded |= 1 << c.direction.rawValue
        guard let flows else { return }
        c.timeNs = requestTimeNs
        c.verdict = verdict
        c.isReply = false
        write(flows, common: c, type: .request, code: 0, latency: 0, policyID: policyID)
    }

    /// The response flows (source and destination swapped), always FORWARDED, once per stream and
    /// side that wrote a request flow, ingress first.
    mutating func response(code: Int, common: FlowCommon, to flows: FlowSink?) {
        guard awaitingResponse else { return }
        awaitingResponse = false
        guard let flows else { return }
        let now = Clock.monotonicNs()
        for direction in Self.responseOrder where recorded & 1 << direction.rawValue != 0 {
            var c = common.swapped()
            c.timeNs = now
            c.verdict = .forwarded
            c.direction = direction
            c.isReply = true
            write(flows, common: c, type: .response, code: UInt16(clamping: code), latency: now &- requestTimeNs,
                  policyID: 0)
        }
    }

    /// The order response flows are written in: the way the answer passes Cilium's two proxies.
    private static let responseOrder: [Flow.TrafficDirection] = [.ingress, .egress, .unknown]

    /// No rule admits the peer on this port on `direction`'s side: an L3/L4 policy drop (reason
    /// 133, Policy denied).
    func policyDrop(direction: Flow.TrafficDirection, common: FlowCommon, to flows: FlowSink?) {
        guard let flows else { return }
        var c = common
        c.timeNs = requestTimeNs
        c.direction = direction
        c.dropReason = DropReason.policyDenied
        c.tcpFlags = [.syn]
        flows.append { rec in FlowRecordWriter.writeL3L4Drop(rec, common: c) }
    }

    private func write(_ flows: FlowSink, common c: FlowCommon, type: Flow.L7FlowType, code: UInt16, latency: UInt64,
                       policyID: UInt32) {
        method.withUnsafeBytes { m in
            authority.withUnsafeBytes { a in
                path.withUnsafeBytes { p in
                    flows.append { rec in
                        FlowRecordWriter.writeHTTP(rec, common: c, l7Type: type, method: m, scheme: "http",
                                                   authority: a, path: p, code: code, latencyNs: latency,
                                                   proto: .http2, policyID: policyID)
                    }
                }
            }
        }
    }
}
