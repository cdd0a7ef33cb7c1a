import CSluiceShared
import Flows
import Policy
import SluiceIO

/// Writes the flow records of one HTTP/1 connection: request flows at the decide phase and
/// response flows when the response head is known (or a local answer is generated), as Cilium's
/// access log does. A request decided on both sides (`SideVerdicts`) gets a request flow per side
/// that saw it (egress, then ingress) and a response flow per such side (ingress, then egress: the
/// order the answer passes Cilium's two proxies), each with its side's `traffic_direction`; every
/// record carries both endpoints and both identities. It keeps a copy of the request's method,
/// authority and path (bounded by the record's own field sizes) because the request bytes are
/// gone by the time the response comes.
///
/// Loop-thread only. With no sink (flows off) every call returns at once.
final class HTTPFlowRecorder {
    private let flows: FlowSink?
    private var common: FlowCommon
    private let text: UnsafeMutableRawPointer
    private var methodLength = 0
    private var authorityLength = 0
    private var pathLength = 0
    private var requestTimeNs: UInt64 = 0
    private var proto: Flow.L7Protocol = .http11
    private var inRequest = false
    /// Directions (bit = `Flow.TrafficDirection.rawValue`) that wrote a request flow for the
    /// current request: each writes its response flow.
    private var recorded: UInt8 = 0
    /// The direction of a request flow when no side decided (malformed requests).
    private let firstDirection: Flow.TrafficDirection

    private static let methodCapacity = Int(SLUICE_HTTP_METHOD_MAX)
    private static let urlCapacity = Int(SLUICE_HTTP_URL_MAX)

