import Flows

/// observer.proto `GetFlowsRequest`: the subset Sluice reads (unknown fields are skipped, as
/// protobuf readers do; `field_mask` and `experimental` are not applied).
public struct GetFlowsRequest: Equatable, Sendable {
    public var number: UInt64 = 0
    public var first = false
    public var follow = false
    public var whitelist: [FlowFilter.Criteria] = []
    public var blacklist: [FlowFilter.Criteria] = []
    public var since: Flow.Timestamp?
    public var until: Flow.Timestamp?
    /// `field_mask.paths` (`FlowProtoMask`): the flow fields the answer carries; empty: all.
    public var fieldMask: [String] = []

    public init() {}

    public init(bytes: ArraySlice<UInt8>) throws(ProtoError) {
        var r = ProtoReader(bytes)
        while let (field, value) = try r.next() {
            switch field {
            case 1: number = try value.varint()
            case 3: follow = try value.varint() != 0
            case 5: blacklist.append(try FlowFilterProto.decode(value.payload()))
            case 6: whitelist.append(try FlowFilterProto.decode(value.payload()))
            case 7: since = try FlowProto.timestamp(value.payload())
            case 8: until = try FlowProto.timestamp(value.payload())
            case 9: first = try value.varint() != 0
            case 10:
                var mask = ProtoReader(try value.payload())
                while let (maskField, path) = try mask.next() {
                    if maskField == 1 { fieldMask.append(try path.string()) }
                }
            default: break
            }
        }
    }

    /// The request's bytes (a client's).
    public var bytes: [UInt8] {
        var w = ProtoWriter()
        w.uint(1, number)
        w.bool(3, follow)
        for c in blacklist { w.lengthDelimited(5, FlowFilterProto.encode(c)) }
        for c in whitelist { w.lengthDelimited(6, FlowFilterProto.encode(c)) }
        if let since { w.timestamp(7, seconds: since.seconds, nanos: since.nanos) }
        if let until { w.timestamp(8, seconds: until.seconds, nanos: until.nanos) }
        w.bool(9, first)
        if !fieldMask.isEmpty { w.message(10) { $0.strings(1, fieldMask) } }
        return w.bytes
    }
}

/// observer.proto `GetFlowsResponse`: a flow or a lost-events record, with `node_name` and `time`.
public enum GetFlowsResponse {
    public static func flow(_ f: Flow) -> [UInt8] {
        var w = ProtoWriter(capacity: 1024)
        w.message(1) { FlowProto.encode(f, into: &$0) }
        w.string(1000, f.nodeName)
        w.timestamp(1001, seconds: f.time.seconds, nanos: f.time.nanos)
        return w.bytes
    }

    /// `flow(f)` with its gRPC prefix (`GRPCWire.frame`), written in place: what a follow or
    /// GetFlows stream sends.
    public static func framedFlow(_ f: Flow) -> [UInt8] {
        var w = ProtoWriter(capacity: 1024)
        w.startGRPCFrame()
        w.message(1) { FlowProto.encode(f, into: &$0) }
        w.string(1000, f.nodeName)
        w.timestamp(1001, seconds: f.time.seconds, nanos: f.time.nanos)
        w.finishGRPCFrame()
        return w.bytes
    }

    /// `framedFlow(f)` with the endpoints' messages from `cache` (the same bytes).
    public static func framedFlow(_ f: Flow, cache: FlowProto.EndpointCache) -> [UInt8] {
        var w = ProtoWriter(capacity: 1024)
        w.startGRPCFrame()
        w.message(1) { FlowProto.encode(f, into: &$0, cache: cache) }
        w.string(1000, f.nodeName)
        w.timestamp(1001, seconds: f.time.seconds, nanos: f.time.nanos)
        w.finishGRPCFrame()
        return w.bytes
    }

    /// `framedFlow(f)` with only the fields `mask` keeps in the flow.
    public static func framedFlow(_ f: Flow, mask: FlowProtoMask) -> [UInt8] {
        guard mask.isActive else { return framedFlow(f) }
        var flow = ProtoWriter(capacity: 1024)
        FlowProto.encode(f, into: &flow)
        var w = ProtoWriter(capacity: 1024)
        w.startGRPCFrame()
        w.message(1) { mask.apply(to: flow.bytes[...], into: &$0) }
        w.string(1000, f.nodeName)
        w.timestamp(1001, seconds: f.time.seconds, nanos: f.time.nanos)
        w.finishGRPCFrame()
        return w.bytes
    }

