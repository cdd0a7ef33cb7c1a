import CSluiceShared
import Flows
import Foundation
import Glibc
import Policy
import PolicyYAML
import SluiceIO
import SluiceModel
import SluiceTestSupport

@testable import Proxy

/// A steering table that answers every lookup with one fixed value (nil = not steered).
final class FixedSteering: SteeringTable {
    let info: SteerInfo?
    /// The deny cache the DNS proxy fills (nil: none) and the steering epoch it checks entries
    /// against (nil: none, entries always fresh).
    let denyCache: DNSDenyCache?
    let epoch: (epoch: UInt64, lastChangeNs: UInt64)?
    init(_ info: SteerInfo?, denyCache: DNSDenyCache? = nil, epoch: (epoch: UInt64, lastChangeNs: UInt64)? = nil) {
        self.info = info
        self.denyCache = denyCache
        self.epoch = epoch
    }

    var dnsDenyCache: DNSDenyCache? { denyCache }
    var changeEpoch: (epoch: UInt64, lastChangeNs: UInt64)? { epoch }

    func lookup(
        sourceAddress: UInt32, sourcePort: UInt16, destinationAddress: UInt32,
        destinationPort: UInt16, protocol: UInt8
    ) -> SteerInfo? { info }
}

/// A flow sink that fills a fresh zeroed record per append and keeps a copy (any thread).
final class CollectingSink: FlowSink {
    private let lock = NSLock()
    private var records: [sluice_flow] = []

    func append(_ fill: (UnsafeMutablePointer<sluice_flow>) -> Void) {
        let slot = UnsafeMutablePointer<sluice_flow>.allocate(capacity: 1)
        defer { slot.deallocate() }
        slot.initialize(to: sluice_flow())
        fill(slot)
        lock.lock()
        records.append(slot.pointee)
        lock.unlock()
    }

    /// The records so far, decoded as Hubble flows (no endpoint names).
    var flows: [Flow] { flows(directory: EndpointDirectory()) }

    /// The records so far, decoded with `directory` (policy names, endpoint names).
    func flows(directory: EndpointDirectory) -> [Flow] {
        lock.lock()
        defer { lock.unlock() }
        return records.map { Flow.decode($0, directory: directory, monotonicToWallOffsetNs: 0) }
    }

    /// Waits until at least `count` records exist (flows are written on the loop thread).
    func waitForFlows(_ count: Int, timeout: TimeInterval = 5) -> [Flow] {
        _ = eventually(timeout: timeout) { self.flows.count >= count }
        return flows
    }
}

/// Polls `condition` (every 2 ms) until it holds or `timeout` seconds passed; returns whether it
/// held. For state another thread produces; a test asserts on the result, so a state that never
/// comes fails the test after the deadline instead of passing after a fixed sleep.
func eventually(timeout: TimeInterval = 5, _ condition: () -> Bool) -> Bool {
    let until = Date().addingTimeInterval(timeout)
    while true {
        if condition() { return true }
        if Date() >= until { return false }
        usleep(2000)
    }
}

/// How a test drives a worker loop that runs on its own thread with a `ManualClock`.
protocol ManualLoopDriver {
    var loop: EventLoop { get }
    var clock: ManualClock { get }
}

extension ManualLoopDriver {
    /// Runs `body` on the loop thread and waits for it.
    func onLoop<T>(_ body: @escaping () -> T) -> T {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: T?
        loop.execute {
            result = body()
            done.signal()
        }
        done.wait()
        return result!
    }

    /// Returns once the loop has handled every event that was ready when it was called (bytes a
    /// test sent before, on loopback, are in the socket by then): the first task runs in the
    /// iteration that also sees those events, the second only after that iteration ended.
    func drain() {
        onLoop {}
        onLoop {}
    }

    /// Moves the loop's time forward by `ns` and fires the timers that came due, on the loop
    /// thread; returns after they ran.
    func advance(by ns: UInt64) {
        let loop = self.loop, clock = self.clock
        onLoop {
            clock.advance(by: ns)
            loop.runDueTimers()
        }
    }

    /// The loop's current time and earliest deadline.
    func timers() -> (now: UInt64, next: UInt64?) {
        let loop = self.loop
        return onLoop { (loop.now, loop.nextDeadline) }
    }
}

/// The proxy tests' additions to `TestPolicy` (SluiceTestSupport): both sides' rules and the
/// steering entries of the two pods.
extension TestPolicy {
    /// Two CNPs on `port`: `client-egress` lets app=client reach app=backend with the `egress`
    /// HTTP rules, `backend-ingress` lets app=client into app=backend with the `ingress` ones
    /// (YAML flow items; an empty list = an L4-only rule on that side).
    static func bothSidesYAML(
        port: UInt16, egress: [String], ingress: [String],
        ingressPeer: String = "app: client"
    ) -> String {
        func rules(_ items: [String]) -> String {
            items.isEmpty
                ? "" : "\n      rules:\n        http:\n" + items.map { "        - " + $0 }.joined(separator: "\n")
        }
        return """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: client-egress, namespace: default}
            spec:
              endpointSelector: {matchLabels: {app: client}}
              egress:
              - toEndpoints: [{matchLabels: {app: backend}}]
                toPorts:
                - ports: [{port: "\(port)", protocol: TCP}]\(rules(egress))
            ---
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: backend-ingress, namespace: default}
            spec:
              endpointSelector: {matchLabels: {app: backend}}
              ingress:
              - fromEndpoints: [{matchLabels: {\(ingressPeer)}}]
                toPorts:
                - ports: [{port: "\(port)", protocol: TCP}]\(rules(ingress))

            """
    }

