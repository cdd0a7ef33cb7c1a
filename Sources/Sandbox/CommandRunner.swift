import Foundation

/// Runs the external commands the sandbox needs (`ip`, `sysctl`, servers). Synchronous commands
/// go through Foundation's `Process` with stdout and stderr captured; background servers through
/// `posix_spawn` in a new session with output to a log file, so they outlive the CLI and a
/// terminal's Ctrl-C.
enum CommandRunner {
    /// `POSIX_SPAWN_SETSID` from glibc's `spawn.h` (a `_GNU_SOURCE` macro Swift does not import).
    static let spawnSetsid: Int16 = 0x80
    /// Directories searched after `PATH`: `ip` and `dnsmasq` live in sbin, which a non-login
    /// root shell's `PATH` may miss.
    static let extraSearchPath = ["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"]

    /// The absolute path of `program` (returned unchanged if it already contains a slash or is
    /// not found, so the error names it).
    static func locate(_ program: String) -> String {
        guard !program.contains("/") else { return program }
        let path = ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":").map(String.init) ?? []
        for directory in path + extraSearchPath {
            let candidate = directory + "/" + program
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return program
    }

    /// Runs `command` (argv; `command[0]` looked up with `locate`) to completion.
    /// - Returns: its standard output.
    /// - Throws: `SandboxError` naming the command and its stderr when it cannot start or exits
    ///   non-zero.
    @discardableResult
    static func run(_ command: [String]) throws(SandboxError) -> String {
        guard let program = command.first else { return "" }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: locate(program))
        process.arguments = Array(command.dropFirst())
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw SandboxError.commandFailed(command, status: -1, stderr: "\(error.localizedDescription)")
        }
        let errorText = ErrorCollector()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            errorText.data = errors.fileHandleForReading.readDataToEndOfFile()
        }
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        let status =
            process.terminationReason == .uncaughtSignal
            ? 128 + process.terminationStatus
            : process.terminationStatus
        guard status == 0 else {
            let stderr = String(decoding: errorText.data, as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            throw SandboxError.commandFailed(command, status: status, stderr: stderr)
        }
        return String(decoding: outputData, as: UTF8.self)
    }

    /// Holds the stderr bytes read on another thread; `group.wait()` orders the accesses.
    private final class ErrorCollector: @unchecked Sendable {
        var data = Data()
    }

    /// Starts `command` in the background in its own session (so its PID is also its process
    /// group), stdin from `/dev/null`, stdout and stderr appended to `logPath`.
    /// - Returns: the PID. The caller records it; nothing here waits for the process.
    static func spawn(_ command: [String], logPath: String) throws(SandboxError) -> Int32 {
        guard let program = command.first else { throw SandboxError.cannotStart(command, errno: EINVAL) }
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawnattr_setflags(&attributes, spawnSetsid)
        let argv: [UnsafeMutablePointer<CChar>?] = ([locate(program)] + command.dropFirst()).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = argv.withUnsafeBufferPointer { buffer -> Int32 in
            guard let path = buffer[0], let base = buffer.baseAddress else { return ENOMEM }
            return posix_spawn(&pid, path, &actions, &attributes, base, environ)
        }
        guard result == 0 else { throw SandboxError.cannotStart(command, errno: result) }
        return pid
    }
}
