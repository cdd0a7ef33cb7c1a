import Glibc
import SluiceJSON
import SluiceSync

/// Cluster-wide numeric identities over the `SluiceIdentity` CRD (deploy/01-sluice-identity-crd.yaml),
/// so every node maps the same label set to the same number, as Cilium's CRD identity mode does
/// with CiliumIdentity objects. The rules (numbers, probing, lowest-wins, usage stamps, GC) are
/// `ClusterIdentitiesModel`'s; this class does the I/O:
///
/// - an `Informer` watches every identity object into a cache indexed both ways; `lookup` and
///   `labels(of:)` answer from it without the API;
/// - `identity(forLabels:)` (acquire) answers a label set this node already holds at once; one
///   in the cache is stamped as used by this node (a merge patch) and answered; a new one is
///   allocated by creating the object named by its number (409 → read it: same labels = use it,
///   other labels = probe on), then a labelSelector list of the set's objects makes the lowest
///   number win over a concurrent duplicate;
/// - `release(labels:)` drops a reference; the node stops renewing the stamp when the last goes;
/// - a maintenance thread renews this node's stamps every `renewInterval` and, every
///   `gcInterval`, deletes identities no node has stamped for `grace` (leaderless: every node
///   may run it; the delete's resourceVersion precondition loses to a renewal that came first).
///
/// While the API server is unreachable, held and cached identities keep resolving (a failed
/// stamp is retried by the maintenance thread); allocating a label set the cache does not know
/// fails with an error that says so.
public final class ClusterIdentities: @unchecked Sendable {
    public struct Options: Sendable {
        /// An identity nobody has stamped for this long is deleted. Must exceed `renewInterval`
        /// plus the clock skew between nodes (stamps are wall-clock times).
        public var grace: Double = 900
        /// How often a node re-stamps the identities it uses.
        public var renewInterval: Double = 300
        /// How often this node looks for garbage.
        public var gcInterval: Double = 60
        /// Whether this node runs GC at all.
        public var collectGarbage = true
        /// How many numbers one allocation may try through the API before giving up.
        public var maxAttempts = 64
        public var backoff = Backoff()
        public init() {}
    }

    public let nodeName: String
    public let options: Options
    private let client: HTTPSClient
    private let log: (String) -> Void
    private var informer: Informer!
    private let lock = Lock()
    private var byNumber: [UInt32: ClusterIdentitiesModel.Entry] = [:]
    private var byKey: [String: Set<UInt32>] = [:]
    private var firstSeen: [UInt32: Int64] = [:]
    private var held: [String: (number: UInt32, references: Int)] = [:]
    /// Held numbers → monotonic time of this node's last successful stamp (0 = due now).
    private var stamped: [UInt32: Double] = [:]
    private var synced = false
    private var stopping = false
    private var thread: pthread_t?
    private var lastGC = 0.0
    private var collected = 0
    private var gcPasses = 0

    /// `nodeName` names this node's usage stamp (`node.sluice.io/<nodeName>`).
    public init(
        client: HTTPSClient, nodeName: String, options: Options = Options(), log: @escaping (String) -> Void = { _ in }
    ) {
        self.client = client
        self.nodeName = nodeName
        self.options = options
        self.log = log
        informer = Informer(client: client, path: ClusterIdentitiesModel.resourcePath, log: log) {
            [unowned self] update in self.handle(update)
        }
        informer.backoff = options.backoff
    }

    /// Starts the watch and the maintenance thread.
    public func start() {
        informer.start()
        thread = KubeThread.start { self.maintain() }
    }

    /// Stops both threads and waits for them.
    public func stop() {
        lock.withLock { stopping = true }
        informer.stop()
        KubeThread.join(&thread)
    }

    private var isStopping: Bool { lock.withLock { stopping } }

    /// Whether the cache has been listed once.
    public var isSynced: Bool { lock.withLock { synced } }

