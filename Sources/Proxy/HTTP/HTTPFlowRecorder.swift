import CSluiceShared
import Flows
import Policy
import SluiceIO

/// Writes the flow records of HTTP requests, for HTTP/1 (one recorder per connection, reused
/// request after request) and HTTP/2 (one per stream) alike: request flows at the decide phase
/// and response flows when the response head is known (or a local answer is generated), as
/// Cilium's access log does.
///
/// A request decided on both sides (`HTTPVerdict`) gets a request flow per side that saw it
/// (egress, then ingress) and a response flow per such side (ingress, then egress: the order the
/// answer passes Cilium's two proxies), each with its side's `traffic_direction`. Each request
/// flow carries its side's whole verdict: FORWARDED or DROPPED, the policy that decided
/// (`policy_id`, printed as `*_allowed_by` / `*_denied_by`), the reason and the header actions
/// (`Flow.L7Verdict`); a side that admits the peer not at all writes the L3/L4 drop instead.
/// Every record carries both endpoints and both identities. The recorder keeps a copy of the
/// request's method, authority and path (bounded by the record's own field sizes) because the
/// request bytes are gone by the time the response comes, and its headers packed and redacted
/// as the request record carries them (`HTTPHeaderRecord`, `FlowRedaction.current`).
///
/// Loop-thread only. With no sink (flows off) every call returns at once; while `FlowRecording`
/// is paused a request decided then writes no flow (read once per request, at `beginRequest`, so
/// a request writes its request and response flows or neither).
final class HTTPFlowRecorder {
    /// The sink. Called as `flows?.append` on this `let`, which the compiler borrows from the
    /// recorder: `guard let flows` (or an `unowned(unsafe)` copy) made it retain and release the
    /// sink around every record, two atomic operations that waited for the record's stores to the
    /// ring (docs/performance.md, s18-own and s19-own).
    private let flows: FlowSink?
    /// Whether there is a sink (flows on), tested without touching it.
    private let recording: Bool
    /// The agent's pause switch (`sluice flows pause`).
    private let recordingSwitch: FlowRecording
    /// Whether the current request writes its flows: a sink, and recording on when it began.
    private var active = false
    /// The connection's part of every record; its direction is the first side's (used when no
    /// side decided: malformed or rejected requests).
    private let common: FlowCommon
    /// `common` as response flows carry it (`swapped()`), built once: the records take both as
    /// stored, with their time, verdict and direction given apart (`FlowRecordWriter.writeHTTP`).
    private let replyCommon: FlowCommon
    private let text: UnsafeMutableRawPointer
    /// The current request's headers as its request records carry them.
    private var headers: HTTPHeaderRecord.Packer
    private var methodLength = 0
    private var authorityLength = 0
    private var pathLength = 0
    private var requestTimeNs: UInt64 = 0
    private var proto: Flow.L7Protocol
    /// `https` on intercepted TLS connections (Sources/Proxy/TLS).
    var scheme: StaticString = "http"
    private var awaitingResponse = false
    /// Directions (bit = `Flow.TrafficDirection.rawValue`) that wrote a request flow for the
    /// current request: each writes its response flow.
    private var recorded: UInt8 = 0

    private static let noRedaction = FlowRedaction()
    private static let methodCapacity = Int(SLUICE_HTTP_METHOD_MAX)
    private static let urlCapacity = Int(SLUICE_HTTP_URL_MAX)

