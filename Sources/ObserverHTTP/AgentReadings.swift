import Glibc
import SluiceAPI

/// The agent's numbers the `sluice_*` families need that flow records do not carry: its resident
/// memory (from /proc, the process named `sluice-agent`) and its last policy install (the
/// `lastApply` line of its `introspect` answer on the control socket, with its count of failed
/// applies and its DNS-answer-to-datapath histogram). Read at most once per
/// `minIntervalNs`, on the observer's loop (the control socket answers in well under a
/// millisecond; a stuck agent would stall this loop, which is why the reads are rate-limited).
public final class AgentReadings {
    public static let minIntervalNs: UInt64 = 2_000_000_000
    private let controlSocket: String
    private let procRoot: String
    private var lastReadNs: UInt64?
    public private(set) var residentBytes: UInt64?
    public private(set) var lastApply: String?
    /// Policy applies the agent refused or could not install since it started.
    public private(set) var policyApplyFailures: UInt64?
    /// The agent's DNS-answer-to-datapath delays.
    public private(set) var dnsAnswerToDatapath: AgentIntrospection.LatencyHistogram?

    public init(controlSocket: String = AgentPaths.controlSocket, procRoot: String = "/proc") {
        self.controlSocket = controlSocket
        self.procRoot = procRoot
    }

    /// Refreshes the readings when the last refresh is older than `minIntervalNs`.
    public func refresh(nowNs: UInt64) {
        if let lastReadNs, nowNs &- lastReadNs < Self.minIntervalNs { return }
        lastReadNs = nowNs
        residentBytes = agentPID().flatMap { residentBytes(pid: $0) }
        if let status = try? ControlClient.query(.introspect, as: AgentIntrospection.self, path: controlSocket) {
            lastApply = status.lastApply
            policyApplyFailures = status.policyApplyFailures
            dnsAnswerToDatapath = status.dnsAnswerToDatapath
        }
    }

    /// The PID of the process whose `comm` is `sluice-agent`, if one runs.
    func agentPID() -> Int32? {
        guard let dir = opendir(procRoot) else { return nil }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard let pid = Int32(name) else { continue }
            if Self.readSmallFile(procRoot + "/\(name)/comm") == "sluice-agent\n" { return pid }
        }
        return nil
    }

    /// Resident bytes of `pid`: the second field of /proc/PID/statm times the page size.
    func residentBytes(pid: Int32) -> UInt64? {
        guard let text = Self.readSmallFile(procRoot + "/\(pid)/statm") else { return nil }
        return Self.residentBytes(statm: text, pageSize: UInt64(sysconf(Int32(_SC_PAGESIZE))))
    }

    /// Parses statm's resident page count.
    static func residentBytes(statm: String, pageSize: UInt64) -> UInt64? {
        let fields = statm.split(separator: " ")
        guard fields.count >= 2, let pages = UInt64(fields[1]) else { return nil }
        return pages * pageSize
    }

    /// The first 4 KiB of a file, or nil.
    static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n >= 0 else { return nil }
        return String(decoding: buffer[..<n], as: UTF8.self)
    }
}