    /// Waits up to `timeout` seconds for the first list; whether it came.
    public func waitForSync(timeout: Double) -> Bool {
        let end = monotonic() + timeout
        while !isSynced {
            if monotonic() >= end || isStopping { return false }
            usleep(10_000)
        }
        return true
    }

    /// The number of a label set in the cache (the lowest when duplicated), without the API.
    public func lookup(labels: [String]) -> UInt32? {
        let key = ClusterIdentitiesModel.canonicalKey(labels)
        return lock.withLock { held[key]?.number ?? byKey[key]?.min() }
    }

    /// The labels of a number in the cache.
    public func labels(of number: UInt32) -> [String]? { lock.withLock { byNumber[number]?.labels } }

    /// Every cached identity: number → labels.
    public func snapshot() -> [UInt32: [String]] { lock.withLock { byNumber.mapValues(\.labels) } }

    /// The numbers this node holds, by canonical key, with their reference counts.
    public func heldIdentities() -> [String: (number: UInt32, references: Int)] { lock.withLock { held } }

    /// How many identities this node's GC has deleted, in how many passes.
    public var collectedCount: (deleted: Int, passes: Int) { lock.withLock { (collected, gcPasses) } }

    // MARK: acquire and release

    /// Acquires the cluster-wide number of `labels` (one reference; `release` gives it back).
    /// Throws when the label set is new to this node's cache and cannot be allocated (API server
    /// unreachable, refused, or no free number).
    public func identity(forLabels labels: [String]) throws(KubeError) -> UInt32 {
        let key = ClusterIdentitiesModel.canonicalKey(labels)
        if let number = lock.withLock({ () -> UInt32? in
            guard let h = held[key] else { return nil }
            held[key] = (h.number, h.references + 1)
            return h.number
        }) {
            return number
        }
        let sorted = ClusterIdentitiesModel.normalized(labels)
        // A cached number is stamped then used; a 404 (deleted meanwhile) falls through to a new
        // allocation. Twice at most: a number can vanish between the cache and the stamp once.
        for _ in 0..<2 {
            if let cached = lock.withLock({ byKey[key]?.min() }) {
                switch stamp(cached) {
                case .stamped:
                    return hold(key, cached, fresh: true)
                case .unreachable:
                    return hold(key, cached, fresh: false)
                case .gone:
                    forget(cached)
                    continue
                case .failed(let error):
                    // The number is the cluster's; the maintenance thread retries the stamp.
                    log(String(describing: error))
                    return hold(key, cached, fresh: false)
                }
            }
            if let number = try allocate(key: key, labels: sorted) { return hold(key, number, fresh: true) }
        }
        throw KubeError("cluster identity for \(sorted): deleted by GC under every attempt")
    }

    /// Gives back one reference of `labels`; at the last, this node stops stamping it (GC may
    /// delete it `grace` after the last stamp).
    public func release(labels: [String]) {
        let key = ClusterIdentitiesModel.canonicalKey(labels)
        lock.withLock {
            guard let h = held[key] else { return }
            if h.references > 1 {
                held[key] = (h.number, h.references - 1)
            } else {
                held[key] = nil
                stamped[h.number] = nil
            }
        }
    }

    /// The numbers of exactly these label sets (as the agent asks before each reconcile: every
    /// set its endpoints and the other nodes' pods have now), keyed by the sets as given: each
    /// set not held yet is acquired, and once all are numbered every held set not among them is
    /// released. Throws (releasing nothing) when one cannot be numbered; the caller retries.
    public func identities(for labelSets: [[String]]) throws(KubeError) -> [[String]: UInt32] {
        var out: [[String]: UInt32] = [:]
        var wanted: Set<String> = []
        for labels in labelSets where out[labels] == nil {
            let key = ClusterIdentitiesModel.canonicalKey(labels)
            wanted.insert(key)
            // One reference per set here (set semantics, not counted acquires).
            if let number = lock.withLock({ held[key]?.number }) {
                out[labels] = number
            } else {
                out[labels] = try identity(forLabels: labels)
            }
        }
        let stale = lock.withLock { held.keys.filter { !wanted.contains($0) } }
        for key in stale {
            lock.withLock {
                if let h = held.removeValue(forKey: key) { stamped[h.number] = nil }
            }
        }
        return out
    }