    /// A recorder for the requests of the connection `common` describes (`FlowCommon.proxied`).
    init(flows: FlowSink?, recording: FlowRecording = FlowRecording(), common: FlowCommon, proto: Flow.L7Protocol) {
        self.flows = flows
        self.recording = flows != nil
        recordingSwitch = recording
        self.common = common
        replyCommon = common.swapped()
        self.proto = proto
        text =
            flows == nil
            ? UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)
            : UnsafeMutableRawPointer.allocate(
                byteCount: Self.methodCapacity + Self.urlCapacity + HTTPHeaderRecord.capacity, alignment: 8)
        headers = HTTPHeaderRecord.Packer(base: text + (flows == nil ? 0 : Self.methodCapacity + Self.urlCapacity))
    }

    /// A recorder for the TCP connection `addresses` / `steer` describe.
    convenience init(
        flows: FlowSink?, recording: FlowRecording = FlowRecording(), addresses: ConnectionAddresses,
        steer: SteerInfo?, proto: Flow.L7Protocol = .http11
    ) {
        self.init(
            flows: flows, recording: recording, common: Self.common(addresses: addresses, steer: steer), proto: proto)
    }

    deinit { text.deallocate() }

    /// The connection's part of every record.
    static func common(addresses: ConnectionAddresses, steer: SteerInfo?) -> FlowCommon {
        FlowCommon.proxied(
            clientAddress: addresses.clientAddress, clientPort: addresses.clientPort,
            serverAddress: addresses.originalDestinationAddress,
            serverPort: addresses.originalDestinationPort, l4Proto: FlowCommon.tcp,
            direction: FlowCommon.firstDirection(steer), steer: steer)
    }

    private var method: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: text, count: methodLength) }
    private var authority: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: text + Self.methodCapacity, count: authorityLength)
    }
    private var path: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: text + Self.methodCapacity + authorityLength, count: pathLength)
    }

    /// Copies the request facts; called at the decide phase while the request's bytes are intact.
    func beginRequest<R: HTTPRequestFields>(_ view: R) {
        requestTimeNs = SystemClock.monotonicNs()
        awaitingResponse = true
        recorded = 0
        active = recording && recordingSwitch.isOn
        guard active else { return }
        methodLength = copy(view.method, at: 0, capacity: Self.methodCapacity)
        authorityLength = copy(view.authority, at: Self.methodCapacity, capacity: Self.urlCapacity)
        pathLength = copy(
            view.path, at: Self.methodCapacity + authorityLength,
            capacity: Self.urlCapacity - authorityLength)
        headers.reset()
        // The agent's redaction is copied (its header lists retained) only when it is on; off,
        // the packer gets an immutable value that needs no copy.
        if FlowRedaction.current.enabled {
            let redaction = FlowRedaction.current
            view.forEachHeader { name, value in headers.append(name: name, value: value, redaction: redaction) }
        } else {
            view.forEachHeader { name, value in headers.append(name: name, value: value, redaction: Self.noRedaction) }
        }
    }

    /// HTTP/1: copies the request facts and the protocol version of the head.
    func beginRequest(view: RequestView, versionMinor: UInt8) {
        proto = versionMinor == 0 ? .http10 : .http11
        beginRequest(view)
    }

    /// A request that could not be parsed or judged: empty method, authority and path.
    func beginMalformed() {
        requestTimeNs = SystemClock.monotonicNs()
        awaitingResponse = true
        recorded = 0
        active = recording && recordingSwitch.isOn
        methodLength = 0
        authorityLength = 0
        pathLength = 0
        headers.reset()
    }

    private func copy(_ source: UnsafeRawBufferPointer, at offset: Int, capacity: Int) -> Int {
        let n = min(source.count, capacity)
        if n > 0, let from = source.baseAddress { (text + offset).copyMemory(from: from, byteCount: n) }
        return n
    }

    /// The request flows of a decided request: per side that saw it, FORWARDED when that side
    /// allowed, DROPPED when it denied (Cilium's "Denied" entry), with that side's policy, reason
    /// and header actions; a side whose rules admit the peer not at all, or a connection nothing
    /// steered, writes the L3/L4 drop instead. Inlined: called, it took the verdict in two
    /// registers that the caller assembled on the stack byte by byte and loaded back as words, a
    /// store-forwarding stall (a third of `HTTP1Connection.decide`'s samples, docs/performance.md
    /// s23-own).
    @inline(__always)
    func decided(_ verdict: HTTPVerdict) {
        if verdict.unsteered {
            policyDrop(direction: .unknown)
            return
        }
        if let egress = verdict.egress { side(.egress, egress) }
        if let ingress = verdict.ingress { side(.ingress, ingress) }
    }

    private func side(_ direction: Flow.TrafficDirection, _ side: HTTPVerdict.Side) {
        if side.reason == .peerNotAllowed {
            policyDrop(direction: direction)
        } else {
            request(
                verdict: side.allowed ? .forwarded : .dropped, direction: direction, policyID: side.policyRef,
                detail: side.recorded)
        }
    }

    /// The request flow of a request answered before any rule judged it (400/414/431, or 307 to
    /// the unescaped path): `verdict` on the connection's first side, with no policy.
    func rejected(verdict: Flow.Verdict) {
        request(verdict: verdict, direction: common.direction, policyID: 0, detail: nil)
    }

    /// A request that could not be parsed: an ERROR request flow with empty fields (its response
    /// flow follows).
    func malformedRequest() {
        beginMalformed()
        rejected(verdict: .error)
    }

    /// One request flow.
    private func request(
        verdict: Flow.Verdict, direction: Flow.TrafficDirection, policyID: UInt32,
        detail: Flow.L7Verdict?
    ) {
        recorded |= 1 << direction.rawValue
        guard active else { return }
        let (m, a, p, proto, h, scheme, time) = (method, authority, path, proto, headers, scheme, requestTimeNs)
        flows?.append { rec in
            FlowRecordWriter.writeHTTP(
                rec, common: common, timeNs: time, flowVerdict: verdict, direction: direction, l7Type: .request,
                method: m, scheme: scheme, authority: a, path: p, code: 0, latencyNs: 0, proto: proto,
                policyID: policyID, verdict: detail, headers: h)
        }
    }

    /// The response flows (source and destination swapped, `is_reply` true), always FORWARDED: a
    /// 403 is a response the proxy forwards to the client. One per side that wrote a request
    /// flow, ingress first; once per request. `failure`: the peer whose failed connection this
    /// local answer reports (a 503 after the upstream refused or reset), carried in the record.
    func response(code: UInt16, failure: PeerClose? = nil) {
        guard awaitingResponse else { return }
        awaitingResponse = false
        responses(code: code, verdict: .forwarded, failure: failure)
    }

    /// The exchange in progress ended because a peer's connection failed (`failure`: side and
    /// errno): ERROR response flows, one per side that wrote a request flow, with the relayed
    /// response's status as `code` (0 when none had begun). Also after a response flow was
    /// written, since the failure cut that response short.
    func connectionFailed(_ failure: PeerClose, code: UInt16) {
        awaitingResponse = false
        responses(code: code, verdict: .error, failure: failure)
    }

    private func responses(code: UInt16, verdict: Flow.Verdict, failure: PeerClose?) {
        guard active else { return }
        let now = SystemClock.monotonicNs()
        let latency = now &- requestTimeNs
        let (m, a, p, proto, scheme) = (method, authority, path, proto, scheme)
        // Ingress, egress, unknown: the order the answer passes Cilium's two proxies. Three
        // checks, not a loop over a static array (a global's lazy initialiser and a retain of its
        // buffer on every response).
        func write(_ direction: Flow.TrafficDirection) {
            guard recorded & 1 << direction.rawValue != 0 else { return }
            flows?.append { rec in
                FlowRecordWriter.writeHTTP(
                    rec, common: replyCommon, timeNs: now, flowVerdict: verdict, direction: direction,
                    l7Type: .response, method: m, scheme: scheme, authority: a, path: p, code: code,
                    latencyNs: latency, proto: proto)
                if let failure {
                    FlowRecordWriter.setHTTPConnectionError(rec, side: failure.side.rawValue, errno: failure.errno)
                }
            }
        }
        write(.ingress)
        write(.egress)
        write(.unknown)
    }

    /// No rule admits the peer on this port on `direction`'s side: an L3/L4 policy drop (reason
    /// 133, Policy denied) of the connection's SYN. No response flow follows.
    func policyDrop(direction: Flow.TrafficDirection) {
        awaitingResponse = false
        guard active, let flows else { return }
        var c = common
        c.timeNs = requestTimeNs
        c.direction = direction
        c.tcpFlags = [.syn]
        flows.appendPolicyDrop(c)
    }
}
