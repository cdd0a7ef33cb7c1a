import CSluiceShared
import Datapath
import Flows
import Glibc
import SluiceIO
import SluiceJSON

/// Hubble's flow exporter (`--hubble-export-file-path` and its options): what to write where.
public struct FlowExportConfig {
    /// The JSON lines file (`--hubble-export-file-path`).
    public var path: String
    /// Rotate before the file would grow past this many bytes (`--hubble-export-file-max-size-mb`,
    /// Hubble's default 10 MB).
    public var maxSizeBytes: Int = 10 * 1024 * 1024
    /// Rotated files kept (`--hubble-export-file-max-backups`, Hubble's default 5); older ones go.
    public var maxBackups: Int = 5
    /// `--hubble-export-allowlist` / `--hubble-export-denylist`.
    public var allow = FlowExportFilter()
    public var deny = FlowExportFilter()
    /// `--hubble-export-fieldmask`: the fields each exported flow keeps (all without it).
    public var fieldMask = FlowFieldMask()

    public init(path: String) {
        self.path = path
    }
}

/// A file of lines rotated by size, like Hubble's exporter (lumberjack): before a line would
/// make the file larger than `maxSizeBytes`, the file is renamed to `NAME-<UTC time>.EXT`
/// (`2006-01-02T15-04-05.000`, so names sort by age) and a new one started; only the newest
/// `maxBackups` renamed files are kept. A line longer than the limit goes into a file of its own.
struct RotatingFile {
    let path: String
    let maxSizeBytes: Int
    let maxBackups: Int
    private var fd: Int32 = -1
    private(set) var size = 0

    init(path: String, maxSizeBytes: Int, maxBackups: Int) {
        self.path = path
        self.maxSizeBytes = maxSizeBytes
        self.maxBackups = maxBackups
    }

    /// Appends `line` and a newline, rotating first when the file would grow past its limit.
    mutating func write(_ line: String, nowNs: UInt64) throws(SyscallError) {
        var bytes = Array(line.utf8)
        bytes.append(0x0A)
        if fd < 0 { try open() }
        if size > 0 && size + bytes.count > maxSizeBytes { try rotate(nowNs: nowNs) }
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SyscallError("write \(path)", errno: errno)
            }
            done += n
        }
        size += bytes.count
    }

    mutating func close() {
        if fd >= 0 { _ = Glibc.close(fd) }
        fd = -1
    }

    private mutating func open() throws(SyscallError) {
        let directory = Files.directory(of: path)
        if !directory.isEmpty { try Files.createDirectories(directory) }
        fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        if fd < 0 { throw SyscallError("open \(path)", errno: errno) }
        var st = stat()
        size = fstat(fd, &st) == 0 ? Int(st.st_size) : 0
    }

    private mutating func rotate(nowNs: UInt64) throws(SyscallError) {
        close()
        var backup = Self.backupName(path, nowNs: nowNs)
        var n = 1
        while Files.exists(backup) {
            backup = Self.backupName(path, nowNs: nowNs) + ".\(n)"
            n += 1
        }
        if rename(path, backup) != 0 { throw SyscallError("rename \(path)", errno: errno) }
        let backups = Self.backups(of: path)
        for old in backups.dropLast(max(0, maxBackups)) { Files.remove(old) }
        try open()
    }

    /// `dir/name-2006-01-02T15-04-05.000.ext` for `dir/name.ext` at `nowNs` (realtime, UTC).
    static func backupName(_ path: String, nowNs: UInt64) -> String {
        let (stem, ext) = split(path)
        let text = TimeFormat.rfc3339Milli.format(
            Flow.Timestamp(nanosecondsSinceEpoch: Int64(bitPattern: nowNs)), utcOffsetSeconds: 0)
        // 2006-01-02T15:04:05.000Z -> 2006-01-02T15-04-05.000
        let stamp = String(text.dropLast().map { $0 == ":" ? "-" : $0 })
        return stem + "-" + stamp + ext
    }

    /// The rotated files of `path`, oldest first.
    static func backups(of path: String) -> [String] {
        let (stem, ext) = split(path)
        let directory = Files.directory(of: path)
        let prefix = String(stem.dropFirst(directory.isEmpty ? 0 : directory.count + 1)) + "-"
        return Files.list(directory.isEmpty ? "." : directory)
            .filter { $0.hasPrefix(prefix) && ($0.hasSuffix(ext) || $0.contains(ext + ".")) && $0 != prefix }
            .sorted()
            .map { directory.isEmpty ? $0 : directory + "/" + $0 }
    }

    /// (`dir/name`, `.ext`) of `dir/name.ext`; the extension is empty when the name has none.
    private static func split(_ path: String) -> (String, String) {
        let slash = path.lastIndex(of: "/")
        if let dot = path.lastIndex(of: "."), slash.map({ dot > $0 }) ?? true, dot != path.startIndex {
            return (String(path[..<dot]), String(path[dot...]))
        }
        return (path, "")
    }
}

