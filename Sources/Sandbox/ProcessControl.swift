import Foundation
import SluiceIO
import SluiceModel

/// Stops the background processes the sandbox recorded, and only those: a PID is signalled only
/// while `/proc/PID/cmdline` still contains the recorded marker (so a reused PID is left alone).
enum ProcessControl {
    /// How long processes get between SIGTERM and SIGKILL.
    static let gracePeriod: TimeInterval = 2
    static let pollInterval: TimeInterval = 0.05

    /// Whether `pid` still runs (reaps it first if it is our exited child). A zombie counts as
    /// gone: once `up` has exited, servers belong to PID 1, which may be slow to reap them.
    static func isRunning(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { return false }
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        return !isZombie(pid)
    }

    /// Whether `/proc/<pid>/stat` shows state `Z` (the field after the parenthesised name).
    private static func isZombie(_ pid: Int32) -> Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return false }
        let text = String(decoding: data, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return false }
        return text[text.index(after: close)...].trimmingSpaces.hasPrefix("Z")
    }

    /// Whether `/proc/<pid>/cmdline` contains `marker`.
    static func commandLine(of pid: Int32, contains marker: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        let text = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
        return text.contains(marker)
    }

    /// SIGTERM to each process (and its process group when it leads one), SIGKILL to what is
    /// left after `gracePeriod`.
    static func stop(_ processes: [(pid: Int32, marker: String)]) {
        let targets = processes.filter {
            $0.pid > 1 && isRunning($0.pid) && commandLine(of: $0.pid, contains: $0.marker)
        }
        guard !targets.isEmpty else { return }
        let groupLeaders = Set(targets.map(\.pid).filter { getpgid($0) == $0 })
        func signal(_ number: Int32) {
            for target in targets {
                if groupLeaders.contains(target.pid) { kill(-target.pid, number) }
                kill(target.pid, number)
            }
        }
        signal(SIGTERM)
        let deadlineNs = SystemClock.monotonicNs() + UInt64(gracePeriod * 1e9)
        while SystemClock.monotonicNs() < deadlineNs, targets.contains(where: { isRunning($0.pid) }) {
            Thread.sleep(forTimeInterval: pollInterval)
        }
        // A group whose leader has gone may still hold children (gunicorn workers): kill those too.
        for target in targets
        where isRunning(target.pid) || (groupLeaders.contains(target.pid) && kill(-target.pid, 0) == 0) {
            if groupLeaders.contains(target.pid) { kill(-target.pid, SIGKILL) }
            kill(target.pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(target.pid, &status, WNOHANG)
        }
    }
}
