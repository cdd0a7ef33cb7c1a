import CSluiceShared
import Flows
import Policy
import SluiceIO

/// Writes the flow records of one HTTP/1 connection: a request flow at the decide phase and a
/// response flow when the response head is known (or a local answer is generated), as Cilium's
/// access log does. It keeps a copy of the request's method, authority and path (bounded by the
/// record's own field sizes) because the request bytes are gone by the time the response comes.
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

    private static let methodCapacity = Int(SLUICE_HTTP_METHOD_MAX)
    private static let urlCapacity = Int(SLUICE_HTTP_URL_MAX)

    init(flows: FlowSink?, addresses: ConnectionAddresses, steer: SteerInfo?) {
        self.flows = flows
        let direction: Flow.TrafficDirection
        switch steer?.direction {
        case .ingress?: direction = .ingress
        case .egress?: direction = .egress
        case nil: direction = .unknown
        }
        common = FlowCommon(
            timeNs: 0, verdict: .forwarded, direction: direction, isReply: false,
            srcIP: addresses.clientAddress, dstIP: addresses.originalDestinationAddress,
            srcPort: addresses.clientPort, dstPort: addresses.originalDestinationPort, l4Proto: FlowCommon.tcp,
            srcIdentity: steer?.sourceIdentity ?? 0, dstIdentity: steer?.destinationIdentity ?? 0,
            srcEndpoint: steer?.direction == .egress ? steer?.endpointID ?? 0 : 0,
            dstEndpoint: steer?.direction == .ingress ? steer?.endpointID ?? 0 : 0)
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

    /// The request flow: FORWARDED when allowed, DROPPED when denied (Cilium's "Denied" entry).
    func request(verdict: Flow.Verdict) {
        guard let flows else { return }
        var c = common
        c.timeNs = requestTimeNs
        c.verdict = verdict
        c.isReply = false
        let (m, a, p, proto) = (method, authority, path, proto)
        flows.append { rec in
            FlowRecordWriter.writeHTTP(rec, common: c, l7Type: .request, method: m, scheme: "http",
                                       authority: a, path: p, code: 0, latencyNs: 0, proto: proto)
        }
    }

    /// The response flow (source and destination swapped, `is_reply` true), always FORWARDED:
    /// a 403 is a response the proxy forwards to the client.
    func response(code: UInt16) {
        guard inRequest else { return }
        inRequest = false
        guard let flows else { return }
        let now = Clock.monotonicNs()
        var c = common.swapped()
        c.timeNs = now
        c.verdict = .forwarded
        c.isReply = true
        let latency = now &- requestTimeNs
        let (m, a, p, proto) = (method, authority, path, proto)
        flows.append { rec in
            FlowRecordWriter.writeHTTP(rec, common: c, l7Type: .response, method: m, scheme: "http",
                                       authority: a, path: p, code: code, latencyNs: latency, proto: proto)
        }
    }

    /// A request that could not be parsed: an ERROR request flow (its response flow follows).
    func malformedRequest() {
        requestTimeNs = Clock.monotonicNs()
        inRequest = true
        methodLength = 0
        authorityLength = 0
        pathLength = 0
        request(verdict: .error)
    }

    /// No rule admits the peer on this port: an L3/L4 policy drop (reason 133, Policy denied).
    func policyDrop() {
        inRequest = false
        guard let flows else { return }
        var c = common
        c.timeNs = requestTimeNs
        c.dropReason = DropReason.policyDenied
        c.tcpFlags = [.syn]
        flows.append { rec in FlowRecordWriter.writeL3L4Drop(rec, common: c) }
    }
}
