import XCTest

@testable import Sandbox

final class ServerLauncherTests: XCTestCase {
    private let launcher = ServerLauncher(
        venv: "/repo/.venv", repoRoot: "/repo", gunicornExtra: ["--no-control-socket"])

    func testHttpbinCommand() {
        let (argv, marker) = launcher.command(kind: .httpbin, listen: ["0.0.0.0:80"], owner: "backend/backend")
        XCTAssertEqual(
            argv,
            [
                "/repo/.venv/bin/gunicorn", "-b", "0.0.0.0:80", "-w", "2", "--threads", "4",
                "--access-logfile", "-", "--no-control-socket", "httpbin:app",
            ])
        XCTAssertEqual(marker, "/repo/.venv/bin/gunicorn")
    }

    func testHTTPSCommandLoadsTheCertificate() {
        let tls = ServerLauncher.TLSFiles(certificate: "/t/b/tls.crt", key: "/t/b/tls.key")
        let (argv, marker) = launcher.command(kind: .https, listen: ["0.0.0.0:443"], owner: "b/b", tls: tls)
        XCTAssertEqual(
            argv,
            [
                "/repo/.venv/bin/gunicorn", "-b", "0.0.0.0:443", "-w", "2", "--threads", "4",
                "--access-logfile", "-", "--certfile", "/t/b/tls.crt", "--keyfile", "/t/b/tls.key",
                "--no-control-socket", "httpbin:app",
            ])
        XCTAssertEqual(marker, "/repo/.venv/bin/gunicorn")
        let (plain, _) = launcher.command(kind: .httpbin, listen: ["0.0.0.0:80"], owner: "b/b", tls: tls)
        XCTAssertFalse(plain.contains("--certfile"), "plain httpbin ignores a certificate")
    }

    func testTLSScriptCommandsPassTheCertificate() {
        let tls = ServerLauncher.TLSFiles(certificate: "/t/c.crt", key: "/t/c.key")
        let (h2, h2Marker) = launcher.command(kind: .h2TLS, listen: ["0.0.0.0:8443"], owner: "b/b", tls: tls)
        XCTAssertEqual(
            h2,
            [
                launcher.python, "-u", "/repo/integration/servers/h2c_server.py", "--name", "b/b", "--listen",
                "0.0.0.0:8443", "--cert", "/t/c.crt", "--key", "/t/c.key",
            ])
        XCTAssertEqual(h2Marker, "/repo/integration/servers/h2c_server.py")
        let (grpc, _) = launcher.command(kind: .grpcTLS, listen: ["0.0.0.0:50051"], owner: "b/b", tls: tls)
        XCTAssertEqual(grpc[2], "/repo/integration/servers/grpc_server.py")
        XCTAssertEqual(Array(grpc.suffix(4)), ["--cert", "/t/c.crt", "--key", "/t/c.key"])
        let (h2c, _) = launcher.command(kind: .h2c, listen: ["0.0.0.0:80"], owner: "b/b", tls: tls)
        XCTAssertFalse(h2c.contains("--cert"), "cleartext kinds ignore a certificate")
    }

    func testScriptCommands() {
        let (staticArgv, staticMarker) = launcher.command(
            kind: .httpStatic, listen: ["192.0.2.1:80", "192.0.2.2:80"],
            owner: "world/api.example.com")
        XCTAssertEqual(
            staticArgv,
            [
                launcher.python, "-u", "/repo/integration/servers/static_http.py", "--name",
                "world/api.example.com", "--listen", "192.0.2.1:80", "--listen", "192.0.2.2:80",
            ])
        XCTAssertEqual(staticMarker, "/repo/integration/servers/static_http.py")
        let (tcpArgv, _) = launcher.command(kind: .tcp, listen: ["0.0.0.0:6379"], owner: "database/db")
        XCTAssertEqual(tcpArgv[2], "/repo/integration/servers/tcp_echo.py")
    }

    func testProcessControlLeavesForeignPIDsAlone() {
        // Our own PID never has this marker in its command line, so stop() must not signal it.
        ProcessControl.stop([(pid: getpid(), marker: "no-such-marker-\(UInt64.random(in: 1...UInt64.max))")])
        XCTAssertTrue(ProcessControl.isRunning(getpid()))
        XCTAssertFalse(ProcessControl.isRunning(0))
    }

    func testSpawnedProcessIsStopped() throws {
        let log = NSTemporaryDirectory() + "sandbox-spawn-\(getpid()).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let pid = try CommandRunner.spawn(["sleep", "30"], logPath: log)
        XCTAssertTrue(ProcessControl.isRunning(pid))
        XCTAssertEqual(getpgid(pid), pid, "spawned in its own session")
        // The child may not have exec'd `sleep` yet; stop() matches the command line.
        for _ in 0..<200 where !ProcessControl.commandLine(of: pid, contains: "sleep") { usleep(10_000) }
        ProcessControl.stop([(pid: pid, marker: "sleep")])
        XCTAssertFalse(ProcessControl.isRunning(pid))
    }
}
