import CSluiceShared
import Flows

/// What turning a ring record into a `Flow` needs besides the record: the endpoint directory of
/// the time it was read, the ring's uuid seed and the node name. The reader makes a new one when
/// it reloads the directory; kept records hold theirs, so a record decoded later (a `GetFlows`
/// from the history) names its endpoints as they were named when it was read.
public final class FlowDecodeContext {
    public let directory: EndpointDirectory
    public let seed: String
    /// `FlowUUID.seedHash(seed)`, hashed once (not per decoded record).
    public let seedHash: UInt64
    /// `--node-name`, overriding the directory's.
    public let nodeNameOverride: String?

    public init(directory: EndpointDirectory, seed: String, nodeNameOverride: String?) {
        self.directory = directory
        self.seed = seed
        seedHash = FlowUUID.seedHash(seed)
        self.nodeNameOverride = nodeNameOverride
    }

    /// The node name flows carry: the override, else the directory's, else `sluice-node`.
    public var nodeName: String {
        if let nodeNameOverride { return nodeNameOverride }
        return directory.nodeName.isEmpty ? "sluice-node" : directory.nodeName
    }

    /// The flow of record number `seq`: endpoints named from the directory, observe's uuid,
    /// emitter Sluice, the node name.
    public func decode(_ rec: borrowing sluice_flow, seq: UInt64, wallOffsetNs: Int64) -> Flow {
        var flow = Flow.decode(copy rec, directory: directory, monotonicToWallOffsetNs: wallOffsetNs)
        flow.uuid = FlowUUID.make(seedHash: seedHash, seq: seq)
        flow.emitter = .sluice
        if let nodeNameOverride { flow.nodeName = nodeNameOverride }
        if flow.nodeName.isEmpty { flow.nodeName = nodeName }
        return flow
    }

    /// The namespaces of the record's source and destination ("" for a peer that is not a local
    /// endpoint), as `decode` names them, without decoding.
    public func namespaces(_ rec: borrowing sluice_flow) -> (source: String, destination: String) {
        let v4 = rec.ip_version == 4
        func namespace(id: UInt32, ipv4: UInt32) -> String {
            let local = id != 0 ? directory.endpoint(id: id) : (v4 ? directory.endpoint(ipv4NetworkOrder: ipv4) : nil)
            return local?.namespace ?? ""
        }
        let s = withUnsafeBytes(of: rec.src_ip) { $0.load(as: UInt32.self) }
        let d = withUnsafeBytes(of: rec.dst_ip) { $0.load(as: UInt32.self) }
        return (namespace(id: rec.src_endpoint, ipv4: s), namespace(id: rec.dst_endpoint, ipv4: d))
    }
}

/// One ring record as the observer keeps it: the record's bytes, its sequence number, the
/// monotonic-to-wall offset of the poll that read it and its `FlowDecodeContext`. Decoded to a
/// `Flow` only by a consumer that needs one (`decode()`).
public struct RawFlow {
    public var record: sluice_flow
    public var seq: UInt64
    public var wallOffsetNs: Int64
    public let context: FlowDecodeContext

    public init(record: sluice_flow, seq: UInt64, wallOffsetNs: Int64, context: FlowDecodeContext) {
        self.record = record
        self.seq = seq
        self.wallOffsetNs = wallOffsetNs
        self.context = context
    }

    /// The flow's wall-clock time (as the decoded flow's `time`).
    public var time: Flow.Timestamp {
        Flow.Timestamp(nanosecondsSinceEpoch: Int64(bitPattern: record.time_ns) &+ wallOffsetNs)
    }

    /// The full `Flow`.
    public func decode() -> Flow { context.decode(record, seq: seq, wallOffsetNs: wallOffsetNs) }
}

/// One record as listeners see it (`FlowListener.observe(record:)`): the record in place (the
/// `FlowHistory`'s scratch record or, from `forEachRecord`, a slot), its sequence number, the
/// poll's clock offset and its decode context. Valid only during the call that hands it out (the
/// scratch and the slot are reused later); nothing is copied
/// or retained to make one. Only `FlowHistory` makes one (the memberwise init is internal).
public struct FlowRecordRef {
    /// The record (only its used bytes are meaningful: past a text field's length the bytes are
    /// stale, as in the ring; `FlowRecordBytes`).
    public let pointer: UnsafePointer<sluice_flow>
    public let seq: UInt64
    public let wallOffsetNs: Int64
    /// Kept alive by the history's context table while the record's slot is live.
    public unowned(unsafe) let context: FlowDecodeContext

    /// The flow's wall-clock time (as the decoded flow's `time`).
    public var time: Flow.Timestamp {
        Flow.Timestamp(nanosecondsSinceEpoch: Int64(bitPattern: pointer.pointee.time_ns) &+ wallOffsetNs)
    }

    /// The full `Flow`.
    public func decode() -> Flow { context.decode(pointer.pointee, seq: seq, wallOffsetNs: wallOffsetNs) }

    /// An owning copy (the whole 1 KiB record).
    public var rawFlow: RawFlow {
        RawFlow(record: pointer.pointee, seq: seq, wallOffsetNs: wallOffsetNs, context: context)
    }
}