    /// Takes a reference; `fresh` when this node's stamp on `number` was just written (else the
    /// maintenance thread writes it at once).
    private func hold(_ key: String, _ number: UInt32, fresh: Bool) -> UInt32 {
        lock.withLock {
            if let h = held[key] {
                held[key] = (h.number, h.references + 1)
                return h.number
            }
            held[key] = (number, 1)
            stamped[number] = fresh ? monotonic() : 0
            return number
        }
    }

    private enum StampResult {
        case stamped
        case gone
        case unreachable
        case failed(KubeError)
    }

    /// Stamps this node's use of `number` now.
    private func stamp(_ number: UInt32) -> StampResult {
        let patch = ClusterIdentitiesModel.stampPatch(node: nodeName, nowMillis: wallClockMillis()).serialized()
        let status: Int
        let body: [UInt8]
        do {
            (status, body) = try client.sendAll(
                "PATCH", ClusterIdentitiesModel.resourcePath + "/" + String(number), body: patch,
                contentType: "application/merge-patch+json", limit: 1 << 20, shouldStop: { self.isStopping })
        } catch {
            log("cluster identity \(number): stamp failed: \(error)")
            return .unreachable
        }
        switch status {
        case 200:
            if let object = try? JSONValue.parse(body) { remember(object) }
            lock.withLock { if stamped[number] != nil { stamped[number] = monotonic() } }
            return .stamped
        case 404: return .gone
        default:
            return .failed(KubeError("cluster identity \(number): stamp answered HTTP \(status): \(message(body))"))
        }
    }

    /// Creates the object of a new label set, probing numbers from its hash; nil when the number
    /// it settled on was deleted before it could be stamped (the caller tries again).
    private func allocate(key: String, labels: [String]) throws(KubeError) -> UInt32? {
        var attempt = 0
        var tries = 0
        var index = 0
        while tries < options.maxAttempts {
            if index >= ClusterIdentitiesModel.range.count {
                throw KubeError("cluster identity for \(labels): no free number in 256...65535")
            }
            let number = ClusterIdentitiesModel.probe(key, attempt: index)
            index += 1
            // Taken by other labels in the cache: no need to ask the API.
            if let other = lock.withLock({ byNumber[number] }), other.key != key { continue }
            tries += 1
            attempt += 1
            let object = ClusterIdentitiesModel.object(
                number: number, labels: labels, node: nodeName, nowMillis: wallClockMillis())
            let (status, body) = try request("POST", ClusterIdentitiesModel.resourcePath, object.serialized(), labels)
            switch status {
            case 201:
                guard let created = try? JSONValue.parse(body), let entry = ClusterIdentitiesModel.entry(created) else {
                    throw KubeError("cluster identity \(number): the create's answer is not a SluiceIdentity")
                }
                remember(created)
                return try settleDuplicates(entry)
            case 409:
                let (getStatus, getBody) = try request(
                    "GET", ClusterIdentitiesModel.resourcePath + "/" + String(number), nil, labels)
                if getStatus == 404 {
                    index -= 1  // deleted since: try the same number again
                    continue
                }
                guard getStatus == 200, let object = try? JSONValue.parse(getBody),
                    let entry = ClusterIdentitiesModel.entry(object)
                else {
                    throw KubeError(
                        "cluster identity \(number): reading it answered HTTP \(getStatus): \(message(getBody))")
                }
                remember(object)
                if entry.key == key {
                    // Another node won the race for these labels: use its object.
                    switch stamp(number) {
                    case .stamped: return number
                    case .gone:
                        forget(number)
                        index -= 1
                        continue
                    case .unreachable:
                        throw KubeError("cluster identity for \(labels): the API server became unreachable")
                    case .failed(let error): throw error
                    }
                }
            default:
                throw KubeError(
                    "cluster identity for \(labels): creating \(number) answered HTTP \(status): \(message(body))")
            }
        }
        throw KubeError("cluster identity for \(labels): \(options.maxAttempts) numbers tried, all taken")
    }

