public import CSluiceShared
public import Flows
import SluiceModel

/// The framed `GetFlowsResponse{flow}` of a ring record, encoded straight from the record (bpf's
/// `struct sluice_flow` as `FlowRecordWriter` writes it) without building a `Flow`: the same bytes
/// as decoding the record (`Flow.decode`, the reader's uuid, emitter and node name) and encoding
/// the flow (`GetFlowsResponse.framedFlow`), which `FlowRecordProtoTests` and the observer's
/// `FollowStreamTests` hold equal on seeded records of every kind.
///
/// One encoder per decode context (the endpoint directory, the ring's uuid seed, the node name):
/// the `Endpoint` messages (labels, namespace, pod name) are kept as ready bytes per endpoint ID,
/// identity and address, the policies' messages per policy reference, the L3/L4 summaries per
/// protocol and flags. A record of a kind it does not cover (DNS, HTTP text that is not ASCII) is
/// answered nil, and the caller takes the decoded path (`covers`). Not thread-safe.
public final class FlowRecordProto {
    public let directory: EndpointDirectory
    public let seed: String
    /// The node name every flow carries (the decode context's).
    public let nodeName: String
    private let seedHash: UInt64

    private struct EndpointKey: Hashable {
        var id: UInt32
        var identity: UInt32
        var ipv4: UInt32
        var byAddress: Bool
    }
    private struct EndpointBytes {
        var bytes: [UInt8]
        var hasPod: Bool
    }
    private var endpoints: [EndpointKey: EndpointBytes] = [:]
    /// The last source and destination looked up (a stream of flows between the same two pods
    /// skips the dictionary).
    private var lastSource: (key: EndpointKey, entry: EndpointBytes)?
    private var lastDestination: (key: EndpointKey, entry: EndpointBytes)?
    private var policies: [UInt32: [UInt8]] = [:]
    private var l3l4Summaries: [UInt32: [UInt8]] = [:]
    private var emitter: [UInt8] = []
    /// The buffer every unmasked response is written into (its bytes copied out once, exactly sized).
    private let scratch = ProtoBuffer(capacity: 1024)
    /// Records encoded here, and records answered nil (a test counts both).
    public private(set) var encoded = 0
    public private(set) var declined = 0

    /// Caches are dropped when they hold this many entries (a directory names at most a few
    /// thousand endpoints; peers by identity are as many as identities seen).
    static let cacheLimit = 4096

    /// What the caller made this encoder for (the observer's decode context), kept to tell when a
    /// new one is due.
    public let owner: AnyObject?

    public init(directory: EndpointDirectory, seed: String, nodeName: String, owner: AnyObject? = nil) {
        self.owner = owner
        self.directory = directory
        self.seed = seed
        self.nodeName = nodeName
        seedHash = FlowUUID.seedHash(seed)
        var w = ProtoWriter()
        w.string(1, Flow.Emitter.sluice.name)
        w.string(2, Flow.Emitter.sluice.version)
        emitter = w.bytes
    }

    /// Whether `encode` takes this record (else the caller decodes it): HTTP and TLS records whose
    /// method and url are ASCII, L7 records without a protocol, every L3/L4 record; not DNS.
    public static func covers(_ rec: UnsafePointer<sluice_flow>) -> Bool {
        guard rec.pointee.flow_type == Flow.FlowType.l7.rawValue else { return true }
        switch Flow.L7Protocol(rawValue: rec.pointee.l7_proto) ?? .none {
        case .none: return true
        case .dns: return false
        case .http10, .http11, .http2, .tls:
            return isASCII(method(rec)) && isASCII(url(rec))
        }
    }

    /// The framed response (gRPC prefix, `flow`, `node_name`, `time`); nil when the record is not
    /// one this encoder covers. `mask`, when active, keeps only its fields of the flow.
    public func framed(
        _ rec: UnsafePointer<sluice_flow>, seq: UInt64, wallOffsetNs: Int64, mask: FlowProtoMask? = nil
    ) -> [UInt8]? {
        guard Self.covers(rec) else {
            declined += 1
            return nil
        }
        encoded += 1
        let time = Flow.Timestamp(nanosecondsSinceEpoch: Int64(bitPattern: rec.pointee.time_ns) &+ wallOffsetNs)
        var w = ProtoWriter(reusing: scratch)
        w.startGRPCFrame()
        if let mask, mask.isActive {
            var flow = ProtoWriter(capacity: 1024)
            encodeFlow(rec, seq: seq, time: time, into: &flow)
            w.message(1) { mask.apply(to: flow.bytes[...], into: &$0) }
        } else {
            w.message(1) { encodeFlow(rec, seq: seq, time: time, into: &$0) }
        }
        w.string(1000, nodeName)
        w.timestamp(1001, seconds: time.seconds, nanos: time.nanos)
        w.finishGRPCFrame()
        return w.bytes
    }

