import Policy
import SluiceIO
import SluiceSync

/// The proxy's workers: one event loop per thread, each with its own transparent HTTP listener
/// in one SO_REUSEPORT group. `start()` returns once every loop runs.
public final class ProxyServer {
    public let config: ProxyConfig
    private var contexts: [WorkerContext] = []
    private var listeners: [HTTPListener] = []
    private var threads: [WorkerThread] = []

    /// The listening sockets (the first goes into the datapath's sockmap).
    public private(set) var httpListenerFDs: [Int32] = []
    /// The DNS proxy's UDP and TCP listeners, one each per worker (the first of each goes into
    /// sockmap slots SLUICE_SOCK_DNS_UDP and SLUICE_SOCK_DNS_TCP); empty without `dns`.
    public private(set) var dnsUDPListenerFDs: [Int32] = []
    public private(set) var dnsTCPListenerFDs: [Int32] = []
    private var dnsWorkers: [DNSWorker] = []

    public init(config: ProxyConfig) {
        self.config = config
    }

    /// Opens the listeners and starts the worker threads. With `dns`, every worker also runs the
    /// DNS proxy (UDP and TCP listeners on `dns.listenAddress:listenPort`), learning toFQDNs
    /// names through `fqdn` when given. `recording` pauses and resumes the workers' flow records
    /// (`sluice flows pause|resume`).
    public func start(
        steering: SteeringTable, flows: FlowSink?, snapshot: PolicySnapshot,
        dns: DNSProxyConfig? = nil, fqdn: FQDNLearning? = nil, recording: FlowRecording = FlowRecording()
    ) throws {
        for i in 0..<max(1, config.workers) {
            let fd = try Socket.listenTCP(
                address: config.httpListenAddress, port: config.httpListenPort,
                transparent: true, reusePort: true)
            httpListenerFDs.append(fd)
            // HTTP clients speak first: wake the worker when the request is there, not at the
            // handshake (one read and one epoll round less per connection).
            try Socket.deferAccept(fd, seconds: 5)
            let loop = try EventLoop()
            let ctx = WorkerContext(
                loop: loop, config: config, steering: steering, flows: flows, snapshot: snapshot, recording: recording)
            let listener = HTTPListener(ctx: ctx, fd: fd)
            try listener.start()
            contexts.append(ctx)
            listeners.append(listener)
            if let dns {
                let udp = try DNSSocket.listenUDP(address: dns.listenAddress, port: dns.listenPort)
                dnsUDPListenerFDs.append(udp)
                let tcp = try Socket.listenTCP(
                    address: dns.listenAddress, port: dns.listenPort,
                    transparent: true, reusePort: true)
                dnsTCPListenerFDs.append(tcp)
                let worker = DNSWorker(ctx: ctx, config: dns, service: fqdn)
                try worker.start(udpFD: udp, tcpFD: tcp)
                dnsWorkers.append(worker)
            }
            let pin = config.pinFirstCPU.map { ($0 + i) % ProxyConfig.cores }
            let thread = WorkerThread(name: "worker-\(i)") {
                if let pin { _ = WorkerThread.pinCurrentThread(cpu: pin) }
                loop.run()
            }
            try thread.start()
            threads.append(thread)
        }
    }

    /// Hands a new policy snapshot to every worker; requests parsed afterwards use it.
    public func publish(_ snapshot: PolicySnapshot) {
        for ctx in contexts { ctx.publish(snapshot) }
    }

    /// Hands `snapshot` to every worker and waits until each has taken it (a request parsed
    /// after this returns uses it), at most `timeoutNs`; returns whether all did. A policy install
    /// calls it before it writes maps that rely on the workers' rules (docs/architecture.md,
    /// "Policy updates").
    public func publishAndWait(_ snapshot: PolicySnapshot, timeoutNs: UInt64 = 5_000_000_000) -> Bool {
        onEveryWorker(timeoutNs: timeoutNs) { $0.install(snapshot) } != nil
    }

    /// The workers' connection counts and listener pauses, summed; nil when a worker did not
    /// answer within `timeoutNs` (each worker reports from its own loop thread).
    public func stats(timeoutNs: UInt64 = 1_000_000_000) -> ListenerStats? {
        let each = onEveryWorker(timeoutNs: timeoutNs) { ctx -> ListenerStats in
            var s = ctx.listenerStats
            s.openConnections = ctx.connectionCount
            s.connectionCap = ctx.connectionCap
            return s
        }
        return each?.reduce(ListenerStats(), +)
    }

    /// Runs `job` on every worker's loop thread and waits until each has, at most `timeoutNs`:
    /// the results (in no particular order), nil when a worker did not answer in time.
    private func onEveryWorker<T>(timeoutNs: UInt64, _ job: @escaping (WorkerContext) -> T) -> [T]? {
        let done = Condition()
        var results: [T] = []
        for ctx in contexts {
            ctx.loop.execute { [unowned ctx] in
                let result = job(ctx)
                done.lock()
                results.append(result)
                done.signal()
                done.unlock()
            }
        }
        let deadline = SystemClock.monotonicNs() + timeoutNs
        done.lock()
        defer { done.unlock() }
        while results.count < contexts.count {
            if !done.wait(untilMonotonicNs: deadline) && results.count < contexts.count { return nil }
        }
        return results
    }

    /// Stops every loop and waits for the threads.
    public func stop() {
        for ctx in contexts { ctx.loop.stop() }
        for t in threads { t.join() }
        for fd in httpListenerFDs + dnsUDPListenerFDs + dnsTCPListenerFDs { Socket.close(fd) }
        httpListenerFDs = []
        dnsUDPListenerFDs = []
        dnsTCPListenerFDs = []
        dnsWorkers = []
    }
}