    /// After creating `mine`: if the API holds the same labels under a lower number (a concurrent
    /// allocation whose probe differed), delete `mine` and use the lower one.
    private func settleDuplicates(_ mine: ClusterIdentitiesModel.Entry) throws(KubeError) -> UInt32? {
        let selector = percentEncode(
            ClusterIdentitiesModel.hashLabel + "=" + ClusterIdentitiesModel.labelsHash(mine.key))
        let (status, body) = try request(
            "GET", ClusterIdentitiesModel.resourcePath + "?labelSelector=" + selector, nil, mine.labels)
        guard status == 200, let list = try? JSONValue.parse(body), case .array(let items)? = list["items"] else {
            // The object is made; the watch settles duplicates for lookups later.
            log("cluster identity \(mine.number): duplicate check answered HTTP \(status)")
            return mine.number
        }
        var lowest = mine.number
        for item in items {
            guard let entry = ClusterIdentitiesModel.entry(item), entry.key == mine.key else { continue }
            remember(item)
            lowest = min(lowest, entry.number)
        }
        guard lowest != mine.number else { return mine.number }
        log("cluster identity \(mine.number): \(lowest) holds the same labels, using it")
        let options = ClusterIdentitiesModel.deleteOptions(resourceVersion: nil, uid: mine.uid).serialized()
        _ = try? request(
            "DELETE", ClusterIdentitiesModel.resourcePath + "/" + String(mine.number), options, mine.labels)
        forget(mine.number)
        switch stamp(lowest) {
        case .stamped, .unreachable: return lowest
        case .gone: return nil
        case .failed(let error): throw error
        }
    }

    private func request(_ method: String, _ path: String, _ body: [UInt8]?, _ labels: [String]) throws(KubeError)
        -> (Int, [UInt8])
    {
        do {
            return try client.sendAll(method, path, body: body, limit: 64 << 20, shouldStop: { self.isStopping })
        } catch {
            throw KubeError("cluster identity for \(labels): API server unreachable: \(error)")
        }
    }

    // MARK: the cache

    private func handle(_ update: Informer.Update) {
        switch update {
        case .synced(let objects, _):
            lock.withLock {
                let now = wallClockMillis()
                var seen = firstSeen
                byNumber = [:]
                byKey = [:]
                firstSeen = [:]
                for (_, object) in objects {
                    guard let entry = ClusterIdentitiesModel.entry(object) else { continue }
                    insertLocked(entry)
                    firstSeen[entry.number] = seen.removeValue(forKey: entry.number) ?? now
                }
                synced = true
            }
        case .delta(.upsert(_, let object)):
            remember(object)
        case .delta(.delete(let key)):
            if let number = UInt32(key) { forget(number) }
        }
    }

    /// Puts an object read from the API (watch, create, get, patch) into the cache.
    private func remember(_ object: JSONValue) {
        guard let entry = ClusterIdentitiesModel.entry(object) else { return }
        lock.withLock {
            if let old = byNumber[entry.number] {
                // An older copy (a create's answer after the watch's newer one) does not win.
                if let a = old.resourceVersion.flatMap({ UInt64($0) }),
                    let b = entry.resourceVersion.flatMap({ UInt64($0) }), b < a, old.key == entry.key
                {
                    return
                }
                removeLocked(entry.number)
            }
            insertLocked(entry)
            if firstSeen[entry.number] == nil { firstSeen[entry.number] = wallClockMillis() }
        }
    }

    private func forget(_ number: UInt32) {
        lock.withLock {
            removeLocked(number)
            firstSeen[number] = nil
        }
    }

    private func insertLocked(_ entry: ClusterIdentitiesModel.Entry) {
        byNumber[entry.number] = entry
        byKey[entry.key, default: []].insert(entry.number)
    }