    /// What the datapath records for a client → backend connection with L7 rules on both sides.
    static func bothSidesSteer(_ snapshot: PolicySnapshot) -> SteerInfo {
        SteerInfo(
            sourceEndpoint: clientID, destinationEndpoint: backendID,
            sourceIdentity: snapshot.identity(ofEndpoint: clientID) ?? 0,
            destinationIdentity: snapshot.identity(ofEndpoint: backendID) ?? 0, sides: [.egress, .ingress])
    }

    /// The directory `sluice observe` would read: the snapshot's policies by number.
    static func directory(_ snapshot: PolicySnapshot) -> EndpointDirectory {
        EndpointDirectory(
            file: EndpointDirectory.File(
                nodeName: "", endpoints: [], identities: [],
                policies: snapshot.policies.map {
                    EndpointDirectory.Policy(
                        ref: $0.ref, kind: $0.kind.rawValue, namespace: $0.namespace, name: $0.name)
                }))
    }

    /// What the datapath would have recorded for a client → backend connection.
    static func ingressSteer(_ snapshot: PolicySnapshot) -> SteerInfo {
        SteerInfo(
            endpointID: backendID, sourceIdentity: snapshot.identity(ofEndpoint: clientID) ?? 0,
            destinationIdentity: snapshot.identity(ofEndpoint: backendID) ?? 0, direction: .ingress)
    }
}

/// One proxy worker (real `EventLoop` on a `WorkerThread`) and a way to hand it connections the
/// way `HTTPListener` does, but with addresses chosen by the test: the original destination is
/// the test's upstream server on loopback. No BPF, no sandbox. The loop's time is a
/// `ManualClock`: timeouts fire only when the test calls `advance(by:)`.
final class ProxyHarness: ManualLoopDriver {
    let ctx: WorkerContext
    let sink = CollectingSink()
    let clock = ManualClock()
    var loop: EventLoop { ctx.loop }
    private let thread: WorkerThread
    private let listener: (fd: Int32, port: UInt16)

    /// `steering` replaces the fixed answer `steer` when given.
    init(
        snapshot: PolicySnapshot, steer: SteerInfo?, config: ProxyConfig = ProxyConfig(workers: 1),
        steering: SteeringTable? = nil
    ) throws {
        let loop = try EventLoop(clock: clock)
        ctx = WorkerContext(
            loop: loop, config: config, steering: steering ?? FixedSteering(steer), flows: sink,
            snapshot: snapshot)
        guard let l = Loopback.listen() else { throw HarnessError.noSocket }
        listener = l
        thread = WorkerThread(name: "test-loop") { loop.run() }
        try thread.start()
    }

    /// Connects a client and starts an `HTTP1Connection` for it whose original destination is
    /// 127.0.0.1:`upstreamPort`, using the steering table's answer like the listener does.
    /// `beforeStart` runs after the TCP handshake and before the connection is started.
    func connect(upstreamPort: UInt16, beforeStart: ((TestSocket) -> Void)? = nil) throws -> TestSocket {
        guard let client = TestSocket.connect(port: listener.port) else { throw HarnessError.noSocket }
        beforeStart?(client)
        let fd = Glibc.accept(listener.fd, nil, nil)
        guard fd >= 0 else { throw HarnessError.noSocket }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        let clientPort = Loopback.localPort(client.fd)
        let addresses = ConnectionAddresses(
            clientAddress: Loopback.networkOrder, clientPort: clientPort,
            originalDestinationAddress: Loopback.networkOrder,
            originalDestinationPort: upstreamPort)
        let ctx = self.ctx
        ctx.loop.execute {
            let steer = ctx.steering.lookup(
                sourceAddress: addresses.clientAddress, sourcePort: clientPort,
                destinationAddress: addresses.originalDestinationAddress,
                destinationPort: upstreamPort, protocol: IPProtocol.tcp)
            // As HTTPListener: a port with TLS interception starts with the handshake.
            if TLSAcceptor.startIfIntercepted(ctx: ctx, fd: fd, addresses: addresses, steer: steer) { return }
            SocketHTTP1Connection(ctx: ctx, fd: fd, addresses: addresses, steer: steer).start()
        }
        return client
    }

    /// Stops the loop and joins the thread.
    func stop() {
        ctx.loop.stop()
        thread.join()
        Glibc.close(listener.fd)
    }

    enum HarnessError: Error { case noSocket }
}