    // MARK: the flow message, in FlowProto.encode's field order

    private func encodeFlow(
        _ p: UnsafePointer<sluice_flow>, seq: UInt64, time: Flow.Timestamp, into w: inout ProtoWriter
    ) {
        // Fields are read through the pointer: no copy of the 1 KiB record.
        let type = Flow.FlowType(rawValue: p.pointee.flow_type) ?? .unknown
        let verdict = Flow.Verdict(rawValue: p.pointee.verdict) ?? .unknown
        let direction = TrafficDirection(c: p.pointee.direction)
        let isL7 = type == .l7
        let l7Proto = isL7 ? (Flow.L7Protocol(rawValue: p.pointee.l7_proto) ?? .none) : .none
        w.timestamp(1, seconds: time.seconds, nanos: time.nanos)
        w.uint(2, UInt64(verdict.rawValue))
        w.uint(3, UInt64(p.pointee.drop_reason))
        let v4 = p.pointee.ip_version == 4
        let srcIPv4 = UnsafeRawPointer(p).load(fromByteOffset: Self.srcIPOffset, as: UInt32.self)
        let dstIPv4 = UnsafeRawPointer(p).load(fromByteOffset: Self.dstIPOffset, as: UInt32.self)
        if p.pointee.ip_version == 4 || p.pointee.ip_version == 6 {
            w.message(5) {
                if v4 {
                    $0.string(1, IPv4Address(networkOrder: srcIPv4).description)
                    $0.string(2, IPv4Address(networkOrder: dstIPv4).description)
                } else {
                    $0.string(1, withUnsafeBytes(of: p.pointee.src_ip) { IPv6Address(bytes: $0)?.description ?? "" })
                    $0.string(2, withUnsafeBytes(of: p.pointee.dst_ip) { IPv6Address(bytes: $0)?.description ?? "" })
                }
                $0.uint(3, UInt64(v4 ? Flow.IPVersion.ipv4.rawValue : Flow.IPVersion.ipv6.rawValue))
            }
        }
        let l4 = layer4(p)
        if l4 != .none {
            w.message(6) { m in
                switch l4 {
                case .tcp:
                    m.message(1) {
                        $0.uint(1, UInt64(p.pointee.src_port))
                        $0.uint(2, UInt64(p.pointee.dst_port))
                        if !isL7 {
                            $0.message(3) { f in
                                for (i, bit) in Self.tcpFlagOrder.enumerated() {
                                    f.bool(i + 1, p.pointee.tcp_flags & bit != 0)
                                }
                            }
                        }
                    }
                case .udp, .sctp:
                    m.message(l4 == .udp ? 2 : 5) {
                        $0.uint(1, UInt64(p.pointee.src_port))
                        $0.uint(2, UInt64(p.pointee.dst_port))
                    }
                case .icmpv4, .icmpv6:
                    m.message(l4 == .icmpv4 ? 3 : 4) {
                        $0.uint(1, UInt64(p.pointee.icmp_type))
                        $0.uint(2, UInt64(p.pointee.icmp_code))
                    }
                case .none: break
                }
            }
        }
        let source = endpoint(
            id: p.pointee.src_endpoint, identity: p.pointee.src_identity, ipv4: v4 ? srcIPv4 : nil, memo: &lastSource)
        let destination = endpoint(
            id: p.pointee.dst_endpoint, identity: p.pointee.dst_identity, ipv4: v4 ? dstIPv4 : nil,
            memo: &lastDestination)
        w.tag(8, .lengthDelimited)
        w.varint(UInt64(source.bytes.count))
        w.raw(source.bytes[...])
        w.tag(9, .lengthDelimited)
        w.varint(UInt64(destination.bytes.count))
        w.raw(destination.bytes[...])
        w.uint(10, UInt64(type.rawValue))
        w.string(11, nodeName)
        if v4 {
            if !source.hasPod { w.strings(13, directory.names(ipv4NetworkOrder: srcIPv4)) }
            if !destination.hasPod { w.strings(14, directory.names(ipv4NetworkOrder: dstIPv4)) }
        }
        if isL7 { w.message(15) { layer7(p, proto: l7Proto, &$0) } }
        let eventType: (Int32, Int32)
        switch Int32(p.pointee.event_type) {
        case Flow.EventType.drop: eventType = (Flow.EventType.drop, Int32(p.pointee.drop_reason))
        case Flow.EventType.trace: eventType = (Flow.EventType.trace, Int32(p.pointee.trace_point))
        default: eventType = (Int32(p.pointee.event_type), 0)
        }
        if eventType.0 != 0 || eventType.1 != 0 {
            w.message(19) {
                $0.int32(1, eventType.0)
                $0.int32(2, eventType.1)
            }
        }
        w.uint(22, UInt64(direction.rawValue))
        let isTrace = Int32(p.pointee.event_type) == Flow.EventType.trace
        if Int32(p.pointee.event_type) == Flow.EventType.policyVerdict { w.uint(23, UInt64(p.pointee.policy_match)) }
        if isTrace {
            w.uint(24, UInt64(Flow.TraceObservationPoint(subType: Int32(p.pointee.trace_point)).rawValue))
        }
        w.uint(25, UInt64(p.pointee.drop_reason))
        switch UInt32(p.pointee.is_reply) {
        case SLUICE_REPLY_TRUE.rawValue: w.message(26) { $0.bool(1, true) }
        case SLUICE_REPLY_FALSE.rawValue: w.message(26) { $0.bool(1, false) }
        default: break
        }
        w.tag(34, .lengthDelimited)
        w.varint(36)
        w.append(count: 36) { FlowUUID.write(seedHash: seedHash, seq: seq, into: $0) }
        if isTrace { w.uint(36, UInt64((Flow.TraceReason(rawValue: p.pointee.trace_reason) ?? .unknown).rawValue)) }
        w.tag(41, .lengthDelimited)
        w.varint(UInt64(emitter.count))
        w.raw(emitter[...])
        if isL7 {
            if l7Proto == .http10 || l7Proto == .http11 || l7Proto == .http2 || l7Proto == .tls {
                w.message(100_000) { httpSummary(p, proto: l7Proto, &$0) }
            }
        } else {
            let summary = l3l4Summary(p, l4: l4, type: type)
            if !summary.isEmpty { w.lengthDelimited(100_000, summary) }
        }
        policy(p, type: type, verdict: verdict, direction: direction, &w)
    }

