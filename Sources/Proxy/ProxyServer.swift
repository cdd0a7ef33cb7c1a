import Policy
import SluiceIO

/// The proxy's workers: one event loop per thread, each with its own transparent HTTP listener
/// in one SO_REUSEPORT group. `start()` returns once every loop runs.
public final class ProxyServer {
    public let config: ProxyConfig
    private var contexts: [WorkerContext] = []
    private var listeners: [HTTPListener] = []
    private var threads: [WorkerThread] = []

    /// The listening sockets (the first goes into the datapath's sockmap).
    public private(set) var httpListenerFDs: [Int32] = []

    public init(config: ProxyConfig) {
        self.config = config
    }

    /// Opens the listeners and starts the worker threads.
    public func start(steering: SteeringTable, flows: FlowSink?, snapshot: PolicySnapshot) throws {
        for i in 0..<max(1, config.workers) {
            let fd = try Socket.listenTCP(address: config.httpListenAddress, port: config.httpListenPort,
                                          transparent: true, reusePort: true)
            httpListenerFDs.append(fd)
            let loop = try EventLoop()
            let ctx = WorkerContext(loop: loop, config: config, steering: steering, flows: flows, snapshot: snapshot)
            let listener = HTTPListener(ctx: ctx, fd: fd)
            try listener.start()
            contexts.append(ctx)
            listeners.append(listener)
            let pin = config.pinFirstCPU.map { ($0 + i) % ProxyConfig.cores }
            let thread = WorkerThread {
                if let pin { _ = Clock.pinThread(cpu: pin) }
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

    /// Stops every loop and waits for the threads.
    public func stop() {
        for ctx in contexts { ctx.loop.stop() }
        for t in threads { t.join() }
        for fd in httpListenerFDs { Socket.close(fd) }
        httpListenerFDs = []
    }
}
