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
    /// What a flow's two peers fix, ready to copy: the IPv4 `ip` message, the `source` and
    /// `destination` messages, `node_name` and the peers' DNS names (`PeerBytes`).
    private let peers = BlobCache<PeerKey>(slots: 256)
    /// The policies' messages by policy reference, the L3/L4 summaries by protocol and flags, the
    /// verdict detail's `headers` by reason and header actions.
    private let parts = BlobCache<UInt64>(slots: 256)
    /// `emitter` (field 41) and `node_name` (field 1000), tags and lengths included, then the
    /// uuid's first 19 bytes (the ring's seed hash: the same in every flow); owned.
    private let constants: UnsafeMutableRawPointer
    private let emitterCount: Int
    private let nodeNameCount: Int
    /// The writer every response is written with, kept (one made per record retained and
    /// released its buffer); emptied before each.
    private var writer = ProtoWriter(capacity: 2048)
    /// Records encoded here, and records answered nil (a test counts both).
    public private(set) var encoded = 0
    public private(set) var declined = 0

    /// Endpoint messages are dropped when this many are kept (a directory names at most a few
    /// thousand endpoints; peers by identity are as many as identities seen).
    static let cacheLimit = 4096

    /// What the caller made this encoder for (the observer's decode context), kept to tell when a
    /// new one is due.
    public let owner: AnyObject?

    /// `usesTemplates` false: every record takes the whole encoding (tests compare the two).
    public init(
        directory: EndpointDirectory, seed: String, nodeName: String, owner: AnyObject? = nil,
        usesTemplates: Bool = true
    ) {
        self.owner = owner
        self.usesTemplates = usesTemplates
        self.directory = directory
        self.seed = seed
        self.nodeName = nodeName
        seedHash = FlowUUID.seedHash(seed)
        var w = ProtoWriter()
        w.message(41) {
            $0.string(1, Flow.Emitter.sluice.name)
            $0.string(2, Flow.Emitter.sluice.version)
        }
        emitterCount = w.count
        w.string(1000, nodeName)
        nodeNameCount = w.count - emitterCount
        constants = .allocate(byteCount: w.count + FlowUUID.prefixLength, alignment: 8)
        w.withBytes { constants.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        FlowUUID.writePrefix(seedHash: seedHash, into: constants + emitterCount + nodeNameCount)
    }

    deinit { constants.deallocate() }

    /// Whether `encode` takes this record (else the caller decodes it): HTTP and TLS records whose
    /// method and url are ASCII, L7 records without a protocol, every L3/L4 record; not DNS.
    public static func covers(_ rec: UnsafePointer<sluice_flow>) -> Bool {
        guard rec.pointee.flow_type == Flow.FlowType.l7.rawValue else { return true }
        switch Flow.L7Protocol(rawValue: rec.pointee.l7_proto)?.record {
        case nil: return true
        case .dns?: return false
        case .http?: return isASCII(method(rec)) && isASCII(url(rec))
        }
    }

    /// The framed response (gRPC prefix, `flow`, `node_name`, `time`); nil when the record is not
    /// one this encoder covers. `mask`, when active, keeps only its fields of the flow.
    public func framed(
        _ rec: UnsafePointer<sluice_flow>, seq: UInt64, wallOffsetNs: Int64, mask: FlowProtoMask? = nil
    ) -> [UInt8]? {
        guard let bytes = framedInPlace(rec, seq: seq, wallOffsetNs: wallOffsetNs, mask: mask) else { return nil }
        return [UInt8](bytes.assumingMemoryBound(to: UInt8.self))
    }

    /// `framed`'s bytes read in place, in this encoder's buffer: valid until its next encoding
    /// (a follow stream copies them into the batch it hands on, no array per flow).
    public func framedInPlace(
        _ rec: UnsafePointer<sluice_flow>, seq: UInt64, wallOffsetNs: Int64, mask: FlowProtoMask? = nil
    ) -> UnsafeRawBufferPointer? {
        let templated = usesTemplates && !(mask?.isActive ?? false)
        var hash: UInt64 = 0
        if templated {
            // A kept template's key is a covered record's: no text check.
            let found = templates.find(rec)
            if let template = found.template {
                encoded += 1
                return framed(rec, template: template, seq: seq, wallOffsetNs: wallOffsetNs)
            }
            hash = found.hash
        }
        guard Self.covers(rec) else {
            declined += 1
            return nil
        }
        encoded += 1
        if templated, let template = templates.make(for: rec, hash: hash, { makeTemplate(rec, &$0) }) {
            return framed(rec, template: template, seq: seq, wallOffsetNs: wallOffsetNs)
        }
        writer.removeAll()
        frame(rec, seq: seq, wallOffsetNs: wallOffsetNs, mask: mask, into: &writer)
        return writer.withBytes { $0 }
    }

    /// The framed response of a record with a template, in the template's output buffer: the
    /// last response written from it with the open fields written over when they take as many
    /// bytes as there (then no length changes), else written anew from the template's parts.
    private func framed(
        _ rec: UnsafePointer<sluice_flow>, template t: FlowRecordTemplates.Template, seq: UInt64, wallOffsetNs: Int64
    ) -> UnsafeRawBufferPointer {
        let time = Flow.Timestamp(nanosecondsSinceEpoch: Int64(bitPattern: rec.pointee.time_ns) &+ wallOffsetNs)
        let seconds = UInt64(bitPattern: time.seconds)
        let nanos = UInt64(bitPattern: Int64(time.nanos))
        let ports: Bool
        switch layer4(rec) {
        case .tcp, .udp, .sctp: ports = true
        default: ports = false
        }
        let sourcePort = UInt64(rec.pointee.src_port)
        let destinationPort = UInt64(rec.pointee.dst_port)
        let latency = rec.pointee.latency_ns
        let milliseconds = latency / 1_000_000
        let sizes = FlowRecordTemplates.Sizes(
            seconds: Self.fieldSize(seconds), nanos: Self.fieldSize(nanos),
            sourcePort: ports ? Self.fieldSize(sourcePort) : 0,
            destinationPort: ports ? Self.fieldSize(destinationPort) : 0,
            latency: t.isL7 ? Self.fieldSize(latency) : 0,
            milliseconds: t.summaryHasLatency ? ProtoWriter.decimalCount(milliseconds) : 0)
        let output = t.output
        if t.holds(sizes) {
            rewritten += 1
            return output._withUnsafeGuaranteedRef { out in
                let p = out.base
                let o = t.offsets
                Self.putTime(seconds, nanos, sizes, at: p + Int(o.time))
                Self.putTime(seconds, nanos, sizes, at: p + Int(o.responseTime))
                if ports {
                    Self.putField(0x08, sourcePort, at: p + Int(o.ports))
                    Self.putField(0x10, destinationPort, at: p + Int(o.ports) + sizes.sourcePort)
                }
                if sizes.latency > 0 { Self.putField(0x10, latency, at: p + Int(o.latency)) }
                FlowUUID.writeSequence(seq, into: UnsafeMutableRawPointer(p + Int(o.uuid)))
                if sizes.milliseconds > 0 {
                    var v = milliseconds
                    for i in stride(from: sizes.milliseconds - 1, through: 0, by: -1) {
                        p[Int(o.milliseconds) + i] = UInt8(ascii: "0") + UInt8(v % 10)
                        v /= 10
                    }
                }
                return UnsafeRawBufferPointer(start: p, count: out.count)
            }
        }
        var w = ProtoWriter(reusing: output.takeUnretainedValue())
        var offsets = FlowRecordTemplates.Offsets()
        w.startGRPCFrame()
        let flow = w.beginMessage(1, lengthBytes: 2)
        encodeFlow(rec, template: t, seq: seq, time: time, into: &w, offsets: &offsets)
        let end = w.count
        w.endMessage(flow)
        // The flow's length took another number of bytes than kept: its body moved.
        let shift = Int32(w.count - end)
        offsets.time += shift
        offsets.ports += shift
        offsets.latency += shift
        offsets.uuid += shift
        offsets.milliseconds += shift
        w.raw(UnsafeRawBufferPointer(start: constants + emitterCount, count: nodeNameCount))
        // Field 1001's tag takes two bytes, the length one.
        offsets.responseTime = Int32(w.count + 3)
        w.timestamp(1001, seconds: time.seconds, nanos: time.nanos)
        w.finishGRPCFrame()
        t.keep(offsets, sizes)
        return w.withBytes { $0 }
    }

    /// The bytes a varint field of `value` takes, tag included (none at 0).
    @inline(__always)
    static func fieldSize(_ value: UInt64) -> Int { value == 0 ? 0 : 1 + ProtoWriter.varintSize(value) }

    /// A varint field's one-byte tag and `value` at `p` (nothing at 0).
    @inline(__always)
    static func putField(_ tag: UInt8, _ value: UInt64, at p: UnsafeMutablePointer<UInt8>) {
        guard value != 0 else { return }
        p[0] = tag
        _ = ProtoWriter.storeVarint(value, at: p + 1)
    }

    /// A timestamp's two fields (its tag and length stay).
    @inline(__always)
    static func putTime(
        _ seconds: UInt64, _ nanos: UInt64, _ sizes: FlowRecordTemplates.Sizes, at p: UnsafeMutablePointer<UInt8>
    ) {
        putField(0x08, seconds, at: p)
        putField(0x10, nanos, at: p + sizes.seconds)
    }

    /// The framed response of a covered record, into the empty `w`.
    private func frame(
        _ rec: UnsafePointer<sluice_flow>, seq: UInt64, wallOffsetNs: Int64, mask: FlowProtoMask?,
        into w: inout ProtoWriter
    ) {
        let time = Flow.Timestamp(nanosecondsSinceEpoch: Int64(bitPattern: rec.pointee.time_ns) &+ wallOffsetNs)
        w.startGRPCFrame()
        if let mask, mask.isActive {
            var flow = ProtoWriter(capacity: 1024)
            encodeFlow(rec, seq: seq, time: time, into: &flow)
            w.message(1) { mask.apply(to: flow.bytes[...], into: &$0) }
        } else {
            // A flow is 128 bytes to 16 KiB long: two bytes kept for its length, no move.
            let flow = w.beginMessage(1, lengthBytes: 2)
            encodeFlow(rec, seq: seq, time: time, into: &w)
            w.endMessage(flow)
        }
        w.raw(UnsafeRawBufferPointer(start: constants + emitterCount, count: nodeNameCount))
        w.timestamp(1001, seconds: time.seconds, nanos: time.nanos)
        w.finishGRPCFrame()
    }

    // MARK: the flow message, in FlowProto.encode's field order

    /// What the encoder reads of a record's fixed fields first.
    private struct Fields {
        let type: Flow.FlowType
        let verdict: Flow.Verdict
        let direction: TrafficDirection
        let isL7: Bool
        let l7Proto: Flow.L7Protocol
        let l7Type: Flow.L7FlowType

        @inline(__always)
        init(_ p: UnsafePointer<sluice_flow>) {
            type = Flow.FlowType(rawValue: p.pointee.flow_type) ?? .unknown
            verdict = Flow.Verdict(rawValue: p.pointee.verdict) ?? .unknown
            direction = TrafficDirection(c: p.pointee.direction)
            isL7 = type == .l7
            l7Proto = isL7 ? (Flow.L7Protocol(rawValue: p.pointee.l7_proto) ?? .none) : .none
            l7Type = Flow.L7FlowType(rawValue: p.pointee.l7_type) ?? .unknown
        }

        /// An HTTP response's summary carries its latency (the rest of it is fixed by the record's key).
        var summaryHasLatency: Bool { l7Proto.record == .http && l7Type == .response }
    }

    /// The whole flow message's fields (`framedInPlace` without a template). The template's parts
    /// (`makeTemplate`) are written by the same functions, so the two paths cannot drift apart
    /// except in the fields a template leaves open, which `FlowRecordTemplateTests` compares.
    private func encodeFlow(
        _ p: UnsafePointer<sluice_flow>, seq: UInt64, time: Flow.Timestamp, into w: inout ProtoWriter
    ) {
        // Fields are read through the pointer: no copy of the 1 KiB record.
        let f = Fields(p)
        let peer = peerBytes(p)
        w.timestamp(1, seconds: time.seconds, nanos: time.nanos)
        head(p, f, peer, &w)
        layer4(p, isL7: f.isL7, &w)
        middle(f, peer, &w)
        if f.isL7 {
            let l7 = w.beginMessage(15)
            w.uint(1, UInt64(f.l7Type.rawValue))
            w.uint(2, p.pointee.latency_ns)
            if f.l7Proto != .none { httpMessage(p, f, &w) }
            w.endMessage(l7)
        }
        events(p, f, &w)
        w.appendRaw(count: Self.uuidSequenceLength) { FlowUUID.writeSequence(seq, into: $0) }
        afterUUID(p, &w)
        summary(p, f, &w)
        policy(p, verdict: f.verdict, direction: f.direction, &w)
    }

    /// The peers' bytes of a record.
    @inline(__always)
    private func peerBytes(_ p: UnsafePointer<sluice_flow>) -> BlobCache<PeerKey>.Blob {
        let v4 = p.pointee.ip_version == 4
        let srcIPv4 = UnsafeRawPointer(p).load(fromByteOffset: Self.srcIPOffset, as: UInt32.self)
        let dstIPv4 = UnsafeRawPointer(p).load(fromByteOffset: Self.dstIPOffset, as: UInt32.self)
        return peerBytes(
            PeerKey(
                source: EndpointKey(
                    id: p.pointee.src_endpoint, identity: p.pointee.src_identity, ipv4: v4 ? srcIPv4 : 0,
                    byAddress: v4 && p.pointee.src_endpoint == 0),
                destination: EndpointKey(
                    id: p.pointee.dst_endpoint, identity: p.pointee.dst_identity, ipv4: v4 ? dstIPv4 : 0,
                    byAddress: v4 && p.pointee.dst_endpoint == 0),
                ipVersion: p.pointee.ip_version))
    }

    /// `verdict`, `drop_reason` and `IP`.
    private func head(
        _ p: UnsafePointer<sluice_flow>, _ f: Fields, _ peer: BlobCache<PeerKey>.Blob, _ w: inout ProtoWriter
    ) {
        w.uint(2, UInt64(f.verdict.rawValue))
        w.uint(3, UInt64(p.pointee.drop_reason))
        let ipVersion = p.pointee.ip_version
        if ipVersion == 4 {
            w.raw(peer.part(0))  // `ip`, from the peers' addresses
        } else if ipVersion == 6 {
            w.message(5) {
                $0.string(1, withUnsafeBytes(of: p.pointee.src_ip) { IPv6Address(bytes: $0)?.description ?? "" })
                $0.string(2, withUnsafeBytes(of: p.pointee.dst_ip) { IPv6Address(bytes: $0)?.description ?? "" })
                $0.uint(3, UInt64(Flow.IPVersion.ipv6.rawValue))
            }
        }
    }

    /// `l4`: the ports (or ICMP type and code) and, outside L7 records, the TCP flags.
    @inline(__always)
    private func layer4(_ p: UnsafePointer<sluice_flow>, isL7: Bool, _ w: inout ProtoWriter) {
        let l4 = layer4(p)
        guard l4 != .none else { return }
        // Sub-messages begun and ended in line (no closures on the per-flow path).
        let layer4 = w.beginMessage(6)
        switch l4 {
        case .tcp:
            let tcp = w.beginMessage(1)
            w.uint(1, UInt64(p.pointee.src_port))
            w.uint(2, UInt64(p.pointee.dst_port))
            if !isL7 {
                let flagsMark = w.beginMessage(3)
                // flow.proto's TCPFlags fields 1...8 are the header's bits from the lowest:
                // FIN, SYN, RST, PSH, ACK, URG, ECE, CWR.
                let flags = p.pointee.tcp_flags
                for i in 0..<8 { w.bool(i + 1, flags & 1 << i != 0) }
                w.endMessage(flagsMark)
            }
            w.endMessage(tcp)
        case .udp, .sctp:
            let ports = w.beginMessage(l4 == .udp ? 2 : 5)
            w.uint(1, UInt64(p.pointee.src_port))
            w.uint(2, UInt64(p.pointee.dst_port))
            w.endMessage(ports)
        case .icmpv4, .icmpv6:
            let icmp = w.beginMessage(l4 == .icmpv4 ? 3 : 4)
            w.uint(1, UInt64(p.pointee.icmp_type))
            w.uint(2, UInt64(p.pointee.icmp_code))
            w.endMessage(icmp)
        case .none: break
        }
        w.endMessage(layer4)
    }

    /// `source`, `destination`, `Type`, `node_name`, `source_names`, `destination_names`.
    private func middle(_ f: Fields, _ peer: BlobCache<PeerKey>.Blob, _ w: inout ProtoWriter) {
        w.raw(peer.part(1))  // `source`, `destination`
        w.uint(10, UInt64(f.type.rawValue))
        w.raw(peer.part(2))  // `node_name`, `source_names`, `destination_names`
    }

    /// `event_type` to `is_reply`, then `uuid`'s tag, length and first 19 bytes (its last 17 are
    /// the record's sequence number).
    private func events(_ p: UnsafePointer<sluice_flow>, _ f: Fields, _ w: inout ProtoWriter) {
        let eventType: (Int32, Int32)
        switch Int32(p.pointee.event_type) {
        case Flow.EventType.drop: eventType = (Flow.EventType.drop, Int32(p.pointee.drop_reason))
        case Flow.EventType.trace: eventType = (Flow.EventType.trace, Int32(p.pointee.trace_point))
        default: eventType = (Int32(p.pointee.event_type), 0)
        }
        if eventType.0 != 0 || eventType.1 != 0 {
            let event = w.beginMessage(19)
            w.int32(1, eventType.0)
            w.int32(2, eventType.1)
            w.endMessage(event)
        }
        w.uint(22, UInt64(f.direction.rawValue))
        let isTrace = Int32(p.pointee.event_type) == Flow.EventType.trace
        if Int32(p.pointee.event_type) == Flow.EventType.policyVerdict { w.uint(23, UInt64(p.pointee.policy_match)) }
        if isTrace {
            w.uint(24, UInt64(Flow.TraceObservationPoint(subType: Int32(p.pointee.trace_point)).rawValue))
        }
        w.uint(25, UInt64(p.pointee.drop_reason))
        switch UInt32(p.pointee.is_reply) {
        case SLUICE_REPLY_TRUE.rawValue:  // `is_reply {value: true}`
            w.tag(26, .lengthDelimited)
            w.rawByte(2)
            w.bool(1, true)
        case SLUICE_REPLY_FALSE.rawValue:  // `is_reply {}`: false is left out
            w.tag(26, .lengthDelimited)
            w.rawByte(0)
        default: break
        }
        w.tag(34, .lengthDelimited)
        w.varint(36)
        w.raw(UnsafeRawBufferPointer(start: constants + emitterCount + nodeNameCount, count: FlowUUID.prefixLength))
    }

    /// `trace_reason` and `emitter` (after `uuid`).
    private func afterUUID(_ p: UnsafePointer<sluice_flow>, _ w: inout ProtoWriter) {
        if Int32(p.pointee.event_type) == Flow.EventType.trace {
            w.uint(36, UInt64((Flow.TraceReason(rawValue: p.pointee.trace_reason) ?? .unknown).rawValue))
        }
        w.raw(UnsafeRawBufferPointer(start: constants, count: emitterCount))
    }

    /// `Summary` (field 100000).
    private func summary(_ p: UnsafePointer<sluice_flow>, _ f: Fields, _ w: inout ProtoWriter) {
        if f.isL7 {
            if f.l7Proto.record == .http {
                let summary = w.beginMessage(100_000)
                httpSummary(p, proto: f.l7Proto, &w)
                w.endMessage(summary)
            }
        } else {
            w.raw(l3l4Summary(p, l4: layer4(p), type: f.type))
        }
    }

    // MARK: templates

    /// Whether repeated records are written from templates (`FlowRecordTemplates`); off, every
    /// record takes the whole encoding (the reference the template path is tested against).
    public let usesTemplates: Bool
    /// Records written from a template (a test counts them).
    public var templated: Int { templates.used }
    /// Templates made (a test counts them).
    public var templatesMade: Int { templates.made }
    /// Responses written over the template's last one (the open fields only; a test counts them).
    public private(set) var rewritten = 0
    private let templates = FlowRecordTemplates(slots: 64)

    /// The flow message of a record whose key has a template: the template's parts with the
    /// record's time, ports, latency and uuid between them.
    @inline(__always)
    private func encodeFlow(
        _ p: UnsafePointer<sluice_flow>, template t: FlowRecordTemplates.Template, seq: UInt64, time: Flow.Timestamp,
        into w: inout ProtoWriter, offsets: inout FlowRecordTemplates.Offsets
    ) {
        // Where each open field starts (`framed(_:template:seq:wallOffsetNs:)` writes over them).
        offsets.time = Int32(w.count + 2)  // after the tag and the one-byte length
        w.timestamp(1, seconds: time.seconds, nanos: time.nanos)
        w.raw(t.part(0))
        offsets.ports = Int32(w.count + 4)  // after `l4`'s and the ports message's tags and lengths
        layer4(p, isL7: t.isL7, &w)
        w.raw(t.part(1))
        let latency = p.pointee.latency_ns
        if t.isL7 {
            // The L7 message's length from its parts: no move of its body.
            w.tag(15, .lengthDelimited)
            w.varint(UInt64(t.l7Fixed + t.part(2).count + (latency != 0 ? 1 + ProtoWriter.varintSize(latency) : 0)))
            w.uint(1, UInt64(t.l7Type))
            offsets.latency = Int32(w.count)
            w.uint(2, latency)
            w.raw(t.part(2))
        }
        w.raw(t.part(3))
        offsets.uuid = Int32(w.count)
        w.appendRaw(count: Self.uuidSequenceLength) { FlowUUID.writeSequence(seq, into: $0) }
        w.raw(t.part(4))
        if t.summaryHasLatency {
            let ms = latency / 1_000_000
            w.tag(100_000, .lengthDelimited)
            w.varint(UInt64(t.part(5).count + ProtoWriter.decimalCount(ms) + t.part(6).count))
            w.raw(t.part(5))
            offsets.milliseconds = Int32(w.count)
            w.decimal(ms)
            w.raw(t.part(6))
        } else {
            w.raw(t.part(5))
        }
        w.raw(t.part(7))
    }

    /// The parts of `p`'s template: everything the record's key fixes, cut where the fields it
    /// leaves open go (`encodeFlow(_:template:seq:time:into:)`). Returns the seven marks.
    private func makeTemplate(_ p: UnsafePointer<sluice_flow>, _ w: inout ProtoWriter) -> FlowRecordTemplates.Shape {
        let f = Fields(p)
        let peer = peerBytes(p)
        var marks = [Int]()
        marks.reserveCapacity(7)
        head(p, f, peer, &w)
        marks.append(w.count)
        middle(f, peer, &w)
        marks.append(w.count)
        if f.isL7 && f.l7Proto != .none { httpMessage(p, f, &w) }
        marks.append(w.count)
        events(p, f, &w)
        marks.append(w.count)
        afterUUID(p, &w)
        marks.append(w.count)
        if f.isL7 && f.summaryHasLatency {
            responseSummaryHead(p, proto: f.l7Proto, &w)
            marks.append(w.count)
            responseSummaryTail(p, &w)
        } else {
            summary(p, f, &w)
            marks.append(w.count)
        }
        marks.append(w.count)
        policy(p, verdict: f.verdict, direction: f.direction, &w)
        let l7Type = UInt64(f.l7Type.rawValue)
        return FlowRecordTemplates.Shape(
            marks: marks, isL7: f.isL7, l7Type: UInt8(truncatingIfNeeded: l7Type),
            l7Fixed: l7Type != 0 ? 1 + ProtoWriter.varintSize(l7Type) : 0,
            summaryHasLatency: f.isL7 && f.summaryHasLatency)
    }

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

    /// A flow's two peers as `Flow.decode` names them: each a local endpoint by ID, else (IPv4) by
    /// address, else the identity's labels; the IP version (the `ip` message is kept for IPv4).
    private struct PeerKey: Equatable {
        var source: EndpointKey
        var destination: EndpointKey
        var ipVersion: UInt8

        var hash: UInt64 {
            let ids = UInt64(source.id) << 32 | UInt64(destination.id)
            let identities = UInt64(source.identity) << 32 | UInt64(destination.identity)
            let addresses = UInt64(source.ipv4) << 32 | UInt64(destination.ipv4)
            return ids &* 0x9E37_79B9_7F4A_7C15 ^ identities &* 0xC2B2_AE3D_27D4_EB4F ^ addresses
                &* 0x1656_67B1_9E37_79F9 ^ UInt64(ipVersion)
        }
    }

    /// The bytes `key`'s peers fix, in three parts: the `ip` message (IPv4 only: the addresses
    /// are in the key), `source` and `destination`, then `node_name` and the DNS names of peers
    /// that are not pods (IPv4). Made once per pair of peers from the endpoint messages.
    private func peerBytes(_ key: PeerKey) -> BlobCache<PeerKey>.Blob {
        peers.blob(key, hash: key.hash) { w in
            let v4 = key.ipVersion == 4
            if v4 {
                w.message(5) {
                    $0.string(1, IPv4Address(networkOrder: key.source.ipv4).description)
                    $0.string(2, IPv4Address(networkOrder: key.destination.ipv4).description)
                    $0.uint(3, UInt64(Flow.IPVersion.ipv4.rawValue))
                }
            }
            let ipEnd = w.count
            let source = endpoint(key.source)
            let destination = endpoint(key.destination)
            w.lengthDelimited(8, source.bytes)
            w.lengthDelimited(9, destination.bytes)
            let endpointsEnd = w.count
            w.string(11, nodeName)
            if v4 {
                if !source.hasPod { w.strings(13, directory.names(ipv4NetworkOrder: key.source.ipv4)) }
                if !destination.hasPod { w.strings(14, directory.names(ipv4NetworkOrder: key.destination.ipv4)) }
            }
            return (ipEnd, endpointsEnd)
        }
    }

    /// The `Endpoint` message as `Flow.decode` names the peer (a local endpoint by ID, else by
    /// IPv4 address; else the identity's labels), encoded once per key.
    private func endpoint(_ key: EndpointKey) -> EndpointBytes {
        let id = key.id, identity = key.identity
        if let hit = endpoints[key] { return hit }
        let local =
            id != 0 ? directory.endpoint(id: id) : key.byAddress ? directory.endpoint(ipv4NetworkOrder: key.ipv4) : nil
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

    /// `l7.http` (field 101, whole) of an HTTP/TLS record (DNS is not covered).
    private func httpMessage(_ p: UnsafePointer<sluice_flow>, _ f: Fields, _ w: inout ProtoWriter) {
        let http = w.beginMessage(101)
        w.uint(1, UInt64(p.pointee.l7.http.code))
        w.bytesField(2, Self.method(p))
        w.bytesField(3, Self.url(p))
        w.bytesField(4, Self.protocolName(f.l7Proto))
        if f.l7Type == .request {
            w.raw(verdictHeaders(reason: p.pointee.l7.http.reason, actions: p.pointee.l7.http.header_actions))
        }
        let headersLength = Int(p.pointee.l7.http.headers_len)
        if headersLength > 0 {
            let headers = withUnsafeBytes(of: p.pointee.l7.http.headers) { all in
                HTTPHeaderRecord.decode(UnsafeRawBufferPointer(rebasing: all.prefix(headersLength)))
            }
            Self.headers(headers, &w)
        }
        w.endMessage(http)
    }

    /// The `headers` entries of a request's verdict detail (`Flow.L7Verdict.headers`), made once
    /// per reason and header actions; none for an unknown reason.
    private func verdictHeaders(reason: UInt8, actions: UInt8) -> UnsafeRawBufferPointer {
        let key = Part.verdictHeaders.rawValue << 56 | UInt64(reason) << 8 | UInt64(actions)
        return parts.blob(key, hash: key) { w in
            if let reason = Flow.L7Reason(rawValue: reason) {
                Self.headers(
                    Flow.L7Verdict(reason: reason, headerActions: Flow.HeaderActions(rawValue: actions)).headers, &w)
            }
            return (0, 0)
        }.bytes
    }

    /// What `parts` keeps, in its keys' top byte.
    private enum Part: UInt64 { case policy = 1, l3l4Summary, verdictHeaders }

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
        if p.pointee.l7_type == Flow.L7FlowType.response.rawValue {
            responseSummaryHead(p, proto: proto, &w)
            w.decimal(p.pointee.latency_ns / 1_000_000)
            responseSummaryTail(p, &w)
            return
        }
        let method = Self.method(p)
        let url = Self.url(p)
        w.raw(Self.protocolName(proto))
        w.rawByte(UInt8(ascii: " "))
        if method.isEmpty {
            w.raw(url)
            connectionError(p, &w)
        } else {
            w.raw(method)
            w.rawByte(UInt8(ascii: " "))
            w.raw(url)
        }
    }

    /// A response summary up to its milliseconds: `<proto> <code> `.
    private func responseSummaryHead(_ p: UnsafePointer<sluice_flow>, proto: Flow.L7Protocol, _ w: inout ProtoWriter) {
        w.raw(Self.protocolName(proto))
        w.rawByte(UInt8(ascii: " "))
        w.decimal(UInt64(p.pointee.l7.http.code))
        w.rawByte(UInt8(ascii: " "))
    }

    /// A response summary after its milliseconds: `ms (<METHOD> <url>)` and the connection error.
    private func responseSummaryTail(_ p: UnsafePointer<sluice_flow>, _ w: inout ProtoWriter) {
        w.raw(Self.bytes("ms ("))
        w.raw(Self.method(p))
        w.rawByte(UInt8(ascii: " "))
        w.raw(Self.url(p))
        w.rawByte(UInt8(ascii: ")"))
        connectionError(p, &w)
    }

    /// ` <connection error>` when one ended the exchange.
    private func connectionError(_ p: UnsafePointer<sluice_flow>, _ w: inout ProtoWriter) {
        if let side = Flow.ConnectionError.Side(rawValue: p.pointee.l7.http.error_side) {
            w.rawByte(UInt8(ascii: " "))
            w.utf8Bytes(Flow.ConnectionError(side: side, errno: Int32(p.pointee.l7.http.error_errno)).text)
        }
    }

    /// The `summary` field of an L3/L4 record (`Flow.summary`, by the decoded flow's own code),
    /// made once per protocol, flags or ICMP type and code; nothing when the summary is empty.
    private func l3l4Summary(_ p: UnsafePointer<sluice_flow>, l4: L4Kind, type: Flow.FlowType) -> UnsafeRawBufferPointer
    {
        let (l4Proto, ipVersion, tcpFlags) = (p.pointee.l4_proto, p.pointee.ip_version, p.pointee.tcp_flags)
        let (icmpType, icmpCode) = (p.pointee.icmp_type, p.pointee.icmp_code)
        let detail: UInt32
        switch l4 {
        case .tcp: detail = UInt32(tcpFlags)
        case .icmpv4, .icmpv6: detail = UInt32(icmpType) << 8 | UInt32(icmpCode)
        default: detail = 0
        }
        let key =
            Part.l3l4Summary.rawValue << 56
            | UInt64(UInt32(l4Proto) << 24 | UInt32(ipVersion) << 20 | UInt32(type.rawValue) << 16 | detail)
        return parts.blob(key, hash: key) { w in
            var flow = Flow()
            flow.type = type
            switch l4 {
            case .tcp:
                flow.l4 = .tcp(Flow.TCP(sourcePort: 0, destinationPort: 0, flags: Flow.TCPFlags(rawValue: tcpFlags)))
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
            w.string(100_000, flow.summary)
            return (0, 0)
        }.bytes
    }

    /// The policy the record names (an L7 request's `policy_id`, a policy verdict's or a drop's
    /// `policy_ref`), under the field of its direction and verdict, as `Flow.decode` files it.
    private func policy(
        _ p: UnsafePointer<sluice_flow>, verdict: Flow.Verdict, direction: TrafficDirection, _ w: inout ProtoWriter
    ) {
        let ref = Flow.policyRef(p)
        guard ref != 0 else { return }
        let field: Int
        switch (direction, verdict == .dropped) {
        case (.egress, false): field = 21001
        case (.ingress, false): field = 21002
        case (.egress, true): field = 21004
        case (.ingress, true): field = 21005
        default: return
        }
        // The whole field (tag, length, message); nothing for a reference the directory does not know.
        let key = Part.policy.rawValue << 56 | UInt64(field) << 32 | UInt64(ref)
        w.raw(
            parts.blob(key, hash: key) { w in
                if let entry = directory.policy(ref: ref) {
                    let policy = Flow.Policy(name: entry.name, namespace: entry.namespace, kind: entry.kind)
                    w.message(field) {
                        $0.string(1, policy.name)
                        $0.string(2, policy.namespace)
                        $0.strings(3, policy.labels)
                        $0.string(5, policy.kind)
                    }
                }
                return (0, 0)
            }.bytes)
    }

    // MARK: record text

    // Offsets in `struct sluice_flow` as constants (a `static let` is a lazy global: a
    // `swift_once` check per read); `FlowRecordProtoTests` holds each equal to its field's.
    static var srcIPOffset: Int { 40 }
    static var dstIPOffset: Int { 56 }
    static var methodOffset: Int { 96 + 20 }
    static var urlOffset: Int { 96 + 36 }
    /// The uuid's bytes after its fixed prefix (the sequence number's 16 hex digits and a dash).
    static var uuidSequenceLength: Int { 36 - FlowUUID.prefixLength }

    /// `proto.httpProtocolName`'s bytes, static (no `String` read per flow; `FlowRecordProtoTests`
    /// holds them equal).
    static func protocolName(_ proto: Flow.L7Protocol) -> UnsafeRawBufferPointer {
        switch proto {
        case .http10: bytes("HTTP/1")
        case .http11: bytes("HTTP/1.1")
        case .http2: bytes("HTTP/2")
        case .tls: bytes("TLS")
        case .none, .dns: bytes("")
        }
    }

    /// A literal's UTF-8 bytes, in place.
    @inline(__always)
    static func bytes(_ text: StaticString) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
    }

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

    /// No byte has its top bit set (eight bytes at a time).
    private static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        var any: UInt64 = 0
        var i = 0
        while i + 8 <= bytes.count {
            any |= base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < bytes.count {
            any |= UInt64(base.load(fromByteOffset: i, as: UInt8.self))
            i += 1
        }
        return any & 0x8080_8080_8080_8080 == 0
    }
}