/// The bytes of a ring record that mean something: the fixed fields, and of each text or list
/// field only its used length (what `FlowRecordWriter` writes; the proxy leaves the rest of a
/// slot as the record `FlowRing.capacity` earlier left it). The observer copies only these
/// from the ring into its history (issue 17): an HTTP request of a keep-alive GET is ~200 bytes
/// of its 1 KiB, an L3/L4 record 96. Everything `Flow.decode` and the metrics read is inside
/// them; the rest of the destination keeps whatever it held.
public enum FlowRecordBytes {
    // Offsets in `struct sluice_flow` as constants (no lazy global read per record);
    // `RawFlowTests` holds each equal to `MemoryLayout.offset(of:)` of its field.
    static var l7: Int { 96 }
    static var flowType: Int { 79 }
    static var l7Proto: Int { 86 }
    static var httpURL: Int { 36 }
    static var httpURLLength: Int { 4 }
    static var httpPolicyID: Int { 8 }
    static var httpHeaders: Int { 420 }
    static var httpHeadersLength: Int { 16 }
    static var dnsQuery: Int { 16 }
    static var dnsQueryLength: Int { 8 }
    static var dnsIPCount: Int { 10 }
    static var dnsIPs: Int { 272 }
    static var dnsPolicyID: Int { 400 }

    /// The 64-byte lines of `record` that hold its used bytes, as two runs: lines `0..<head` and
    /// `tailStart..<tailStart + tail` (`tail` 0 when none): the fixed fields with the HTTP url or
    /// the DNS query, then the HTTP headers or the DNS answers and the DNS part's last fields.
    /// Lengths are clamped to their arrays (`record` may be a torn copy), so the lines are within
    /// the record's 16.
    @inline(__always)
    static func usedLines(_ record: UnsafePointer<sluice_flow>) -> (head: Int, tailStart: Int, tail: Int) {
        let r = UnsafeRawPointer(record)
        guard r.load(fromByteOffset: flowType, as: UInt8.self) == Flow.FlowType.l7.rawValue else {
            return (lines(upTo: l7), 0, 0)
        }
        switch Flow.L7Protocol(rawValue: r.load(fromByteOffset: l7Proto, as: UInt8.self))?.record {
        case .http:
            let url = min(Int(r.load(fromByteOffset: l7 + httpURLLength, as: UInt16.self)), Int(SLUICE_HTTP_URL_MAX))
            let headers = min(
                Int(r.load(fromByteOffset: l7 + httpHeadersLength, as: UInt16.self)), Int(SLUICE_HTTP_HEADERS_MAX))
            let head = lines(upTo: l7 + httpURL + url)
            guard headers > 0 else { return (head, 0, 0) }
            let start = (l7 + httpHeaders) / 64
            let end = lines(upTo: l7 + httpHeaders + headers)
            // The url's last line may be the headers' first.
            return start < head ? (max(head, end), 0, 0) : (head, start, end - start)
        case .dns:
            let query = min(
                Int(r.load(fromByteOffset: l7 + dnsQueryLength, as: UInt16.self)), Int(SLUICE_DNS_QUERY_MAX))
            let head = lines(upTo: l7 + dnsQuery + query)
            // The answers (whole array) and the fields after them.
            let start = (l7 + dnsIPs) / 64
            let end = lines(upTo: l7 + 408)
            return start < head ? (max(head, end), 0, 0) : (head, start, end - start)
        case nil:
            return (lines(upTo: l7), 0, 0)
        }
    }

    /// Lines needed for bytes `0..<end`.
    @inline(__always)
    private static func lines(upTo end: Int) -> Int { (end + 63) / 64 }

    /// Copies the used bytes of `source` to the same offsets of `destination` and returns how
    /// many were copied. Lengths are read from the destination after its fixed part is copied
    /// and clamped to their arrays, so a torn source (a writer took the ring slot meanwhile)
    /// copies at most the record's size and leaves a destination whose lengths are in range.
    @discardableResult
    public static func copyUsed(
        from source: UnsafePointer<sluice_flow>, to destination: UnsafeMutablePointer<sluice_flow>
    )
        -> Int
    {
        let s = UnsafeRawPointer(source)
        let d = UnsafeMutableRawPointer(destination)
        d.copyMemory(from: s, byteCount: l7)
        guard d.load(fromByteOffset: flowType, as: UInt8.self) == Flow.FlowType.l7.rawValue else { return l7 }
        switch Flow.L7Protocol(rawValue: d.load(fromByteOffset: l7Proto, as: UInt8.self))?.record {
        case .http:
            // The fixed fields (policy_id .. headers_cut among them) and the method, then the used
            // url and headers (layout 2, sluice_flow.h).
            let h = l7
            (d + h).copyMemory(from: s + h, byteCount: httpURL)
            let url = min(Int(d.load(fromByteOffset: h + httpURLLength, as: UInt16.self)), Int(SLUICE_HTTP_URL_MAX))
            (d + h + httpURL).copyMemory(from: s + h + httpURL, byteCount: url)
            let headers = min(
                Int(d.load(fromByteOffset: h + httpHeadersLength, as: UInt16.self)), Int(SLUICE_HTTP_HEADERS_MAX))
            (d + h + httpHeaders).copyMemory(from: s + h + httpHeaders, byteCount: headers)
            return l7 + httpURL + url + headers
        case .dns:
            let q = l7
            (d + q).copyMemory(from: s + q, byteCount: dnsQuery)
            let query = min(Int(d.load(fromByteOffset: q + dnsQueryLength, as: UInt16.self)), Int(SLUICE_DNS_QUERY_MAX))
            (d + q + dnsQuery).copyMemory(from: s + q + dnsQuery, byteCount: query)
            let ips = min(Int(d.load(fromByteOffset: q + dnsIPCount, as: UInt8.self)), Int(SLUICE_DNS_IPS_MAX)) * 16
            (d + q + dnsIPs).copyMemory(from: s + q + dnsIPs, byteCount: ips)
            let tail = 408 - dnsPolicyID  // to the end of sluice_flow_dns
            (d + q + dnsPolicyID).copyMemory(from: s + q + dnsPolicyID, byteCount: tail)
            return l7 + dnsQuery + query + ips + tail
        case nil:
            return l7
        }
    }
}
