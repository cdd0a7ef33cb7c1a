import CSluiceShared
import Datapath
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
    /// `listeners` without a reference count: the per-record loop retains nothing (a listener
    /// that is weakly referenced elsewhere, as the services are, pays a slow-path retain).
    private var listenerRefs: [UnownedListener] = []
    /// Whether every listener takes records (`observesRecords`, read when it is added).
    private var recordsOnly = true
    /// Listeners removed since the last record was delivered (`listenerRefs` does not hold them).
    private var retiredListeners: [FlowListener] = []

    /// A listener without a reference count: its object unretained and its type, through which it
    /// is called with no retain and release (an `unowned(unsafe)` existential is retained around
    /// each call). Alive while in `listeners`, or in `retiredListeners` until the delivery is done.
    private struct UnownedListener {
        let object: UnsafeRawPointer
        let type: any FlowListener.Type
        let observesRecords: Bool

        init<Listener: FlowListener>(_ listener: Listener) {
            object = UnsafeRawPointer(Unmanaged.passUnretained(listener).toOpaque())
            type = Listener.self
            observesRecords = listener.observesRecords
        }
    }
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
        listenersChanged()
    }

    /// Listeners registered now.
    public var listenerCount: Int { listeners.count }

    /// Removes `listener` (by identity).
    public func removeListener(_ listener: FlowListener) {
        // Kept alive until the record being delivered (if any) has been handed to every listener.
        retiredListeners += listeners.filter { $0 === listener }
        listeners.removeAll { $0 === listener }
        listenersChanged()
    }

    private func listenersChanged() {
        // While a record is being delivered `listenerRefs` stays as it is (the loop reads it in
        // place, without a copy); it is rebuilt when the record has been handed to every listener.
        if delivering {
            listenersDirty = true
            return
        }
        listenerRefs = listeners.map { UnownedListener($0) }
        recordsOnly = listenerRefs.allSatisfy(\.observesRecords)
    }

    /// Whether `deliver` is handing a record out now (listener changes wait until it is done).
    private var delivering = false
    /// Listeners were added or removed during a delivery: `listenerRefs` is rebuilt after it.
    private var listenersDirty = false

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
        let handled = pollOnce(nowNs: now)
        if let pollTimer { loop.schedule(pollTimer, at: now + nextPollDelayNs(handled: handled)) }
    }

    /// When the next poll is due after one that handed on `handled` records: `pollIntervalMs`,
    /// a quarter of it while a poll brings an eighth of the ring or more (at ~100k requests/s a
    /// 20 ms poll brought ~3,900 of the ring's 4,096 slots and the ring overwrote records before
    /// they were read; the busy polls are as cheap per record, the quiet ones as rare as before).
    func nextPollDelayNs(handled: Int) -> UInt64 {
        let intervalNs = UInt64(options.pollIntervalMs) * 1_000_000
        return handled >= Int(FlowRing.capacity / 8) ? intervalNs / 4 : intervalNs
    }

    /// Most records one poll hands on (the rest wait for the next poll).
    public var pollLimit = 65536

    /// Reads what the ring has now into the history and the listeners: every record written
    /// since the last poll, each copied once from its ring slot into the history's scratch record,
    /// handed to the listeners in place there and kept in a history slot (`FlowHistory.commitRecord`).
    /// Returns how many records it handed on.
    @discardableResult
    public func pollOnce(nowNs: UInt64) -> Int {
        var handled = 0
        if reader.beginPoll(nowNs: nowNs) {
            var lost: UInt64 = 0
            reading: while handled < pollLimit {
                switch reader.next(into: &history) {
                case .record(let ref):
                    if lost > 0 {
                        ingestLost(lost)
                        lost = 0
                    }
                    deliver(ref, nowNs: nowNs)
                    handled += 1
                case .lost(let count):
                    lost += count
                case .idle:
                    break reading
                }
            }
            if lost > 0 { ingestLost(lost) }
            if handled > 0 {
                history.storeFence()
                endPoll()
            }
        }
        if nowNs &- namespacesExpiredNs >= 30_000_000_000 { expireNamespaces(nowNs: nowNs) }
        return handled
    }

    /// Adds one flow as if read from the ring at monotonic `nowNs` (tests).
    public func ingest(_ flow: Flow, nowNs: UInt64 = SystemClock.monotonicNs()) {
        history.append(flow)
        noteNamespaces(flow, nowNs: nowNs)
        for listener in listeners { listener.observe(flow) }
    }

    /// Adds a copy of one record as if read from the ring at monotonic `nowNs` (tests; the poll
    /// copies records from the ring into the history itself).
    public func ingest(_ raw: borrowing RawFlow, nowNs: UInt64 = SystemClock.monotonicNs()) {
        deliver(history.append(raw), nowNs: nowNs)
        endPoll()
    }

    /// Tells the listeners the records of this poll are all handed on.
    private func endPoll() {
        for listener in listeners { listener.pollEnded() }
    }

    /// Hands a record just kept in the history to the listeners: in place to those that take
    /// records (metrics), decoded, once, only when some listener wants the `Flow` (follow
    /// streams, the service map).
    private func deliver(_ raw: FlowRecordRef, nowNs: UInt64) {
        noteNamespaces(raw, nowNs: nowNs)
        // No copy of `listenerRefs` (a retain and release per record): a listener that adds or
        // removes listeners meanwhile only marks it stale (`listenersChanged`), so it is the same
        // array to the end of the loop; those removed stay alive in `retiredListeners` until the
        // loop is done, and still get this record, those added get the next one.
        let outer = delivering
        delivering = true
        let count = listenerRefs.count
        if recordsOnly {
            // No listener wants a `Flow` (metrics only): not even an empty optional one is built.
            for i in 0..<count {
                let ref = listenerRefs[i]
                ref.type.observe(unretained: ref.object, record: raw)
            }
        } else {
            deliverDecoding(raw, count: count)
        }
        delivering = outer
        guard !outer else { return }
        if listenersDirty {
            listenersDirty = false
            listenersChanged()
        }
        if !retiredListeners.isEmpty { retiredListeners.removeAll() }
    }

    /// `deliver` when some listener wants the `Flow`: decoded once for all of them. Not inlined:
    /// a `Flow` takes ~7 KB of stack, which the records-only path (each listener's calls below
    /// it) then went past for every record.
    @inline(never)
    private func deliverDecoding(_ raw: FlowRecordRef, count: Int) {
        var flow: Flow?
        for i in 0..<count {
            let ref = listenerRefs[i]
            if ref.observesRecords {
                ref.type.observe(unretained: ref.object, record: raw)
            } else {
                if flow == nil { flow = raw.decode() }
                ref.type.observe(unretained: ref.object, flow: flow!)
            }
        }
    }

    /// The namespaces of a record, resolved once per endpoint pair and directory. The pair is
    /// unordered (a request and its response name the same two endpoints the other way round,
    /// and the namespaces are noted alike either way): a keep-alive GET's records alternate
    /// between the two orders, and each looked both endpoints up again (two dictionary lookups,
    /// a retain and release and the strings' per record; s23-obs).
    private func noteNamespaces(_ raw: FlowRecordRef, nowNs: UInt64) {
        let rec = raw.pointer
        let key = RecentEndpoints(
            sourceID: rec.pointee.src_endpoint, destinationID: rec.pointee.dst_endpoint,
            sourceIPv4: UnsafeRawPointer(rec).load(fromByteOffset: Self.sourceIPOffset, as: UInt32.self),
            destinationIPv4: UnsafeRawPointer(rec).load(fromByteOffset: Self.destinationIPOffset, as: UInt32.self),
            ipVersion: rec.pointee.ip_version
        ).unordered
        // The context by identity (`recentContext` keeps it alive: its identity is not reused).
        let context = ObjectIdentifier(raw.context)
        if key != recentEndpoints || context != recentContextID {
            recentEndpoints = key
            recentContext = raw.context
            recentContextID = context
            recentEndpointNamespaces = raw.context.namespaces(rec.pointee)
            recentEndpointsNotedNs = nil
        } else if let noted = recentEndpointsNotedNs, nowNs &- noted < 1_000_000_000 {
            // The same endpoints as the last record, noted within a second: no string touched.
            return
        }
        noteNamespaces(source: recentEndpointNamespaces.0, destination: recentEndpointNamespaces.1, nowNs: nowNs)
        recentEndpointsNotedNs = recentNamespacesNs
    }

    /// `sluice_flow.src_ip` and `dst_ip` (constants; `RawFlowTests` holds them to the layout).
    static var sourceIPOffset: Int { 40 }
    static var destinationIPOffset: Int { 56 }

    /// The endpoints of the last record whose namespaces were looked up.
    struct RecentEndpoints: Equatable {
        var sourceID: UInt32 = 0
        var destinationID: UInt32 = 0
        var sourceIPv4: UInt32 = 0
        var destinationIPv4: UInt32 = 0
        var ipVersion: UInt8 = 0

        /// The same two endpoints, the lesser (ID, then address) first.
        var unordered: RecentEndpoints {
            guard (destinationID, destinationIPv4) < (sourceID, sourceIPv4) else { return self }
            return RecentEndpoints(
                sourceID: destinationID, destinationID: sourceID, sourceIPv4: destinationIPv4,
                destinationIPv4: sourceIPv4, ipVersion: ipVersion)
        }
    }
    private var recentEndpoints = RecentEndpoints()
    private var recentContext: FlowDecodeContext?
    private var recentContextID: ObjectIdentifier?
    /// When the namespaces of `recentEndpoints` were last written to `namespaces` (nil: not since
    /// they became the recent ones, or since an expiry).
    private var recentEndpointsNotedNs: UInt64?
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
        recentEndpointsNotedNs = nil
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

extension FlowListener {
    /// `observe(record:)` of the listener at `object` (a `Self` not retained here: the caller
    /// keeps it alive), called on it in place, with no retain and release.
    @inline(__always)
    fileprivate static func observe(unretained object: UnsafeRawPointer, record: FlowRecordRef) {
        Unmanaged<Self>.fromOpaque(object)._withUnsafeGuaranteedRef { $0.observe(record: record) }
    }

    /// `observe(_:)` of the listener at `object`, as above.
    @inline(__always)
    fileprivate static func observe(unretained object: UnsafeRawPointer, flow: Flow) {
        Unmanaged<Self>.fromOpaque(object)._withUnsafeGuaranteedRef { $0.observe(flow) }
    }
}

/// A service hosted in the observer process (gRPC, metrics, the page): `start` registers its
/// listening socket and listeners with `observer` (on the loop thread, before `run`).
public protocol ObserverService: AnyObject {
    func start(observer: Observer) throws
}
