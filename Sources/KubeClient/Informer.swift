import Glibc
import SluiceJSON
import SluiceSync

/// List-then-watch of one resource path (`/apis/cilium.io/v2/ciliumnetworkpolicies`,
/// `/api/v1/pods`, …, optionally with its own query: `/api/v1/pods?fieldSelector=spec.nodeName%3Dn1`) on its own thread, into a `KubeStore`, as client-go's reflector and
/// informer do:
///
/// 1. list in pages (`limit`, `continue`) into a relist of the store; only a complete list
///    replaces the store (`KubeStore.finishRelist`), so the last complete state stays in force
///    while a relist runs or fails;
/// 2. watch from the list's resourceVersion with `allowWatchBookmarks=true`; each event updates
///    the store (bookmarks move its resourceVersion only);
/// 3. a watch that ends (server timeout, connection lost, server stopped) resumes from the store's
///    resourceVersion after a backoff; `ERROR 410` (or an HTTP 410 answer) means the position was
///    compacted: relist. Failures back off exponentially (capped, jittered); a success resets it.
///
/// `onUpdate` runs on the informer's thread, in order: `.synced` after every complete list (the
/// full state and the deltas from the previous one), `.delta` per watch change.
public final class Informer: @unchecked Sendable {
    public enum Update: Sendable {
        case synced(objects: [String: JSONValue], deltas: [KubeStore.Delta])
        case delta(KubeStore.Delta)
    }

    public let path: String
    public var pageSize = 500
    /// Asked of the server per watch (`timeoutSeconds`); the watch then resumes.
    public var watchTimeoutSeconds = 300
    private let client: HTTPSClient
    private let onUpdate: (Update) -> Void
    private let log: (String) -> Void
    private let lock = Lock()
    private var store = KubeStore()
    private var stopping = false
    private var thread: pthread_t?
    private var lists = 0
    public var backoff = Backoff()
    /// What the store keeps of each listed or watched object (client-go's `TransformFunc`): set
    /// before `start`, it may drop the fields no consumer reads, so the store holds less. Its
    /// result must keep `metadata.name`, `namespace` and `resourceVersion`. Nil keeps the whole
    /// object.
    public var transform: ((JSONValue) -> JSONValue)?

    public init(
        client: HTTPSClient, path: String, log: @escaping (String) -> Void = { _ in },
        onUpdate: @escaping (Update) -> Void = { _ in }
    ) {
        self.client = client
        self.path = path
        self.log = log
        self.onUpdate = onUpdate
    }

    /// The store's objects and resourceVersion now (a copy).
    public func snapshot() -> (objects: [String: JSONValue], resourceVersion: String?, lists: Int) {
        lock.withLock { (store.objects, store.resourceVersion, lists) }
    }

    /// Starts the thread.
    public func start() {
        thread = KubeThread.start { self.run() }
    }

    /// Stops the thread and waits for it (at most a poll interval plus the callback's time).
    public func stop() {
        lock.withLock { stopping = true }
        KubeThread.join(&thread)
    }

    private var isStopping: Bool { lock.withLock { stopping } }

    private func run() {
        var needList = true
        while !isStopping {
            if needList {
                do {
                    try list()
                    needList = false
                    backoff.reset()
                } catch {
                    lock.withLock { store.abandonRelist() }
                    if isStopping { return }
                    log("list \(path): \(error)")
                    sleep(backoff.next())
                    continue
                }
            }
            do {
                let outcome = try watch()
                switch outcome {
                case .gone:
                    log("watch \(path): 410 Gone, relisting")
                    needList = true
                case .ended(let sawEvents):
                    // A watch that ended without one event (not even a bookmark) backs off too,
                    // so a server that closes every watch at once is not asked in a tight loop.
                    if sawEvents { backoff.reset() } else { sleep(backoff.next()) }
                }
            } catch {
                if isStopping { return }
                log("watch \(path): \(error)")
                sleep(backoff.next())
            }
        }
    }

