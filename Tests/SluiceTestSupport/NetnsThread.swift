import Foundation
import SluiceIO

/// Runs test code in a network namespace of its own: `ip netns add` makes one (named
/// `dptest-PID-N`, never `sluice-*`, so the sandbox's clean-up leaves it alone), a new thread
/// enters it (network namespaces are per thread), runs `body` there and ends, and the namespace
/// is deleted with its only device `lo`. Attach and routing tests touch nothing of the host's
/// network this way; processes the body spawns (posix_spawn) start in that namespace too.
public enum NetnsThread {
    public struct Failed: Error { public var what: String }

    public static func run<T>(_ body: @escaping () throws -> T) throws -> T {
        let name = "dptest-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try ip(["netns", "add", name])
        defer { try? ip(["netns", "delete", name]) }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<T, any Error> = .failure(Failed(what: "not run"))
        let thread = Thread {
            result = Result {
                try Socket.enterNetworkNamespace(path: "/run/netns/" + name)
                return try body()
            }
            done.signal()
        }
        thread.start()
        done.wait()
        return try result.get()
    }

    /// Runs `ip args` (from the calling thread's namespace); throws unless it exits 0.
    private static func ip(_ args: [String]) throws {
        let candidates: [String] = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]
        guard let path = candidates.first(where: { access($0, X_OK) == 0 }) else { throw Failed(what: "no ip command") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = args
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failed(what: "ip \(args.joined(separator: " ")) exited \(process.terminationStatus)")
        }
    }
}