    init(flows: FlowSink?, addresses: ConnectionAddresses, steer: SteerInfo?) {
        self.flows = flows
        firstDirection = steer.map { $0.firstDirection == .egress ? .egress : .ingress } ?? .unknown
        common = FlowCommon(
            timeNs: 0, verdict: .forwarded, direction: firstDirection, isReply: false,
            srcIP: addresses.clientAddress, dstIP: addresses.originalDestinationAddress,
            srcPort: addresses.clientPort, dstPort: addresses.originalDestinationPort, l4Proto: FlowCommon.tcp,
            srcIdentity: steer?.sourceIdentity ?? 0, dstIdentity: steer?.destinationIdentity ?? 0,
            srcEndpoint: steer?.sourceEndpoint ?? 0, dstEndpoint: steer?.destinationEndpoint ?? 0)
        text = flows == nil
            ? UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)
            : UnsafeMutableRawPointer.allocate(byteCount: Self.methodCapacity + Self.urlCapacity, alignment: 8)
    }

    deinit { text.deallocate() }

    private var method: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: text, count: methodLength) }
    private var authority: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: text + Self.methodCapacity, count: authorityLength)
    }
    private var path: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: text + Self.methodCapacity + authorityLength, count: pathLength)
    }

    /// Copies the request facts; called at the decide phase while the head bytes are intact.
    func beginRequest(view: RequestView, versionMinor: UInt8) {
        requestTimeNs = Clock.monotonicNs()
        inRequest = true
        recorded = 0
        guard flows != nil else { return }
        proto = versionMinor == 0 ? .http10 : .http11
        methodLength = min(view.method.count, Self.methodCapacity)
        if methodLength > 0, let src = view.method.baseAddress { text.copyMemory(from: src, byteCount: methodLength) }
        authorityLength = min(view.authority.count, Self.urlCapacity)
        if authorityLength > 0, let src = view.authority.baseAddress {
            (text + Self.methodCapacity).copyMemory(from: src, byteCount: authorityLength)
        }
        pathLength = min(view.path.count, Self.urlCapacity - authorityLength)
        if pathLength > 0, let src = view.path.baseAddress {
            (text + Self.methodCapacity + authorityLength).copyMemory(from: src, byteCount: pathLength)
        }
    }

    /// The request flows of a decided request: per side that saw it, FORWARDED when that side
    /// allowed, DROPPED when it denied (Cilium's "Denied" entry), naming the policy that decided;
    /// a side whose rules admit the peer not at all writes the L3/L4 drop instead.
    func decided(_ sides: SideVerdicts) {
        if sides.unsteered {
            policyDrop(direction: .unknown)
            return
        }
        if let egress = sides.egress { side(.egress, egress) }
        if let ingress = sides.ingress { side(.ingress, ingress) }
    }

    private func side(_ direction: Flow.TrafficDirection, _ verdict: Verdict) {
        if verdict.reason == .peerNotAllowed {
            policyDrop(direction: direction)
        } else {
            request(verdict: verdict.allowed ? .forwarded : .dropped, direction: direction, policyID: verdict.policyRef)
        }
    }

    /// The request flow of a request answered before any rule judged it (400/414/431, or 307
    /// to the unescaped path): `verdict` on the first side whose rules apply (`sides`), egress
    /// when both do, with no policy.
    func rejected(verdict: Flow.Verdict, sides: SteerInfo.Sides?) {
        let direction: Flow.TrafficDirection = sides?.contains(.egress) ?? true ? .egress : .ingress
        request(verdict: verdict, direction: direction, policyID: 0)
    }

    /// One request flow.
    private func request(verdict: Flow.Verdict, direction: Flow.TrafficDirection, policyID: UInt32) {
        recorded |= 1 << direction.rawValue
        guard let flows else { return }
        var c = common
        c.timeNs = requestTimeNs
        c.verdict = verdict
        c.direction = direction
        c.isReply = false
        let (m, a, p, proto) = (method, authority, path, proto)
        flows.append { rec in
            FlowRecordWriter.writeHTTP(rec, common: c, l7Type: .request, method: m, scheme: "http",
                                       authority: a, path: p, code: 0, latencyNs: 0, proto: proto, policyID: policyID)
        }
    }

    /// The response flows (source and destination swapped, `is_reply` true), always FORWARDED: a
    /// 403 is a response the proxy forwards to the client. One per side that wrote a request
    /// flow, ingress first.
    /// `failure`: the peer whose failed connection this local answer reports (a 503 after the
    /// upstream refused or reset), carried in the record.
    func response(code: UInt16, failure: PeerClose? = nil) {
        guard inRequest else { return }
        inRequest = false
        responses(code: code, verdict: .forwarded, failure: failure)
    }

    /// The exchange in progress ended because a peer's connection failed (`failure`: side and
    /// errno): ERROR response flows, one per side that wrote a request flow, with the relayed
    /// response's status as `code` (0 when none had begun). After a response flow was written
    /// too, since the failure cut that response short.
    func connectionFailed(_ failure: PeerClose, code: UInt16) {
        inRequest = false
        responses(code: code, verdict: .error, failure: failure)
    }

    private func responses(code: UInt16, verdict: Flow.Verdict, failure: PeerClose?) {
        guard let flows else { return }
        let now = Clock.monotonicNs()
        if recorded & 1 << Flow.TrafficDirection.ingress.rawValue != 0 {
            response(flows, code, .ingress, now, verdict, failure)
        }
        if recorded & 1 << Flow.TrafficDirection.egress.rawValue != 0 {
            response(flows, code, .egress, now, verdict, failure)
        }
        if recorded & 1 << Flow.TrafficDirection.unknown.rawValue != 0 {
            response(flows, code, .unknown, now, verdict, failure)
        }
    }

    private func response(_ flows: FlowSink, _ code: UInt16, _ direction: Flow.TrafficDirection, _ now: UInt64,
                          _ verdict: Flow.Verdict, _ failure: PeerClose?) {
        var c = common.swapped()
        c.timeNs = now
        c.verdict = verdict
        c.direction = direction
        c.isReply = true
        let latency = now &- requestTimeNs
        let (m, a, p, proto) = (method, authority, path, proto)
        flows.append { rec in
            FlowRecordWriter.writeHTTP(rec, common: c, l7Type: .response, method: m, scheme: "http",
                                       authority: a, path: p, code: code, latencyNs: latency, proto: proto)
            if let failure {
                FlowRecordWriter.setHTTPConnectionError(rec, side: failure.side.rawValue, errno: failure.errno)
            }
        }
    }

    /// A request that could not be parsed: an ERROR request flow (its response flow follows).
    func malformedRequest() {
        requestTimeNs = Clock.monotonicNs()
        inRequest = true
        recorded = 0
        methodLength = 0
        authorityLength = 0
        pathLength = 0
        request(verdict: .error, direction: firstDirection, policyID: 0)
    }

    /// No rule admits the peer on this port on `direction`'s side: an L3/L4 policy drop (reason
    /// 133, Policy denied).
    func policyDrop(direction: Flow.TrafficDirection) {
        inRequest = false
        guard let flows else { return }
        var c = common
        c.timeNs = requestTimeNs
        c.direction = direction
        c.dropReason = DropReason.policyDenied
        c.tcpFlags = [.syn]
        flows.append { rec in FlowRecordWriter.writeL3L4Drop(rec, common: c) }
    }
}
