import CSluiceShared
import Datapath
import Flows
import Glibc
import SluiceIO
import SluiceJSON

/// Reads the pinned flow ring read-only (as `sluice observe` does) and hands each new record on as
/// a `RawFlow`, with the `FlowDecodeContext` that turns it into a `Flow` when a consumer needs one:
/// endpoints named from the agent's `endpoints.json` and `fqdn.json` (re-read at most once a
/// second), the same `uuid` observe prints, `emitter` Sluice. Waits for the ring to be
/// pinned (the agent may start later) and maps it again when the agent re-creates it.
///
/// Not thread-safe: `poll` runs on the observer's loop.
public final class FlowRingReader {
    /// One thing `poll` found.
    public enum Event {
        case record(RawFlow)
        case lost(UInt64)
    }

    private let pinDirectory: String
    private let stateDirectory: String
    private let nodeNameOverride: String?
    private var ring: FlowRing?
    private var ringInode: (UInt64, Int, Int) = (0, 0, 0)
    private var cursor = FlowCursor(seq: 0)
    private var seed = ""
    private var directory = EndpointDirectory()
    /// What records read now are decoded with (a new one per directory reload or ring).
    public private(set) var context: FlowDecodeContext
    private var directoryLoadedNs: UInt64 = 0
    /// The state files' bytes the directory was made of (nil before the first read).
    private var loadedFiles: ([UInt8]?, [UInt8]?)?
    private var ringCheckedNs: UInt64 = 0
    /// Why the ring could not be mapped the last time it was tried (nil once mapped).
    public private(set) var openError: String?

    public init(pinDirectory: String, stateDirectory: String, nodeName: String?) {
        self.pinDirectory = pinDirectory
        self.stateDirectory = stateDirectory
        self.nodeNameOverride = nodeName
        context = FlowDecodeContext(directory: EndpointDirectory(), seed: "", nodeNameOverride: nodeName)
    }

    /// The node name flows and answers carry.
    public var nodeName: String { context.nodeName }

    /// Whether the ring is mapped.
    public var isOpen: Bool { ring != nil }

    /// Hands `body` every record written since the last call (at most `limit`), in ring order.
    /// The first mapping starts at the oldest record the ring still holds, so the history is
    /// filled with what happened before the observer started.
    public func poll(nowNs: UInt64, limit: Int = 65536, _ body: (Event) -> Void) {
        if ring == nil || nowNs &- ringCheckedNs >= 1_000_000_000 {
            ringCheckedNs = nowNs
            reopenIfChanged()
        }
        guard let ring else { return }
        // Monotonic record times to wall time: the two clocks are read once per poll, not per record.
        let offset = Int64(bitPattern: SystemClock.realtimeNs() &- SystemClock.monotonicNs())
        var handled = 0
        var lost: UInt64 = 0
        while handled < limit {
            switch cursor.next(in: ring, nowNs: nowNs) {
            case .record(let seq, let rec):
                if lost > 0 {
                    body(.lost(lost))
                    lost = 0
                }
                reloadDirectoryIfDue(nowNs: nowNs)
                body(.record(RawFlow(record: rec, seq: seq, wallOffsetNs: offset, context: context)))
                handled += 1
            case .lost(let count):
                lost += count
            case .idle:
                handled = limit
            }
        }
        if lost > 0 { body(.lost(lost)) }
    }

    /// Maps the ring when it is not mapped or its pin is a new map (another inode or change time).
    private func reopenIfChanged() {
        var st = stat()
        guard stat(pinDirectory + "/sluice_flows", &st) == 0 else {
            if ring != nil { close() }
            openError = "\(pinDirectory)/sluice_flows is not pinned (is the agent running?)"
            return
        }
        let identity = (UInt64(st.st_ino), st.st_ctim.tv_sec, st.st_ctim.tv_nsec)
        if ring != nil, identity == ringInode { return }
        close()
        do {
            let opened = try FlowRing.openForReading(pinDirectory: pinDirectory)
            ring = opened
            ringInode = identity
            cursor = FlowCursor.oldest(in: opened)
            seed = FlowRing.uuidSeed(pinDirectory: pinDirectory)
            context = FlowDecodeContext(directory: directory, seed: seed, nodeNameOverride: nodeNameOverride)
            directoryLoadedNs = 0
            openError = nil
        } catch {
            openError = "\(error)"
        }
    }

    /// Unmaps the ring.
    public func close() {
        ring?.close()
        ring = nil
    }

    private func reloadDirectoryIfDue(nowNs: UInt64) {
        guard directoryLoadedNs == 0 || nowNs &- directoryLoadedNs >= 1_000_000_000 else { return }
        directoryLoadedNs = nowNs
        reloadDirectory()
    }

    /// Reads `endpoints.json` and `fqdn.json` again; files unchanged since the last read keep the
    /// directory and its `context` (kept records share one context per directory, not one per
    /// second).
    public func reloadDirectory() {
        let endpointBytes = Files.readIfPresent(stateDirectory + "/endpoints.json")
        let fqdnBytes = Files.readIfPresent(stateDirectory + "/fqdn.json")
        if let loadedFiles, loadedFiles.0 == endpointBytes, loadedFiles.1 == fqdnBytes { return }
        loadedFiles = (endpointBytes, fqdnBytes)
        if let bytes = endpointBytes, let loaded = try? JSON.decode(EndpointDirectory.File.self, from: bytes) {
            directory = EndpointDirectory(file: loaded)
        }
        if let bytes = fqdnBytes, let names = EndpointDirectory.namesFromFQDNCache(json: bytes) {
            directory = directory.withNames(names)
        }
        context = FlowDecodeContext(directory: directory, seed: seed, nodeNameOverride: nodeNameOverride)
    }
}
