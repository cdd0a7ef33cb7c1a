import CSluiceShared
import HTTP1
import Policy
import SluiceIO

/// How a steered connection reached the proxy, read back from the datapath's steering table
/// (the tc program wrote it when it steered the SYN or datagram): both endpoints, both
/// identities, and the sides whose L7 rules apply. When both sides carry L7 rules on the port the
/// proxy decides every request with both and lets it pass only when both allow it (Cilium sends
/// such a connection through an egress and an ingress proxy; docs/architecture.md).
public struct SteerInfo: Sendable, Equatable {
    /// Whose L7 rules apply (`SLUICE_STEER_EGRESS`, `SLUICE_STEER_INGRESS`).
    public struct Sides: OptionSet, Sendable, Equatable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// The source endpoint's egress rules (peer: the destination identity).
        public static let egress = Sides(rawValue: UInt8(SLUICE_STEER_EGRESS))
        /// The destination endpoint's ingress rules (peer: the source identity).
        public static let ingress = Sides(rawValue: UInt8(SLUICE_STEER_INGRESS))
    }

    /// Local endpoint of the source address; 0 when the client is not a local pod.
    public var sourceEndpoint: UInt32
    /// Local endpoint of the destination address; 0 when the server is not a local pod.
    public var destinationEndpoint: UInt32
    public var sourceIdentity: UInt32
    public var destinationIdentity: UInt32
    public var sides: Sides
    /// When tc recorded the entry (CLOCK_MONOTONIC ns; 0 when unknown): `SteeringCache` keeps
    /// only entries recorded after the last change to the steering maps.
    public var createdNs: UInt64

    public init(
        sourceEndpoint: UInt32, destinationEndpoint: UInt32, sourceIdentity: UInt32,
        destinationIdentity: UInt32, sides: Sides, createdNs: UInt64 = 0
    ) {
        self.sourceEndpoint = sourceEndpoint
        self.destinationEndpoint = destinationEndpoint
        self.sourceIdentity = sourceIdentity
        self.destinationIdentity = destinationIdentity
        self.sides = sides
        self.createdNs = createdNs
    }

    /// A connection steered for one side's rules only: `endpointID` is the source on egress, the
    /// destination on ingress; the other endpoint is unknown (0).
    public init(
        endpointID: UInt32, sourceIdentity: UInt32, destinationIdentity: UInt32, direction: Direction,
        createdNs: UInt64 = 0
    ) {
        self.init(
            sourceEndpoint: direction == .egress ? endpointID : 0,
            destinationEndpoint: direction == .ingress ? endpointID : 0,
            sourceIdentity: sourceIdentity, destinationIdentity: destinationIdentity,
            sides: direction == .egress ? .egress : .ingress, createdNs: createdNs)
    }

    /// The datapath's record (`struct sluice_steer_info`).
    public init(_ info: sluice_steer_info) {
        self.init(
            sourceEndpoint: info.src_endpoint, destinationEndpoint: info.dst_endpoint,
            sourceIdentity: info.src_identity, destinationIdentity: info.dst_identity,
            sides: Sides(rawValue: info.sides), createdNs: info.created_ns)
    }

    /// The direction of the first proxy Cilium would send the connection through: egress when
    /// the source's egress rules apply, else ingress.
    public var firstDirection: Direction { sides.contains(.egress) ? .egress : .ingress }

    /// The SO_MARK of the proxy's upstream sockets for this connection: `SLUICE_MARK_FROM_PROXY`
    /// with the client's identity, so the destination's L3/L4 ingress policy sees who sent the
    /// request (bpf/include/sluice_maps.h).
    public var upstreamMark: UInt32 { ProxyMarks.fromProxy(identity: sourceIdentity) }
}

/// The steering table as the proxy sees it: 4-tuple -> how it was steered.
public protocol SteeringTable: AnyObject {
    /// Addresses in network order, ports in host order; protocol 6 or 17.
    func lookup(
        sourceAddress: UInt32, sourcePort: UInt16, destinationAddress: UInt32,
        destinationPort: UInt16, protocol: UInt8
    ) -> SteerInfo?
    /// The steering maps' change counter and the end of their last change (`SteeringEpoch`),
    /// or nil when entries must not be cached (the default).
    var changeEpoch: (epoch: UInt64, lastChangeNs: UInt64)? { get }
    /// The datapath's DNS deny cache the DNS proxy fills (`DNSDenyCache`), or nil (the default):
    /// denied queries are then always answered by the proxy.
    var dnsDenyCache: DNSDenyCache? { get }
}

