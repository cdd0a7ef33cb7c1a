import CSluiceShared
import Flows

/// What turning a ring record into a `Flow` needs besides the record: the endpoint directory of
/// the time it was read, the ring's uuid seed and the node name. The reader makes a new one when
/// it reloads the directory; kept records hold theirs, so a record decoded later (a `GetFlows`
/// from the history) names its endpoints as they were named when it was read.
public final class FlowDecodeContext {
    public let directory: EndpointDirectory
    public let seed: String
    /// `--node-name`, overriding the directory's.
    public let nodeNameOverride: String?

    public init(directory: EndpointDirectory, seed: String, nodeNameOverride: String?) {
        self.directory = directory
        self.seed = seed
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
        flow.uuid = FlowUUID.make(seed: seed, seq: seq)
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