    private func removeLocked(_ number: UInt32) {
        guard let old = byNumber.removeValue(forKey: number) else { return }
        byKey[old.key]?.remove(number)
        if byKey[old.key]?.isEmpty == true { byKey[old.key] = nil }
    }

    // MARK: maintenance

    private func maintain() {
        let tick = max(0.01, min(options.renewInterval, options.gcInterval) / 4)
        while !isStopping {
            renewDue()
            if options.collectGarbage, isSynced, monotonic() - lastGC >= options.gcInterval {
                lastGC = monotonic()
                collectGarbage()
                lock.withLock { gcPasses += 1 }
            }
            let end = monotonic() + tick
            while !isStopping, monotonic() < end { usleep(10_000) }
        }
    }

    /// Re-stamps held identities whose stamp is older than `renewInterval` (or failed).
    func renewDue() {
        let now = monotonic()
        let due = lock.withLock { stamped.filter { now - $0.value >= options.renewInterval }.map(\.key) }
        for number in due.sorted() {
            switch stamp(number) {
            case .stamped: break
            case .unreachable: return  // the rest next pass, not one timeout each
            case .gone:
                // Deleted while held (this node's stamps were away longer than `grace`): make it
                // again with the same number and labels.
                guard let key = lock.withLock({ held.first { $0.value.number == number }?.key }) else { break }
                recreate(number, key: key)
            case .failed(let error): log(String(describing: error))
            }
        }
    }

    private func recreate(_ number: UInt32, key: String) {
        let labels = key.isEmpty ? [] : key.split(separator: ";").map(String.init)
        let object = ClusterIdentitiesModel.object(
            number: number, labels: labels, node: nodeName, nowMillis: wallClockMillis())
        guard
            let (status, body) = try? request("POST", ClusterIdentitiesModel.resourcePath, object.serialized(), labels)
        else { return }
        if status == 201, let created = try? JSONValue.parse(body) {
            remember(created)
            lock.withLock { if stamped[number] != nil { stamped[number] = monotonic() } }
            log("cluster identity \(number): deleted while held, made again")
        } else {
            log("cluster identity \(number): deleted while held; making it again answered HTTP \(status)")
        }
    }

    /// One GC pass: deletes every cached identity that is garbage and not held here.
    func collectGarbage() {
        let now = wallClockMillis()
        let graceMillis = Int64(options.grace * 1000)
        let candidates = lock.withLock { () -> [ClusterIdentitiesModel.Entry] in
            let mine = Set(held.values.map(\.number))
            return byNumber.values.filter { entry in
                !mine.contains(entry.number)
                    && ClusterIdentitiesModel.isGarbage(
                        entry, firstSeenMillis: firstSeen[entry.number] ?? now, nowMillis: now, graceMillis: graceMillis
                    )
            }.sorted { $0.number < $1.number }
        }
        for entry in candidates {
            if isStopping { return }
            let options = ClusterIdentitiesModel.deleteOptions(resourceVersion: entry.resourceVersion).serialized()
            guard
                let (status, body) = try? request(
                    "DELETE", ClusterIdentitiesModel.resourcePath + "/" + String(entry.number), options, entry.labels)
            else { return }  // unreachable: next pass
            switch status {
            case 200:
                forget(entry.number)
                lock.withLock { collected += 1 }
                log("cluster identity \(entry.number) \(entry.labels): unused for \(self.options.grace)s, deleted")
            case 404, 409: break  // gone already, or stamped since
            default: log("cluster identity \(entry.number): GC delete answered HTTP \(status): \(message(body))")
            }
        }
    }
}

/// A Status body's message, or the body's start.
private func message(_ body: [UInt8]) -> String {
    if let value = try? JSONValue.parse(body), let message = value["message"]?.stringValue { return message }
    return String(decoding: body.prefix(200), as: UTF8.self)
}

/// Wall-clock time in Unix milliseconds (usage stamps are compared across nodes).
func wallClockMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}