/// Writes the flow ring to the export file as Hubble JSON lines (`sluice observe -o json`'s
/// lines, the same uuid for the same record), from the records written after it started: a
/// thread that polls the ring every 50 ms, decodes each new record with the endpoint directory
/// the agent writes (re-read at most once a second), applies the allow and deny lists and the
/// field mask, and appends. Records overwritten before it read them become a `lost_events` line, as in observe.
/// It only reads the ring: a slow disk loses records, it never slows a writer.
final class FlowExporter {
    private let config: FlowExportConfig
    private let ring: FlowRing
    private let stateDirectory: String
    private let seed: String
    private var file: RotatingFile
    private var cursor: FlowCursor
    private var directory: EndpointDirectory
    private var directoryLoadedNs: UInt64 = 0
    private var thread: WorkerThread?
    /// Lines written and the last write error (for tests and `status`).
    private(set) var written = 0
    private(set) var lastError: String?

    init(config: FlowExportConfig, ring: FlowRing, stateDirectory: String, pinDirectory: String) {
        self.config = config
        self.ring = ring
        self.stateDirectory = stateDirectory
        seed = FlowRing.uuidSeed(pinDirectory: pinDirectory)
        file = RotatingFile(path: config.path, maxSizeBytes: config.maxSizeBytes, maxBackups: config.maxBackups)
        cursor = FlowCursor(seq: ring.nextSeq)
        directory = EndpointDirectory(file: EndpointDirectory.File(nodeName: "", endpoints: [], identities: []))
    }

    /// Starts the exporting thread.
    func start() throws(SyscallError) {
        let thread = WorkerThread(name: "flow-export") { [self] in
            while true {
                drain()
                usleep(50_000)
            }
        }
        try thread.start()
        self.thread = thread
    }

    /// Writes every record the ring has now that the cursor has not passed.
    func drain() {
        var lost: UInt64 = 0
        while true {
            switch cursor.next(in: ring, nowNs: SystemClock.monotonicNs()) {
            case .record(let seq, let rec):
                if lost > 0 {
                    emitLost(lost)
                    lost = 0
                }
                reloadDirectoryIfDue()
                let offset = Int64(bitPattern: SystemClock.realtimeNs() &- SystemClock.monotonicNs())
                var flow = Flow.decode(rec, directory: directory, monotonicToWallOffsetNs: offset)
                flow.uuid = FlowUUID.make(seed: seed, seq: seq)
                flow.emitter = .sluice
                if FlowExportFilter.exports(flow, allow: config.allow, deny: config.deny) {
                    let line = FlowPrinter.json(flow)
                    write(config.fieldMask.isActive ? config.fieldMask.apply(toLine: line) : line)
                }
            case .lost(let count):
                lost += count
            case .idle:
                if lost > 0 { emitLost(lost) }
                return
            }
        }
    }

    private func emitLost(_ count: UInt64) {
        write(
            FlowPrinter.json(
                LostEvent(
                    source: .hubbleRingBuffer, count: count, nodeName: directory.nodeName,
                    time: Flow.Timestamp(nanosecondsSinceEpoch: Int64(bitPattern: SystemClock.realtimeNs())))))
    }

    private func write(_ line: String) {
        do {
            try file.write(line, nowNs: SystemClock.realtimeNs())
            written += 1
            lastError = nil
        } catch {
            // Reported once per kind of failure; the next line tries again (a new file).
            let text = "\(error)"
            if lastError != text { print("flow export: \(text)") }
            lastError = text
            file.close()
        }
    }

    private func reloadDirectoryIfDue() {
        let now = SystemClock.monotonicNs()
        guard directoryLoadedNs == 0 || now &- directoryLoadedNs >= 1_000_000_000 else { return }
        directoryLoadedNs = now
        if let bytes = Files.readIfPresent(stateDirectory + "/endpoints.json"),
            let loaded = try? JSON.decode(EndpointDirectory.File.self, from: bytes)
        {
            directory = EndpointDirectory(file: loaded)
        }
        if let bytes = Files.readIfPresent(stateDirectory + "/fqdn.json"),
            let names = EndpointDirectory.namesFromFQDNCache(json: bytes)
        {
            directory = directory.withNames(names)
        }
    }
}
