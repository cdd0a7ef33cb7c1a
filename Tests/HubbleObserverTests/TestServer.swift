import Flows
import Glibc
import SluiceIO
import SluiceModel
import SluiceSync

@testable import HubbleObserver

/// An observer with its gRPC service on 127.0.0.1 (a kernel-chosen port), its loop on a thread
/// of its own, and no flow ring (flows are ingested by the test). `stop()` ends the thread.
final class TestServer {
    let observer: Observer
    let service: GRPCService
    let port: UInt16
    private let thread: WorkerThread

    init(
        nodeName: String = "node-a", maxFlows: Int = 4095, pinDirectory: String? = nil,
        idleTimeoutNs: UInt64 = 300_000_000_000, handshakeTimeoutNs: UInt64 = 10_000_000_000,
        tls: (certificate: String, key: String, clientCA: String?)? = nil
    ) throws {
        service = GRPCService(idleTimeoutNs: idleTimeoutNs, handshakeTimeoutNs: handshakeTimeoutNs)
        var options = ObserverOptions()
        options.grpcAddress = ListenAddress(host: IPv4Address(127, 0, 0, 1), port: 0)
        options.pinDirectory = pinDirectory ?? "/sys/fs/bpf/sluice-none-\(getpid())"
        options.stateDirectory = "/nonexistent"
        options.nodeName = nodeName
        options.maxFlows = maxFlows
        options.tlsCertFile = tls?.certificate
        options.tlsKeyFile = tls?.key
        options.tlsClientCAFile = tls?.clientCA
        observer = try Observer(options: options)
        try observer.host(service)
        port = service.acceptor?.boundPort ?? 0
        let observer = observer
        thread = WorkerThread(name: "test-observer") { observer.run() }
        try thread.start()
    }

    /// Starts a thread that waits (up to 5 s) until a follow stream listens to the observer, then
    /// runs `feed` (the test's ingest). The caller joins it once it has read what it needs.
    func feedOnceListening(_ feed: @escaping () -> Void) throws -> WorkerThread {
        let feeder = WorkerThread(name: "feeder") { [self] in
            let deadline = SystemClock.monotonicNs() + 5_000_000_000
            while sync({ self.observer.listenerCount }) == 0 && SystemClock.monotonicNs() < deadline {
                usleep(2_000)
            }
            feed()
        }
        try feeder.start()
        return feeder
    }

    /// Runs `body` on the loop thread and waits for it.
    func sync<T>(_ body: @escaping () -> T) -> T {
        var result: T?
        var done = false
        let lock = Lock()
        observer.loop.execute {
            let value = body()
            lock.withLock {
                result = value
                done = true
            }
        }
        while !lock.withLock({ done }) { usleep(1_000) }
        return result!
    }

    func ingest(_ flows: [Flow]) {
        sync { for f in flows { self.observer.ingest(f) } }
    }

    func client(timeoutMs: Int32 = 5_000) throws -> ObserverClient {
        try ObserverClient(host: IPv4Address(127, 0, 0, 1), port: port, timeoutMs: timeoutMs)
    }

    func stop() {
        observer.loop.stop()
        thread.join()
    }

    /// A TCP flow `pod` (default) -> backend/api at `second`, with `verdict`.
    static func flow(_ second: Int64, pod: String = "client", verdict: Flow.Verdict = .forwarded) -> Flow {
        var f = Flow(
            time: Flow.Timestamp(seconds: second), verdict: verdict,
            ip: Flow.IP(source: "10.244.1.11", destination: "10.244.1.12", ipVersion: .ipv4),
            l4: .tcp(Flow.TCP(sourcePort: 40000, destinationPort: 80, flags: [.syn])),
            source: FlowEndpoint(id: 2, identity: 1000, namespace: "default", labels: ["k8s:app=\(pod)"], podName: pod),
            destination: FlowEndpoint(id: 3, identity: 1001, namespace: "backend", podName: "api"), type: .l3L4,
            nodeName: "node-a", eventType: Flow.EventType(type: 4), trafficDirection: .egress)
        f.uuid = "uuid-\(second)"
        return f
    }
}
