import Glibc
import SluiceJSON
import SluiceSync

/// Writes `PolicyEvent`s to the API on its own thread, so an informer that rejects objects
/// never waits on the API: `report` only queues (at most `queueLimit` waiting; more are dropped
/// and logged, as client-go's broadcaster drops). Deduplicated by `Ledger`, as client-go's event
/// correlator does: one event per object version (a version reported again, after a relist or
/// an agent restart, adds nothing), and a new version of the same object failing with the same
/// message bumps the existing event's `count` and `lastTimestamp` (a strategic-merge PATCH)
/// instead of adding one. A request the API did not answer is tried again (`maxTries`, doubling
/// delays); an answer other than the expected ones is logged and the report dropped.
public final class EventRecorder: @unchecked Sendable {
    /// The deduplication state (pure: the recorder asks it what to do and tells it what happened).
    public struct Ledger: Sendable {
        public enum Action: Equatable, Sendable {
            /// This object version was reported already.
            case skip
            /// Create the version's event.
            case create
            /// Bump the series' event `name` to `count`.
            case patch(name: String, count: Int)
        }

        private struct Series {
            var name: String
            /// Nil when the event existed before this run (409): its count is not known here.
            var count: Int?
        }

        private var versions: Set<String> = []
        private var series: [String: Series] = [:]

        public init() {}

        private static func versionKey(_ object: PolicyEvent.ObjectReference, _ message: String) -> String {
            [object.uid, object.resourceVersion, object.kind, object.namespace, object.name, message]
                .joined(separator: "\u{0}")
        }

        private static func seriesKey(_ object: PolicyEvent.ObjectReference, _ message: String) -> String {
            [object.uid, object.kind, object.namespace, object.name, message].joined(separator: "\u{0}")
        }

        /// What to do for a report.
        public mutating func next(_ object: PolicyEvent.ObjectReference, message: String) -> Action {
            guard versions.insert(Self.versionKey(object, message)).inserted else { return .skip }
            if let known = series[Self.seriesKey(object, message)], let count = known.count {
                return .patch(name: known.name, count: count + 1)
            }
            return .create
        }

        /// The event `name` was created (201), or existed already (409: `count` nil).
        public mutating func created(_ object: PolicyEvent.ObjectReference, message: String, name: String, count: Int?)
        {
            series[Self.seriesKey(object, message)] = Series(name: name, count: count)
        }

        /// The series' event now has `count` (200).
        public mutating func patched(_ object: PolicyEvent.ObjectReference, message: String, count: Int) {
            series[Self.seriesKey(object, message)]?.count = count
        }

        /// The series' event is gone (404 on the patch: expired or deleted); the next report of
        /// the series creates one.
        public mutating func gone(_ object: PolicyEvent.ObjectReference, message: String) {
            series[Self.seriesKey(object, message)] = nil
        }

        /// The report could not be written: a later report of the same version tries again.
        public mutating func failed(_ object: PolicyEvent.ObjectReference, message: String) {
            versions.remove(Self.versionKey(object, message))
        }
    }

    public let nodeName: String
    public var queueLimit = 1000
    public var maxTries = 5
    /// The first retry's delay in seconds (then doubling).
    public var retryDelay = 1.0
    private let client: HTTPSClient
    private let log: (String) -> Void
    private let clock: () -> Int
    private var ledger = Ledger()
    private var queue: [(PolicyEvent.ObjectReference, String)] = []
    private let condition = Condition()
    private var stopping = false
    private var busy = false
    private var thread: pthread_t?
    private var written = 0

    /// - Parameter clock: Unix seconds now (the events' timestamps).
    public init(
        client: HTTPSClient, nodeName: String, log: @escaping (String) -> Void = { _ in },
        clock: @escaping () -> Int = { Int(time(nil)) }
    ) {
        self.client = client
        self.nodeName = nodeName
        self.log = log
        self.clock = clock
    }

