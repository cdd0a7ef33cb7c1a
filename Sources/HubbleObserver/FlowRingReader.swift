import CSluiceShared
import Datapath
import Flows
import Glibc
import SluiceIO
import SluiceJSON

/// Reads the pinned flow ring read-only (as `sluice observe` does) and copies each new record
/// straight from its ring slot into a `FlowHistory` slot (the record's used bytes, once; issue 17),
/// with the `FlowDecodeContext` that turns it into a `Flow` when a consumer needs one: endpoints
/// named from the agent's `endpoints.json` and `fqdn.json` (re-read at most once a second), the
/// same `uuid` observe prints, `emitter` Sluice. Waits for the ring to be pinned (the agent may
/// start later) and maps it again when the agent re-creates it.
///
/// Not thread-safe: `poll` runs on the observer's loop.
public final class FlowRingReader {
    /// One thing `next` (or `poll`) found.
    public enum Event {
        /// A record, kept in the history now (in its scratch record; valid until the history's next change).
        case record(FlowRecordRef)
        case lost(UInt64)
        /// Nothing more now (`next` only).
        case idle
    }

    private let pinDirectory: String
    private let stateDirectory: String
    private let nodeNameOverride: String?
    private var ring: FlowRing? {
        didSet { ringRef = ring.map { Unmanaged.passUnretained($0) } }
    }
    /// `ring` without a reference count, for the per-record path (`ring` keeps it alive).
    private var ringRef: Unmanaged<FlowRing>?
    private var ringInode: (UInt64, Int, Int) = (0, 0, 0)
    private var cursor = FlowCursor(seq: 0)
    private var seed = ""
    private var directory = EndpointDirectory()
    /// What records read now are decoded with (a new one per directory reload or ring).
    public private(set) var context: FlowDecodeContext {
        didSet { contextRef = Unmanaged.passUnretained(context) }
    }
    /// `context` without a reference count, for the per-record path (`context` keeps it alive).
    private var contextRef: Unmanaged<FlowDecodeContext>
    private var directoryLoadedNs: UInt64 = 0
    /// The state files' bytes the directory was made of (nil before the first read).
    private var loadedFiles: ([UInt8]?, [UInt8]?)?
    private var ringCheckedNs: UInt64 = 0
    /// This poll's time and clock offset (`beginPoll`), and whether it looked at the directory.
    private var pollNs: UInt64 = 0
    private var wallOffsetNs: Int64 = 0
    private var directoryChecked = false
    /// Why the ring could not be mapped the last time it was tried (nil once mapped).
    public private(set) var openError: String?

    public init(pinDirectory: String, stateDirectory: String, nodeName: String?) {
        self.pinDirectory = pinDirectory
        self.stateDirectory = stateDirectory
        self.nodeNameOverride = nodeName
        let first = FlowDecodeContext(directory: EndpointDirectory(), seed: "", nodeNameOverride: nodeName)
        context = first
        contextRef = Unmanaged.passUnretained(first)
    }

    /// The node name flows and answers carry.
    public var nodeName: String { context.nodeName }

    /// Whether the ring is mapped.
    public var isOpen: Bool { ring != nil }

    /// Starts a poll at monotonic `nowNs`: maps the ring when due, reads the two clocks once (the
    /// records' monotonic times to wall time), re-reads the directory when due. Returns whether the
    /// ring is mapped (`next` reads only after this).
    @discardableResult
    public func beginPoll(nowNs: UInt64) -> Bool {
        if ring == nil || nowNs &- ringCheckedNs >= 1_000_000_000 {
            ringCheckedNs = nowNs
            reopenIfChanged()
        }
        guard ring != nil else { return false }
        wallOffsetNs = Int64(bitPattern: SystemClock.realtimeNs() &- SystemClock.monotonicNs())
        pollNs = nowNs
        directoryChecked = false
        return true
    }

    /// The next record since the last one, copied from the ring into `history` (kept there: a
    /// record the ring overwrote while it was copied is `.lost`, and replaces nothing), or how
    /// many were lost, or `.idle`. Call `beginPoll` first.
    public func next(into history: inout FlowHistory) -> Event {
        // The ring and the context through unretained references: no retain and release per record.
        guard let ringRef else { return .idle }
        let slot = history.nextRecordSlot()
        let copied = ringRef._withUnsafeGuaranteedRef { ring in
            cursor.next(in: ring, nowNs: pollNs, copy: { FlowRecordBytes.copyUsed(from: $0, to: slot) })
        }
        switch copied {
        case .record(let seq):
            if !directoryChecked {
                // Once per poll, and only when there is a record (the poll's time is fixed).
                directoryChecked = true
                reloadDirectoryIfDue(nowNs: pollNs)
            }
            let offset = wallOffsetNs
            return contextRef._withUnsafeGuaranteedRef {
                .record(history.commitRecord(seq: seq, wallOffsetNs: offset, context: $0))
            }
        case .lost(let count):
            return .lost(count)
        case .idle:
            return .idle
        }
    }

    /// Copies every record written since the last call (at most `limit`) into `history`, in ring
    /// order, handing `body` each (in place in `history`) and the lost counts between them. The
    /// first mapping starts at the oldest record the ring still holds, so the history is filled
    /// with what happened before the observer started.
    public func poll(nowNs: UInt64, into history: inout FlowHistory, limit: Int = 65536, _ body: (Event) -> Void) {
        guard beginPoll(nowNs: nowNs) else { return }
        var handled = 0
        var lost: UInt64 = 0
        while handled < limit {
            switch next(into: &history) {
            case .record(let ref):
                if lost > 0 {
                    body(.lost(lost))
                    lost = 0
                }
                body(.record(ref))
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
