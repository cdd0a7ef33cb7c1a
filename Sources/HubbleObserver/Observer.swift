import Flows
import SluiceIO

/// The observer process's core: one `EventLoop` thread that polls the flow ring, keeps the
/// `FlowHistory` and tells every `FlowListener`; the services (gRPC, metrics, page) live on the
/// same loop.
///
/// The seam for the services hosted in this process (`ObserverService`):
/// - `loop`: register listening sockets and connections on it (`EventLoop.register`), timers too;
/// - `history`: the last `options.maxFlows` flows, `seenFlows`, `lostEvents` (read on the loop);
/// - `addListener(_:)`: be called with each new flow (and lost-event count) on the loop;
/// - `host(_:)`: how `sluice-observer/main.swift` starts each service (the observer keeps it);
/// - `options`: the addresses (`metricsAddress`, `uiAddress`, `grpcAddress`), `metrics` text,
///   `nodeName`; `nodeName` (resolved), `startedNs` for uptime.
/// Everything here is used on the loop thread only; other threads use `loop.execute`.
public final class Observer: TimerTarget {
    public let options: ObserverOptions
    public let loop: EventLoop
    public private(set) var history: FlowHistory
    /// Monotonic ns at start (`ServerStatus.uptime_ns`).
    public let startedNs: UInt64
    /// Namespaces seen in flows (`GetNamespaces`), each with when it was last seen (monotonic
    /// ns, to within a second). As Hubble's namespace manager, one not seen for `namespaceTTLNs`
    /// is forgotten (`expireNamespaces`, run by `GetNamespaces` and every 30 s by the poll).
    public private(set) var namespaces: [String: UInt64] = [:]
    /// Hubble's `namespaceTTL`: an hour.
    public var namespaceTTLNs: UInt64 = 3_600_000_000_000
    private var recentNamespaces = ("", "")
    private var recentNamespacesNs: UInt64 = 0
    private var namespacesExpiredNs: UInt64 = 0
    private let reader: FlowRingReader
    private var listeners: [FlowListener] = []
    private var pollTimer: LoopTimer?
    /// The services started on this observer, kept alive as long as it is.
    public private(set) var services: [ObserverService] = []

    public init(options: ObserverOptions, loop: EventLoop? = nil) throws(SyscallError) {
        self.options = options
        if let loop {
            self.loop = loop
        } else {
            self.loop = try EventLoop()
        }
        history = FlowHistory(capacity: options.maxFlows)
        reader = FlowRingReader(
            pinDirectory: options.pinDirectory, stateDirectory: options.stateDirectory, nodeName: options.nodeName)
        reader.reloadDirectory()
        startedNs = SystemClock.monotonicNs()
    }

    /// The node name answers carry.
    public var nodeName: String { reader.nodeName }

    /// Why the flow ring is not mapped, or nil when it is.
    public var ringError: String? { reader.openError }

    /// Adds `listener`; it sees every flow decoded from now on (`history` holds the earlier ones).
    public func addListener(_ listener: FlowListener) {
        listeners.append(listener)
    }

    /// Listeners registered now.
    public var listenerCount: Int { listeners.count }

    /// Removes `listener` (by identity).
    public func removeListener(_ listener: FlowListener) {
        listeners.removeAll { $0 === listener }
    }

    /// Starts `service` on this observer (before `run`) and keeps it alive with the observer.
    public func host(_ service: ObserverService) throws {
        keep(service)
        try service.start(observer: self)
    }

    /// Keeps `service` alive as long as the observer (a service whose loop callbacks hold it
    /// unowned calls this from `start`: a caller's local array may be freed right after `start`
    /// in an optimised build).
    public func keep(_ service: ObserverService) {
        if !services.contains(where: { $0 === service }) { services.append(service) }
    }

    /// Starts polling the ring every `options.pollIntervalMs`.
    public func start() {
        let timer = LoopTimer(target: self)
        pollTimer = timer
        loop.schedule(timer, at: loop.now)
    }

    /// Runs the loop on the calling thread until `loop.stop()`.
    public func run() {
        start()
        loop.run()
    }

    public func timerFired(now: UInt64) {
        pollOnce(nowNs: now)
        if let pollTimer { loop.schedule(pollTimer, at: now + UInt64(options.pollIntervalMs) * 1_000_000) }
    }

    /// Reads what the ring has now into the history and the listeners.
    public func pollOnce(nowNs: UInt64) {
        reader.poll(nowNs: nowNs) { event in
            switch event {
            case .record(let raw): ingest(raw, nowNs: nowNs)
            case .lost(let count): ingestLost(count)
            }
        }
        if nowNs &- namespacesExpiredNs >= 30_000_000_000 { expireNamespaces(nowNs: nowNs) }
    }