extension SteeringTable {
    public var changeEpoch: (epoch: UInt64, lastChangeNs: UInt64)? { nil }
    public var dnsDenyCache: DNSDenyCache? { nil }
}

/// Where flow records go (the pinned flow ring, or a test collector).
public protocol FlowSink: AnyObject {
    /// Fills one record in place; the sink publishes it. `fill` writes it with one of
    /// `FlowRecordWriter`'s functions, which write every field a reader reads, so the sink may
    /// hand it a slot that still holds an older record (the ring does).
    func append(_ fill: (UnsafeMutablePointer<sluice_flow>) -> Void)
}

/// Per-worker state shared by that worker's connections. Only its loop thread touches it,
/// except `publish(_:)`, which hands a new snapshot over through the loop's task queue.
public final class WorkerContext {
    public let loop: EventLoop
    public let config: ProxyConfig
    /// The steering table behind this worker's own cache (`SteeringCache`).
    public let steering: SteeringTable
    public let flows: FlowSink?
    /// Whether `flows` gets records right now (`sluice flows pause|resume`); shared by the workers.
    public let recording: FlowRecording
    /// The policy in force on this worker. Replaced whole by `publish`; a request uses the
    /// snapshot current when its head was parsed.
    public private(set) var snapshot: PolicySnapshot {
        didSet { snapshotGeneration &+= 1 }
    }
    /// Counts the snapshots installed (from 1): a connection's `HTTPPortDeciders` are found again
    /// when it moved, and compared per request without touching the snapshot.
    private(set) var snapshotGeneration: UInt64 = 1
    let replies: LocalReply.Cache
    /// Idle keep-alive upstream connections of this worker.
    let upstreams: UpstreamPool
    /// Pipes for spliced HTTP/1 bodies (nil: splicing off, `ProxyConfig.spliceBodies`).
    let pipes: SplicePipePool?
    /// OpenSSL contexts and upstream sessions of intercepted TLS connections (Sources/Proxy/TLS).
    lazy var tlsContexts = TLSContextStore(
        directory: config.tlsSecretsDirectory, kernelOffload: config.tlsKernelOffload)
    /// Live connections (so the worker can count and close them); when the last one closes,
    /// `memoryRelease` may give the memory they used back to the kernel.
    var connectionCount = 0 {
        didSet { memoryRelease.connectionsChanged(from: oldValue, to: connectionCount) }
    }
    /// Returns the arena pages of this worker's closed connections once it has none open.
    var memoryRelease: IdleMemoryRelease
    /// This worker's share of `ProxyConfig.maxConnections`: its listeners stop accepting at it.
    let connectionCap: Int
    /// What this worker's listeners did about their limits (`ProxyServer.stats`).
    var listenerStats = ListenerStats()

    public init(
        loop: EventLoop, config: ProxyConfig, steering: SteeringTable, flows: FlowSink?,
        snapshot: PolicySnapshot, recording: FlowRecording = FlowRecording()
    ) {
        self.loop = loop
        self.config = config
        self.steering = SteeringCache(steering)
        self.flows = config.recordFlows ? flows : nil
        self.recording = recording
        self.snapshot = snapshot
        self.replies = LocalReply.Cache(accessDenied: config.accessDeniedMessage)
        self.upstreams = UpstreamPool(loop: loop)
        self.pipes =
            config.spliceBodies && config.splicePipesPerWorker > 0
            ? SplicePipePool(
                limit: config.splicePipesPerWorker, responseBytes: config.splicePipeBytes,
                requestBytes: config.spliceRequestPipeBytes) : nil
        self.connectionCap = max(1, config.maxConnections / max(1, config.workers))
        self.memoryRelease = IdleMemoryRelease(loop: loop)
    }

    /// Installs `snapshot` on the loop thread. Safe from any thread.
    public func publish(_ snapshot: PolicySnapshot) {
        loop.execute { [unowned self] in self.snapshot = snapshot }
    }

    /// Makes `snapshot` the one in force. Loop thread only.
    func install(_ snapshot: PolicySnapshot) {
        self.snapshot = snapshot
    }
}