    private func sleep(_ seconds: Double) {
        let end = monotonic() + seconds
        while !isStopping, monotonic() < end { usleep(20_000) }
    }

    private func query(_ parameters: [(String, String)]) -> String {
        path + (path.contains("?") ? "&" : "?")
            + parameters.map { "\($0.0)=\(percentEncode($0.1))" }.joined(separator: "&")
    }

    private func list() throws(KubeError) {
        lock.withLock { store.beginRelist() }
        var continueToken: String?
        while true {
            var parameters = [("limit", String(pageSize))]
            if let token = continueToken { parameters.append(("continue", token)) }
            let (status, body) = try client.getAll(query(parameters), shouldStop: { self.isStopping })
            guard status == 200 else { throw KubeError("HTTP \(status): \(statusMessage(body))") }
            let value: JSONValue
            do { value = try JSONValue.parse(body) } catch { throw KubeError("list body: \(error)") }
            guard case .array(let items)? = value["items"] else { throw KubeError("list without items") }
            let kept = transform.map { items.map($0) } ?? items
            lock.withLock { store.addListed(kept) }
            continueToken = value["metadata"]?["continue"]?.stringValue
            if continueToken?.isEmpty ?? true {
                guard let rv = value["metadata"]?["resourceVersion"]?.stringValue else {
                    throw KubeError("list without metadata.resourceVersion")
                }
                let (objects, deltas) = lock.withLock { () -> ([String: JSONValue], [KubeStore.Delta]) in
                    let deltas = store.finishRelist(resourceVersion: rv)
                    lists += 1
                    return (store.objects, deltas)
                }
                onUpdate(.synced(objects: objects, deltas: deltas))
                return
            }
        }
    }

    private enum WatchOutcome {
        case gone
        case ended(sawEvents: Bool)
    }

    private func watch() throws(KubeError) -> WatchOutcome {
        let rv = lock.withLock { store.resourceVersion } ?? "0"
        let target = query([
            ("watch", "true"), ("resourceVersion", rv), ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", String(watchTimeoutSeconds)),
        ])
        var splitter = LineSplitter()
        var status = 0
        var errorBody: [UInt8] = []
        var gone = false
        var sawEvents = false
        try client.get(
            target, shouldStop: { self.isStopping }, onHead: { head in status = head.status },
            onBody: { (piece: [UInt8]) throws(KubeError) -> Bool in
                if status != 200 {
                    errorBody += piece.prefix(65536 - errorBody.count)
                    return true
                }
                for line in try splitter.feed(piece) {
                    var event = try WatchEvent.parse(line)
                    if let transform { event = event.mapObject(transform) }
                    if case .error(let code, let message) = event {
                        if code == 410 {
                            gone = true
                            return false
                        }
                        throw KubeError("watch ERROR \(code): \(message)")
                    }
                    sawEvents = true
                    let delta = lock.withLock { store.apply(event) }
                    if let delta { onUpdate(.delta(delta)) }
                }
                return !self.isStopping
            })
        if status == 410 { return .gone }
        if status != 200 { throw KubeError("HTTP \(status): \(statusMessage(errorBody))") }
        return gone ? .gone : .ended(sawEvents: sawEvents)
    }
}

/// A Status body's message, or the body's start.
private func statusMessage(_ body: [UInt8]) -> String {
    if let value = try? JSONValue.parse(body), let message = value["message"]?.stringValue { return message }
    return String(decoding: body.prefix(200), as: UTF8.self)
}

/// Percent-encodes all but unreserved characters (RFC 3986).
func percentEncode(_ text: String) -> String {
    var out = ""
    for b in text.utf8 {
        switch b {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            out.unicodeScalars.append(Unicode.Scalar(b))
        default:
            let hex = Array("0123456789ABCDEF".utf8)
            out += "%" + String(decoding: [hex[Int(b >> 4)], hex[Int(b & 15)]], as: UTF8.self)
        }
    }
    return out
}