    /// Adds one flow as if read from the ring at monotonic `nowNs` (the reader calls it; tests too).
    public func ingest(_ flow: Flow, nowNs: UInt64 = SystemClock.monotonicNs()) {
        history.append(flow)
        noteNamespaces(flow, nowNs: nowNs)
        for listener in listeners { listener.observe(flow) }
    }

    /// Adds one record read from the ring at monotonic `nowNs`: kept as a record in the history,
    /// handed as a record to the listeners that take records (metrics) and decoded, once, only
    /// when some listener wants the `Flow` (follow streams, the service map).
    public func ingest(_ raw: borrowing RawFlow, nowNs: UInt64 = SystemClock.monotonicNs()) {
        history.append(raw)
        noteNamespaces(raw, nowNs: nowNs)
        if listeners.allSatisfy(\.observesRecords) {
            // No listener wants a `Flow` (metrics only): not even an empty optional one is built.
            for listener in listeners { listener.observe(record: raw) }
            return
        }
        var flow: Flow?
        for listener in listeners {
            if listener.observesRecords {
                listener.observe(record: raw)
            } else {
                if flow == nil { flow = raw.decode() }
                listener.observe(flow!)
            }
        }
    }

    /// The namespaces of a record, resolved once per endpoint pair and directory.
    private func noteNamespaces(_ raw: borrowing RawFlow, nowNs: UInt64) {
        let key = RecentEndpoints(
            sourceID: raw.record.src_endpoint, destinationID: raw.record.dst_endpoint,
            sourceIPv4: withUnsafeBytes(of: raw.record.src_ip) { $0.load(as: UInt32.self) },
            destinationIPv4: withUnsafeBytes(of: raw.record.dst_ip) { $0.load(as: UInt32.self) },
            ipVersion: raw.record.ip_version)
        if key != recentEndpoints || recentContext !== raw.context {
            recentEndpoints = key
            recentContext = raw.context
            recentEndpointNamespaces = raw.context.namespaces(raw.record)
        }
        noteNamespaces(source: recentEndpointNamespaces.0, destination: recentEndpointNamespaces.1, nowNs: nowNs)
    }

    /// The endpoints of the last record whose namespaces were looked up.
    private struct RecentEndpoints: Equatable {
        var sourceID: UInt32 = 0
        var destinationID: UInt32 = 0
        var sourceIPv4: UInt32 = 0
        var destinationIPv4: UInt32 = 0
        var ipVersion: UInt8 = 0
    }
    private var recentEndpoints = RecentEndpoints()
    private var recentContext: FlowDecodeContext?
    private var recentEndpointNamespaces = ("", "")

    /// Marks the flow's namespaces seen now; the same pair within a second costs two compares.
    private func noteNamespaces(_ flow: Flow, nowNs: UInt64) {
        noteNamespaces(
            source: flow.source?.namespace ?? "", destination: flow.destination?.namespace ?? "", nowNs: nowNs)
    }

    private func noteNamespaces(source: String, destination: String, nowNs: UInt64) {
        let (a, b) = recentNamespaces
        if nowNs &- recentNamespacesNs < 1_000_000_000,
            (source == a && destination == b) || (source == b && destination == a)
        {
            return
        }
        if !source.isEmpty { namespaces[source] = nowNs }
        if !destination.isEmpty { namespaces[destination] = nowNs }
        recentNamespaces = (source, destination)
        recentNamespacesNs = nowNs
    }

    /// Forgets the namespaces not seen for `namespaceTTLNs` (Hubble's namespace manager).
    public func expireNamespaces(nowNs: UInt64 = SystemClock.monotonicNs()) {
        namespacesExpiredNs = nowNs
        // A namespace noted after `nowNs` was read (the loop's time is taken once per turn) is kept.
        namespaces = namespaces.filter { $0.value >= nowNs || nowNs - $0.value < namespaceTTLNs }
        // A pair forgotten here is noted again by its next flow.
        recentNamespacesNs = 0
    }

    /// Counts `count` records lost in the ring and tells the listeners.
    public func ingestLost(_ count: UInt64) {
        history.noteLost(count)
        let event = LostEvent(
            source: .hubbleRingBuffer, count: count, nodeName: nodeName,
            time: Flow.Timestamp(nanosecondsSinceEpoch: Int64(bitPattern: SystemClock.realtimeNs())))
        for listener in listeners { listener.observeLost(event) }
    }
}

/// A service hosted in the observer process (gRPC, metrics, the page): `start` registers its
/// listening socket and listeners with `observer` (on the loop thread, before `run`).
public protocol ObserverService: AnyObject {
    func start(observer: Observer) throws
}