    /// Queues a report that `object` was rejected with `message` (any thread).
    public func report(_ object: PolicyEvent.ObjectReference, message: String) {
        let dropped: Bool = condition.withLock {
            guard queue.count < queueLimit else { return true }
            queue.append((object, message))
            condition.signal()
            return false
        }
        if dropped { log("event about \(object.kind) \(object.name) dropped: \(queueLimit) reports wait already") }
    }

    /// Events created or patched so far, and whether reports wait or one is being written.
    public var progress: (written: Int, idle: Bool) { condition.withLock { (written, queue.isEmpty && !busy) } }

    public func start() {
        thread = KubeThread.start { self.run() }
    }

    /// Stops the thread (reports still queued are dropped) and waits for it.
    public func stop() {
        condition.withLock {
            stopping = true
            condition.signal()
        }
        KubeThread.join(&thread)
    }

    private var isStopping: Bool { condition.withLock { stopping } }

    private func run() {
        while true {
            let next: (PolicyEvent.ObjectReference, String)? = condition.withLock {
                while queue.isEmpty && !stopping { condition.wait() }
                if stopping { return nil }
                busy = true
                return queue.removeFirst()
            }
            guard let (object, message) = next else { return }
            var tries = 0
            while !write(object, message: message) {
                tries += 1
                if tries >= maxTries || isStopping {
                    ledger.failed(object, message: message)
                    log("event about \(object.kind) \(object.namespace)/\(object.name): given up after \(tries) tries")
                    break
                }
                let end = monotonic() + retryDelay * Double(1 << min(tries - 1, 10))
                while !isStopping, monotonic() < end { usleep(20_000) }
            }
            condition.withLock { busy = false }
        }
    }

    /// One report: false when the API did not answer (try again).
    private func write(_ object: PolicyEvent.ObjectReference, message: String) -> Bool {
        let time = PolicyEvent.timestamp(unixSeconds: clock())
        switch ledger.next(object, message: message) {
        case .skip:
            return true
        case .patch(let name, let count):
            let body = PolicyEvent.repeatPatch(count: count, time: time).serialized()
            guard
                let (status, answer) = send(
                    "PATCH", PolicyEvent.path(of: object) + "/" + name, body, "application/strategic-merge-patch+json")
            else {
                ledger.failed(object, message: message)
                return false
            }
            switch status {
            case 200:
                ledger.patched(object, message: message, count: count)
                condition.withLock { written += 1 }
                return true
            case 404:
                ledger.gone(object, message: message)
                ledger.failed(object, message: message)
                return write(object, message: message)
            default:
                log("event \(name): PATCH answered HTTP \(status): \(Self.statusMessage(answer))")
                return true
            }
        case .create:
            let event = PolicyEvent.event(about: object, message: message, node: nodeName, time: time)
            let name = event["metadata"]?["name"]?.stringValue ?? ""
            guard
                let (status, answer) = send(
                    "POST", PolicyEvent.path(of: object), event.serialized(), "application/json")
            else {
                ledger.failed(object, message: message)
                return false
            }
            switch status {
            case 201:
                ledger.created(object, message: message, name: name, count: 1)
                condition.withLock { written += 1 }
            case 409:
                ledger.created(object, message: message, name: name, count: nil)
            default:
                log("event \(name): create answered HTTP \(status): \(Self.statusMessage(answer))")
            }
            return true
        }
    }

    private func send(_ method: String, _ path: String, _ body: [UInt8], _ contentType: String) -> (Int, [UInt8])? {
        do {
            return try client.sendAll(
                method, path, body: body, contentType: contentType, limit: 1 << 20, shouldStop: { self.isStopping })
        } catch {
            log("event \(method) \(path): \(error)")
            return nil
        }
    }

    private static func statusMessage(_ body: [UInt8]) -> String {
        (try? JSONValue.parse(body))?["message"]?.stringValue ?? String(decoding: body.prefix(200), as: UTF8.self)
    }
}