    public static func lost(_ e: LostEvent) -> [UInt8] {
        var w = ProtoWriter()
        w.message(3) {
            $0.uint(1, UInt64(e.source.rawValue))
            $0.uint(2, e.count)
            if let cpu = e.cpu { $0.message(3) { $0.int32(1, cpu) } }
        }
        w.string(1000, e.nodeName)
        w.timestamp(1001, seconds: e.time.seconds, nanos: e.time.nanos)
        return w.bytes
    }

    /// What a response carried (client side).
    public enum Decoded {
        case flow(Flow)
        case lost(LostEvent)
        case other
    }

    public static func decode(_ bytes: ArraySlice<UInt8>) throws(ProtoError) -> Decoded {
        var r = ProtoReader(bytes)
        var result = Decoded.other
        var nodeName = ""
        var time = Flow.Timestamp()
        while let (field, value) = try r.next() {
            switch field {
            case 1: result = .flow(try FlowProto.decode(value.payload()))
            case 3:
                var lost = LostEvent(source: .unknown, count: 0)
                var l = ProtoReader(try value.payload())
                while let (n, v) = try l.next() {
                    if n == 1 {
                        lost.source = LostEvent.Source(rawValue: UInt8(truncatingIfNeeded: try v.varint())) ?? .unknown
                    }
                    if n == 2 { lost.count = try v.varint() }
                }
                result = .lost(lost)
            case 1000: nodeName = try value.string()
            case 1001: time = try FlowProto.timestamp(value.payload())
            default: break
            }
        }
        if case .lost(var lost) = result {
            lost.nodeName = nodeName
            lost.time = time
            result = .lost(lost)
        }
        return result
    }
}

/// observer.proto `ServerStatusResponse`.
public struct ServerStatus: Equatable, Sendable {
    public var numFlows: UInt64
    public var maxFlows: UInt64
    public var seenFlows: UInt64
    public var uptimeNs: UInt64
    public var version: String
    public var flowsRate: Double

    public init(
        numFlows: UInt64, maxFlows: UInt64, seenFlows: UInt64, uptimeNs: UInt64, version: String, flowsRate: Double
    ) {
        self.numFlows = numFlows
        self.maxFlows = maxFlows
        self.seenFlows = seenFlows
        self.uptimeNs = uptimeNs
        self.version = version
        self.flowsRate = flowsRate
    }

    public var bytes: [UInt8] {
        var w = ProtoWriter()
        w.uint(1, numFlows)
        w.uint(2, maxFlows)
        w.uint(3, seenFlows)
        w.uint(4, uptimeNs)
        w.string(8, version)
        w.double(9, flowsRate)
        return w.bytes
    }
}

/// observer.proto `GetNamespacesResponse`: `Namespace { cluster, namespace }` each.
public enum GetNamespacesResponse {
    public static func bytes(cluster: String, namespaces: [String]) -> [UInt8] {
        var w = ProtoWriter()
        for namespace in namespaces {
            w.message(1) {
                $0.string(1, cluster)
                $0.string(2, namespace)
            }
        }
        return w.bytes
    }
}

/// peer.proto `ChangeNotification` (`type` PEER_ADDED = 1), with `tls` (`TLS.server_name`) when
/// the peer serves TLS: without it Relay dials the peer in plaintext.
public enum ChangeNotification {
    public static func peerAdded(name: String, address: String, tlsServerName: String? = nil) -> [UInt8] {
        var w = ProtoWriter()
        w.string(1, name)
        w.string(2, address)
        w.uint(3, 1)
        if let tlsServerName { w.message(4) { $0.string(1, tlsServerName) } }
        return w.bytes
    }

    /// The name Relay checks a peer's certificate against, as Cilium's peer service writes it:
    /// `<node>.<cluster>.hubble-grpc.cilium.io`, dots in the node and cluster names made dashes
    /// (the certificates Cilium's certgen and Helm make are for `*.<cluster>.hubble-grpc.cilium.io`).
    public static func tlsServerName(nodeName: String, clusterName: String) -> String {
        func label(_ s: String) -> String { String(s.map { $0 == "." ? "-" : $0 }) }
        return label(nodeName) + "." + label(clusterName.isEmpty ? "default" : clusterName) + ".hubble-grpc.cilium.io"
    }
}

/// grpc.health.v1 `HealthCheckRequest` / `HealthCheckResponse` (SERVING = 1, SERVICE_UNKNOWN = 3).
public enum HealthCheck {
    public static func service(_ bytes: ArraySlice<UInt8>) throws(ProtoError) -> String {
        var r = ProtoReader(bytes)
        var service = ""
        while let (n, v) = try r.next() {
            if n == 1 { service = try v.string() }
        }
        return service
    }

    public static func response(status: UInt64) -> [UInt8] {
        var w = ProtoWriter()
        w.uint(1, status)
        return w.bytes
    }
}