    /// `TCPFlags` bits in flow.proto's field order (FIN, SYN, RST, PSH, ACK, URG, ECE, CWR).
    private static let tcpFlagOrder: [UInt8] = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80]

    private enum L4Kind { case none, tcp, udp, sctp, icmpv4, icmpv6 }

    private func layer4(_ p: UnsafePointer<sluice_flow>) -> L4Kind {
        switch p.pointee.l4_proto {
        case FlowCommon.tcp: return .tcp
        case FlowCommon.udp: return .udp
        case FlowCommon.sctp: return .sctp
        case FlowCommon.icmp where p.pointee.ip_version == 4: return .icmpv4
        case FlowCommon.icmpv6 where p.pointee.ip_version == 6: return .icmpv6
        default: return .none
        }
    }

    /// The `Endpoint` message as `Flow.decode` names the peer (a local endpoint by ID, else by
    /// IPv4 address; else the identity's labels), encoded once per key.
    private func endpoint(
        id: UInt32, identity: UInt32, ipv4: UInt32?, memo: inout (key: EndpointKey, entry: EndpointBytes)?
    ) -> EndpointBytes {
        let key = EndpointKey(id: id, identity: identity, ipv4: ipv4 ?? 0, byAddress: id == 0 && ipv4 != nil)
        if let memo, memo.key == key { return memo.entry }
        let entry = endpoint(key, ipv4: ipv4)
        memo = (key, entry)
        return entry
    }

    private func endpoint(_ key: EndpointKey, ipv4: UInt32?) -> EndpointBytes {
        let id = key.id, identity = key.identity
        if let hit = endpoints[key] { return hit }
        let local = id != 0 ? directory.endpoint(id: id) : ipv4.flatMap { directory.endpoint(ipv4NetworkOrder: $0) }
        let e: FlowEndpoint
        if let local {
            e = FlowEndpoint(
                id: local.id, identity: identity != 0 ? identity : local.identity, namespace: local.namespace,
                labels: local.labels, podName: local.pod)
        } else {
            e = FlowEndpoint(id: id, identity: identity, labels: directory.labels(identity: identity))
        }
        var w = ProtoWriter()
        FlowProto.endpoint(e, &w)
        let entry = EndpointBytes(bytes: w.bytes, hasPod: !e.podName.isEmpty)
        if endpoints.count >= Self.cacheLimit { endpoints.removeAll(keepingCapacity: true) }
        endpoints[key] = entry
        return entry
    }

    /// The L7 block of an HTTP/TLS record or one without a protocol (DNS is not covered).
    private func layer7(_ p: UnsafePointer<sluice_flow>, proto: Flow.L7Protocol, _ w: inout ProtoWriter) {
        let l7Type = Flow.L7FlowType(rawValue: p.pointee.l7_type) ?? .unknown
        w.uint(1, UInt64(l7Type.rawValue))
        w.uint(2, p.pointee.latency_ns)
        guard proto != .none else { return }
        w.message(101) { m in
            m.uint(1, UInt64(p.pointee.l7.http.code))
            m.bytesField(2, Self.method(p))
            m.bytesField(3, Self.url(p))
            m.string(4, proto.httpProtocolName)
            if l7Type == .request, let reason = Flow.L7Reason(rawValue: p.pointee.l7.http.reason) {
                let verdict = Flow.L7Verdict(
                    reason: reason, headerActions: Flow.HeaderActions(rawValue: p.pointee.l7.http.header_actions))
                Self.headers(verdict.headers, &m)
            }
            let headersLength = Int(p.pointee.l7.http.headers_len)
            if headersLength > 0 {
                let headers = withUnsafeBytes(of: p.pointee.l7.http.headers) { all in
                    HTTPHeaderRecord.decode(UnsafeRawBufferPointer(rebasing: all.prefix(headersLength)))
                }
                Self.headers(headers, &m)
            }
        }
    }

    private static func headers(_ headers: [Flow.HTTP.Header], _ w: inout ProtoWriter) {
        for header in headers {
            w.message(5) {
                $0.string(1, header.key)
                $0.string(2, header.value)
            }
        }
    }

    /// `Flow.summary` of an HTTP record: `<proto> <METHOD> <url>`, a response
    /// `<proto> <code> <ms>ms (<METHOD> <url>)`, a TLS record `TLS <url>`; plus the connection
    /// error when one ended the exchange.
    private func httpSummary(_ p: UnsafePointer<sluice_flow>, proto: Flow.L7Protocol, _ w: inout ProtoWriter) {
        do {
            let method = Self.method(p)
            let url = Self.url(p)
            w.utf8Bytes(proto.httpProtocolName)
            w.rawByte(UInt8(ascii: " "))
            if p.pointee.l7_type == Flow.L7FlowType.response.rawValue {
                w.decimal(UInt64(p.pointee.l7.http.code))
                w.rawByte(UInt8(ascii: " "))
                w.decimal(p.pointee.latency_ns / 1_000_000)
                w.utf8Bytes("ms (")
                w.raw(method)
                w.rawByte(UInt8(ascii: " "))
                w.raw(url)
                w.rawByte(UInt8(ascii: ")"))
            } else if method.isEmpty {
                w.raw(url)
            } else {
                w.raw(method)
                w.rawByte(UInt8(ascii: " "))
                w.raw(url)
                return
            }
            if let side = Flow.ConnectionError.Side(rawValue: p.pointee.l7.http.error_side) {
                w.rawByte(UInt8(ascii: " "))
                w.utf8Bytes(Flow.ConnectionError(side: side, errno: Int32(p.pointee.l7.http.error_errno)).text)
            }
        }
    }

    /// `Flow.summary` of an L3/L4 record, made once per protocol, flags or ICMP type and code by
    /// the decoded flow's own code.
    private func l3l4Summary(_ p: UnsafePointer<sluice_flow>, l4: L4Kind, type: Flow.FlowType) -> [UInt8] {
        let (l4Proto, ipVersion, tcpFlags) = (p.pointee.l4_proto, p.pointee.ip_version, p.pointee.tcp_flags)
        let (icmpType, icmpCode) = (p.pointee.icmp_type, p.pointee.icmp_code)
        let detail: UInt32
        switch l4 {
        case .tcp: detail = UInt32(tcpFlags)
        case .icmpv4, .icmpv6: detail = UInt32(icmpType) << 8 | UInt32(icmpCode)
        default: detail = 0
        }
        let key = UInt32(l4Proto) << 24 | UInt32(ipVersion) << 20 | UInt32(type.rawValue) << 16 | detail
        if let hit = l3l4Summaries[key] { return hit }
        var flow = Flow()
        flow.type = type
        switch l4 {
        case .tcp:
            flow.l4 = .tcp(
                Flow.TCP(
                    sourcePort: 0, destinationPort: 0, flags: Flow.TCPFlags(rawValue: tcpFlags)))
        case .udp: flow.l4 = .udp(Flow.UDP(sourcePort: 0, destinationPort: 0))
        case .sctp: flow.l4 = .sctp(Flow.SCTP(sourcePort: 0, destinationPort: 0))
        case .icmpv4: flow.l4 = .icmpv4(Flow.ICMP(type: icmpType, code: icmpCode))
        case .icmpv6: flow.l4 = .icmpv6(Flow.ICMP(type: icmpType, code: icmpCode))
        case .none:
            switch ipVersion {
            case 4: flow.ip = Flow.IP(source: "", destination: "", ipVersion: .ipv4)
            case 6: flow.ip = Flow.IP(source: "", destination: "", ipVersion: .ipv6)
            default: break
            }
        }
        let summary = Array(flow.summary.utf8)
        if l3l4Summaries.count >= Self.cacheLimit { l3l4Summaries.removeAll(keepingCapacity: true) }
        l3l4Summaries[key] = summary
        return summary
    }

    /// The policy the record names (an L7 request's `policy_id`, a policy verdict's or a drop's
    /// `policy_ref`), under the field of its direction and verdict, as `Flow.decode` files it.
    private func policy(
        _ p: UnsafePointer<sluice_flow>, type: Flow.FlowType, verdict: Flow.Verdict, direction: TrafficDirection,
        _ w: inout ProtoWriter
    ) {
        let ref: UInt32
        if type == .l7 {
            guard p.pointee.l7_type == Flow.L7FlowType.request.rawValue else { return }
            switch Flow.L7Protocol(rawValue: p.pointee.l7_proto) ?? .none {
            case .http10, .http11, .http2, .tls: ref = p.pointee.l7.http.policy_id
            case .dns: ref = p.pointee.l7.dns.policy_id
            case .none: return
            }
        } else if Int32(p.pointee.event_type) == Flow.EventType.policyVerdict
            || Int32(p.pointee.event_type) == Flow.EventType.drop
        {
            ref = p.pointee.policy_ref
        } else {
            return
        }
        guard ref != 0 else { return }
        let field: Int
        switch (direction, verdict == .dropped) {
        case (.egress, false): field = 21001
        case (.ingress, false): field = 21002
        case (.egress, true): field = 21004
        case (.ingress, true): field = 21005
        default: return
        }
        let bytes: [UInt8]
        if let hit = policies[ref] {
            bytes = hit
        } else {
            guard let entry = directory.policy(ref: ref) else { return }
            let p = Flow.Policy(name: entry.name, namespace: entry.namespace, kind: entry.kind)
            var m = ProtoWriter()
            m.string(1, p.name)
            m.string(2, p.namespace)
            m.strings(3, p.labels)
            m.string(5, p.kind)
            bytes = m.bytes
            if policies.count >= Self.cacheLimit { policies.removeAll(keepingCapacity: true) }
            policies[ref] = bytes
        }
        w.tag(field, .lengthDelimited)
        w.varint(UInt64(bytes.count))
        w.raw(bytes[...])
    }

    // MARK: record text

    private static let srcIPOffset = MemoryLayout<sluice_flow>.offset(of: \.src_ip)!
    private static let dstIPOffset = MemoryLayout<sluice_flow>.offset(of: \.dst_ip)!
    private static let httpOffset = MemoryLayout<sluice_flow>.offset(of: \.l7)!
    private static let methodOffset = httpOffset + MemoryLayout<sluice_flow_http>.offset(of: \.method)!
    private static let urlOffset = httpOffset + MemoryLayout<sluice_flow_http>.offset(of: \.url)!

    /// The method's bytes in the record (its length clamped to the array, as `Flow.decode` reads it).
    private static func method(_ p: UnsafePointer<sluice_flow>) -> UnsafeRawBufferPointer {
        let count = max(0, min(Int(p.pointee.l7.http.method_len), Int(SLUICE_HTTP_METHOD_MAX)))
        return UnsafeRawBufferPointer(start: UnsafeRawPointer(p) + methodOffset, count: count)
    }

    /// The url's bytes in the record (its length clamped to the array).
    private static func url(_ p: UnsafePointer<sluice_flow>) -> UnsafeRawBufferPointer {
        let count = max(0, min(Int(p.pointee.l7.http.url_len), Int(SLUICE_HTTP_URL_MAX)))
        return UnsafeRawBufferPointer(start: UnsafeRawPointer(p) + urlOffset, count: count)
    }

    private static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        for b in bytes where b >= 0x80 { return false }
        return true
    }
}
