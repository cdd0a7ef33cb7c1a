import Foundation
import SluiceAPI
import SluiceIO

/// Starts the sandbox's servers inside network namespaces and waits until they accept
/// connections. Knows each server kind's command line.
struct ServerLauncher {
    /// How long a server may take to accept its first connection.
    static let readyTimeout: TimeInterval = 15
    /// Pause between two readiness probes.
    static let probeInterval: TimeInterval = 0.1
    /// gunicorn workers and threads per worker for httpbin (threads give HTTP keep-alive).
    static let gunicornWorkers = 2
    static let gunicornThreads = 4
    /// Log lines quoted in a "not ready" error.
    static let logTailLines = 20

    /// The project's Python venv with httpbin and gunicorn.
    let venv: String
    /// The repository root (for `integration/servers/*.py`).
    let repoRoot: String
    /// Extra gunicorn arguments (`--no-control-socket` when that gunicorn has it).
    let gunicornExtra: [String]

    /// Probes the venv's gunicorn once for `--no-control-socket` (gunicorn 27 otherwise opens
    /// one shared control socket in `~/.gunicorn`, so a second httpbin pod would clash).
    init(venv: String, repoRoot: String) {
        self.venv = venv
        self.repoRoot = repoRoot
        let help = (try? CommandRunner.run([Self.gunicornPath(venv: venv), "--help"])) ?? ""
        gunicornExtra = help.contains("--no-control-socket") ? ["--no-control-socket"] : []
    }

    /// Memberwise, for tests.
    init(venv: String, repoRoot: String, gunicornExtra: [String]) {
        self.venv = venv
        self.repoRoot = repoRoot
        self.gunicornExtra = gunicornExtra
    }

    static func gunicornPath(venv: String) -> String {
        venv + "/bin/gunicorn"
    }

    /// The Python for the stdlib-only server scripts: the venv's, else the system's, else
    /// `python3` from `PATH` (a pyenv shim there costs about a second per start).
    var python: String {
        let candidates = [venv + "/bin/python3", "/usr/bin/python3"]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? "python3"
    }

    /// A server's certificate and key (PEM files).
    struct TLSFiles: Equatable {
        var certificate: String
        var key: String
    }

    /// The program's argv for `kind` listening on each `HOST:PORT` of `listen`, and the marker
    /// its `/proc/PID/cmdline` will contain. `tls` is the certificate of a TLS kind (`https`,
    /// `h2-tls`, `grpc-tls`; the other kinds ignore it; without it a TLS kind would serve plain
    /// text, so the caller always passes it).
    func command(
        kind: ServerKind, listen: [String], owner: String, tls: TLSFiles? = nil
    ) -> (argv: [String], marker: String) {
        switch kind {
        case .httpbin, .https:
            let gunicorn = Self.gunicornPath(venv: venv)
            let binds = listen.flatMap { ["-b", $0] }
            let certificate = kind == .https ? tls.map { ["--certfile", $0.certificate, "--keyfile", $0.key] } : nil
            let argv =
                [gunicorn] + binds + [
                    "-w", "\(Self.gunicornWorkers)", "--threads", "\(Self.gunicornThreads)",
                    "--access-logfile", "-",
                ] + (certificate ?? []) + gunicornExtra + ["httpbin:app"]
            return (argv, gunicorn)
        case .httpStatic, .tcp, .h2c, .grpc, .h2TLS, .grpcTLS:
            let file: String
            switch kind {
            case .tcp: file = "tcp_echo.py"
            case .h2c, .h2TLS: file = "h2c_server.py"
            case .grpc, .grpcTLS: file = "grpc_server.py"
            default: file = "static_http.py"
            }
            let script = repoRoot + "/integration/servers/" + file
            let certificate = kind.usesTLS ? tls.map { ["--cert", $0.certificate, "--key", $0.key] } : nil
            let argv =
                [python, "-u", script, "--name", owner] + listen.flatMap { ["--listen", $0] } + (certificate ?? [])
            return (argv, script)
        }
    }

    /// Starts `argv` inside `netns` in the background, logging to `logPath`.
    func start(argv: [String], netns: String, logPath: String) throws(SandboxError) -> Int32 {
        try CommandRunner.spawn(["ip", "netns", "exec", netns] + argv, logPath: logPath)
    }

    /// Waits until `address:port` accepts a TCP connection from inside `netns`.
    /// - Throws: `SandboxError.serverNotReady` with the log's last lines when `pid` exits or the
    ///   deadline passes.
    static func waitUntilAccepting(
        _ server: SandboxState.ServerProcess, netns: String, address: String,
        deadlineNs: UInt64
    ) throws(SandboxError) {
        let probe = ["ip", "netns", "exec", netns, "bash", "-c", "exec 3<>/dev/tcp/\(address)/\(server.port)"]
        while true {
            if !ProcessControl.isRunning(server.pid) {
                throw notReady(server, reason: "exited before accepting connections")
            }
            if (try? CommandRunner.run(probe)) != nil { return }
            if SystemClock.monotonicNs() >= deadlineNs {
                throw notReady(
                    server,
                    reason: "did not accept connections on \(address) within "
                        + "\(Int(readyTimeout)) s")
            }
            Thread.sleep(forTimeInterval: probeInterval)
        }
    }

    private static func notReady(_ server: SandboxState.ServerProcess, reason: String) -> SandboxError {
        let log = (try? String(contentsOfFile: server.logPath, encoding: .utf8)) ?? ""
        let tail = log.split(separator: "\n", omittingEmptySubsequences: false).suffix(logTailLines)
            .joined(separator: "\n")
        return SandboxError.serverNotReady(
            owner: server.owner, kind: server.kind, port: server.port,
            reason: reason, logTail: tail)
    }
}
