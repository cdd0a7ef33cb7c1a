import DNS
import Policy
import Proxy
import SluiceAPI
import SluiceIO
import SluiceModel
import SluiceSync

/// The node-wide FQDN learner: one background thread that records answers in the `FQDNCache`,
/// writes their IPs into the `FQDNDatapath`, sweeps expired IPs and persists the cache. The same
/// thread has the datapath delete expired connection-tracking entries now and then.
///
/// Workers call `learn` from their loop threads and get `done` called (on the service thread)
/// once the IPs are in place; they hold the answer meanwhile (`FQDNAnswerGate`). The sweep runs
/// every `sweepIntervalNs`, so an expired IP no connection uses goes within that interval; the
/// cache file is written at most once per interval, and only after a change.
public final class FQDNService: FQDNLearning, @unchecked Sendable {
    /// How often expired IPs are swept and the cache file is written (when changed).
    public static let sweepIntervalNs: UInt64 = 1_000_000_000
    /// How often expired connection-tracking entries are deleted (`FQDNDatapath.collectConnections`).
    public static let connectionSweepIntervalNs: UInt64 = 30_000_000_000

    private struct Job {
        var name: String
        var ips: [IPAddress]
        var ttl: UInt32
        var done: () -> Void
        /// When the DNS proxy handed the answer over (monotonic ns).
        var queuedNs: UInt64 = 0
    }

    public let cache: FQDNCache
    private let datapath: FQDNDatapath
    private let stateFile: String?
    private let condition = Condition()
    private var jobs: [Job] = []
    private var selectorSet: FQDNSelectorSet = .empty
    private var stopping = false
    private var thread: WorkerThread?

    /// Answers learned, IPs removed by sweeps or the cap, file writes that failed.
    public private(set) var learnedCount = 0
    public private(set) var removedCount = 0
    public private(set) var saveFailures = 0
    /// Answer handed over -> addresses in the datapath (guarded by `condition`).
    private var learnDelayHistogram = AgentIntrospection.LatencyHistogram(
        boundsSeconds: AgentIntrospection.LatencyHistogram.dnsBounds)

    /// The DNS-answer-to-datapath delays so far (`sluice status` JSON, the observer's metric). Any thread.
    public var learnDelay: AgentIntrospection.LatencyHistogram {
        condition.lock()
        defer { condition.unlock() }
        return learnDelayHistogram
    }

    /// Loads `stateFile` when it exists (the learned names survive restarts). Call `start()`.
    public init(cache: FQDNCache, datapath: FQDNDatapath, stateFile: String?) {
        self.cache = cache
        self.datapath = datapath
        self.stateFile = stateFile
        if let stateFile, let data = Files.readIfPresent(stateFile) {
            _ = try? cache.load(data)
        }
    }

    /// The toFQDNs selectors in force; only names they match are learned. Any thread.
    public var selectors: FQDNSelectorSet {
        condition.lock()
        defer { condition.unlock() }
        return selectorSet
    }

    /// Replaces the selectors (after a policy change). Any thread.
    public func publish(selectors: FQDNSelectorSet) {
        condition.lock()
        selectorSet = selectors
        condition.unlock()
    }

    /// Reinstalls every IP of the loaded cache into the datapath (after a restart), then starts
    /// the thread.
    public func start() throws(SyscallError) {
        let now = SystemClock.realtimeNs()
        for name in cache.allNames {
            let valid = cache.validIPs(of: name, nowNs: now)
            if !valid.isEmpty { _ = datapath.install(ips: valid, for: name) }
        }
        let thread = WorkerThread(name: "fqdn") { [unowned self] in self.run() }
        try thread.start()
        self.thread = thread
    }

    /// Queues an answer: `ips` for `name` with `ttl`. `done` runs on the service thread once the
    /// cache and the datapath have them. Any thread.
    public func learn(name: String, ips: [IPAddress], ttl: UInt32, done: @escaping () -> Void) {
        condition.lock()
        jobs.append(Job(name: name, ips: ips, ttl: ttl, done: done, queuedNs: SystemClock.monotonicNs()))
        condition.signal()
        condition.unlock()
    }

    /// Stops the thread after a last save.
    public func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
        thread?.join()
        thread = nil
    }

    private func run() {
        var nextSweep = SystemClock.monotonicNs() + Self.sweepIntervalNs
        var nextConnectionSweep = SystemClock.monotonicNs() + Self.connectionSweepIntervalNs
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping && SystemClock.monotonicNs() < nextSweep {
                condition.wait(untilMonotonicNs: min(nextSweep, SystemClock.monotonicNs() + 200_000_000))
            }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            let stop = stopping
            condition.unlock()

            for job in batch { apply(job) }
            if stop || SystemClock.monotonicNs() >= nextSweep {
                sweep()
                persist()
                nextSweep = SystemClock.monotonicNs() + Self.sweepIntervalNs
            }
            if !stop && SystemClock.monotonicNs() >= nextConnectionSweep {
                datapath.collectConnections()
                nextConnectionSweep = SystemClock.monotonicNs() + Self.connectionSweepIntervalNs
            }
            if stop { return }
        }
    }

    private func apply(_ job: Job) {
        let evicted = cache.update(name: job.name, ips: job.ips, ttl: job.ttl, nowNs: SystemClock.realtimeNs())
        if !evicted.isEmpty {
            datapath.remove(ips: evicted, for: job.name)
            removedCount += evicted.count
        }
        for (name, ips) in cache.evictBeyondCap() {
            datapath.remove(ips: ips, for: name)
            removedCount += ips.count
        }
        _ = datapath.install(ips: job.ips, for: job.name)
        learnedCount += 1
        let delay = SystemClock.monotonicNs() &- job.queuedNs
        condition.lock()
        learnDelayHistogram.observe(ns: delay)
        condition.unlock()
        job.done()
    }

    /// Withdraws expired IPs from policy at once (new connections to them are dropped; open ones
    /// continue: cilium-semantics 4.5), then forgets those no connection uses any more.
    func sweep() {
        let now = SystemClock.realtimeNs()
        for (name, ips) in cache.expired(nowNs: now) {
            datapath.remove(ips: ips, for: name)
        }
        let removed = cache.sweep(nowNs: now) { [datapath] ip in datapath.hasConnections(to: ip) }
        for (name, ips) in removed {
            datapath.remove(ips: ips, for: name)
            removedCount += ips.count
        }
    }

    /// Writes the cache file when something changed.
    func persist() {
        guard let stateFile, cache.takeDirty() else { return }
        do {
            try cache.save(to: stateFile)
        } catch {
            saveFailures += 1
        }
    }
}
