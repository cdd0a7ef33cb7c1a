import CSluiceShared
import HTTP1
import Policy
import SluiceIO

/// How a steered connection reached the proxy, read back from the datapath's steering table
/// (the tc program wrote it when it marked the SYN).
public struct SteerInfo: Sendable, Equatable {
    /// The endpoint whose policy applies (destination on ingress, source on egress).
    public var endpointID: UInt32
    public var sourceIdentity: UInt32
    public var destinationIdentity: UInt32
    public var direction: Direction
    /// When tc recorded the entry (CLOCK_MONOTONIC ns; 0 when unknown): `SteeringCache` keeps
    /// only entries recorded after the last change to the steering maps.
    public var createdNs: UInt64

    public init(endpointID: UInt32, sourceIdentity: UInt32, destinationIdentity: UInt32, direction: Direction,
                createdNs: UInt64 = 0) {
        self.endpointID = endpointID
        self.sourceIdentity = sourceIdentity
        self.destinationIdentity = destinationIdentity
        self.direction = direction
        self.createdNs = createdNs
    }
}

/// The steering table as the proxy sees it: 4-tuple -> how it was steered.
public protocol SteeringTable: AnyObject {
    /// Addresses in network order, ports in host order; protocol 6 or 17.
    func lookup(sourceAddress: UInt32, sourcePort: UInt16, destinationAddress: UInt32,
                destinationPort: UInt16, protocol: UInt8) -> SteerInfo?
    /// The steering maps' change counter and the end of their last change (`SteeringEpoch`),
    /// or nil when entries must not be cached (the default).
    var changeEpoch: (epoch: UInt64, lastChangeNs: UInt64)? { get }
}

extension SteeringTable {
    public var changeEpoch: (epoch: UInt64, lastChangeNs: UInt64)? { nil }
}

/// Where flow records go (the pinned flow ring, or a test collector).
public protocol FlowSink: AnyObject {
    /// Fills one record in place; the sink publishes it.
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
    /// The policy in force on this worker. Replaced whole by `publish`; a request uses the
    /// snapshot current when its head was parsed.
    public private(set) var snapshot: PolicySnapshot
    let replies: LocalReply.Cache
    /// Idle keep-alive upstream connections of this worker.
    let upstreams: UpstreamPool
    /// Live connections (so the worker can count and close them).
    var connectionCount = 0

    public init(loop: EventLoop, config: ProxyConfig, steering: SteeringTable, flows: FlowSink?,
                snapshot: PolicySnapshot) {
        self.loop = loop
        self.config = config
        self.steering = SteeringCache(steering)
        self.flows = config.recordFlows ? flows : nil
        self.snapshot = snapshot
        self.replies = LocalReply.Cache(accessDenied: config.accessDeniedMessage)
        self.upstreams = UpstreamPool(loop: loop)
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
