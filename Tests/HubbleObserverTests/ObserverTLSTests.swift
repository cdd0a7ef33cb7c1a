import Foundation
import HubbleProto
import SluiceModel
import XCTest

@testable import HubbleObserver

/// The Observer API over TLS on 127.0.0.1, called by real clients: the grpcio client of scenario
/// 85 (stubs generated from proto/ by grpcio-tools, `grpc.secure_channel`), and `openssl
/// s_client` for what grpcio cannot be made to do (offer no h2). Certificates are made by the
/// `openssl` CLI in a fresh directory: a CA, the server's (DNS observer.test, IP 127.0.0.1) and a
/// client's.
final class ObserverTLSTests: XCTestCase {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let python: String = {
        let venv = root + "/.venv/bin/python"
        return FileManager.default.fileExists(atPath: venv) ? venv : "/usr/bin/python3"
    }()
    static let client = root + "/integration/scenarios/85_observer_grpc_client.py"

    var dir = ""

    override func setUpWithError() throws {
        // As sluice-observer does: a write to a closed socket (SSL_write has no MSG_NOSIGNAL) or
        // to a client's stdin that exited is an error, not a signal.
        signal(SIGPIPE, SIG_IGN)
        dir = NSTemporaryDirectory() + "sluice-observer-tls-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try openssl(
            ["req", "-x509"] + ec + [
                "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=sluice-test-ca", "-addext",
                "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
        for (name, cn, ext) in [
            ("server", "observer.test", "subjectAltName=DNS:observer.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"),
            ("client", "relay.test", "extendedKeyUsage=clientAuth\n"),
        ] {
            try ("basicConstraints=CA:FALSE\n" + ext).write(
                toFile: dir + "/\(name).ext", atomically: true, encoding: .utf8)
            try openssl(["req"] + ec + ["-keyout", "\(name).key", "-out", "\(name).csr", "-subj", "/CN=\(cn)"])
            try openssl([
                "x509", "-req", "-in", "\(name).csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out",
                "\(name).crt", "-days", "2", "-extfile", "\(name).ext",
            ])
        }
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    private func openssl(_ arguments: [String]) throws {
        let result = try run("/usr/bin/openssl", arguments)
        guard result.status == 0 else { throw TLSTestError("openssl \(arguments): \(result.output)") }
    }

    /// Runs `path` in `dir` with `input` on stdin; output and error together. Killed after 60 s.
    private func run(_ path: String, _ arguments: [String], input: Data = Data()) throws -> (
        status: Int32, output: String
    ) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        let out = Pipe()
        let inPipe = Pipe()
        process.standardOutput = out
        process.standardError = out
        process.standardInput = inPipe
        try process.run()
        inPipe.fileHandleForWriting.write(input)
        try inPipe.fileHandleForWriting.close()
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: watchdog)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Scenario 85's client: `command` against 127.0.0.1:`port`, with the TLS options given.
    private func grpc(_ port: UInt16, _ command: String, _ tls: [String]) throws -> String {
        let arguments = [Self.client, "127.0.0.1:\(port)", command] + tls
        // The answer is the last line (grpc's own log lines come before it).
        let output = try run(Self.python, arguments).output.trimmingCharacters(in: .whitespacesAndNewlines)
        return output.split(separator: "\n").last.map(String.init) ?? ""
    }

    private func file(_ name: String) -> String { dir + "/" + name }

    func testTLSClientGetsStatusAndHealthAndPlaintextClientFails() throws {
        let server = try TestServer(maxFlows: 7, tls: (file("server.crt"), file("server.key"), nil))
        defer { server.stop() }
        server.ingest([TestServer.flow(1), TestServer.flow(2)])
        XCTAssertNotNil(server.service.tls)

        let status = try grpc(server.port, "status", ["--tls-ca", file("ca.crt")])
        let json = try JSONSerialization.jsonObject(with: Data(status.utf8)) as? [String: Any]
        XCTAssertEqual(json?["max_flows"] as? String, "7", status)
        XCTAssertEqual(json?["num_flows"] as? String, "2", status)
        XCTAssertEqual(try grpc(server.port, "health", ["--tls-ca", file("ca.crt")]), "SERVING")
        let flows = try run(
            Self.python,
            [Self.client, "127.0.0.1:\(server.port)", "flows", "--number", "2", "--tls-ca", file("ca.crt")]
        ).output.split(separator: "\n").filter { $0.contains("\"uuid-") }
        XCTAssertEqual(flows.count, 2, "GetFlows over TLS: \(flows)")
        // Peer/Notify tells Relay to dial this node over TLS, with Cilium's server name.
        let client = try ObserverClient(
            host: IPv4Address(127, 0, 0, 1), port: server.port, tls: ObserverClient.TLSOptions(caFile: file("ca.crt")))
        var peer: [UInt8] = []
        try client.call(path: "/peer.Peer/Notify", request: []) {
            peer = Array($0)
            return false
        }
        XCTAssertEqual(
            peer,
            ChangeNotification.peerAdded(
                name: "node-a", address: "127.0.0.1:\(server.port)",
                tlsServerName: "node-a.default.hubble-grpc.cilium.io"))
        // The certificate's DNS name, as a client given a host name checks it.
        XCTAssertEqual(
            try grpc(server.port, "health", ["--tls-ca", file("ca.crt"), "--tls-server-name", "observer.test"]),
            "SERVING")

        // A plaintext client on the TLS port, and a TLS client that does not trust the CA.
        XCTAssertTrue(try grpc(server.port, "health", []).hasPrefix("ERROR UNAVAILABLE"))
        XCTAssertTrue(try grpc(server.port, "health", ["--tls-ca", file("client.crt")]).hasPrefix("ERROR UNAVAILABLE"))
        // The server still serves.
        XCTAssertEqual(try grpc(server.port, "health", ["--tls-ca", file("ca.crt")]), "SERVING")
    }

    func testClientCAFileRequiresAClientCertificateItSigned() throws {
        let server = try TestServer(tls: (file("server.crt"), file("server.key"), file("ca.crt")))
        defer { server.stop() }
        let withCertificate = [
            "--tls-ca", file("ca.crt"), "--tls-cert", file("client.crt"), "--tls-key", file("client.key"),
        ]
        XCTAssertEqual(try grpc(server.port, "health", withCertificate), "SERVING")
        let anonymous = try grpc(server.port, "health", ["--tls-ca", file("ca.crt")])
        XCTAssertTrue(anonymous.hasPrefix("ERROR UNAVAILABLE"), anonymous)
        // A certificate the CA did not sign: a self-signed one.
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
            "self.key", "-out", "self.crt", "-days", "2", "-subj", "/CN=stranger",
        ])
        let stranger = try grpc(
            server.port, "health",
            ["--tls-ca", file("ca.crt"), "--tls-cert", file("self.crt"), "--tls-key", file("self.key")])
        XCTAssertTrue(stranger.hasPrefix("ERROR UNAVAILABLE"), stranger)
        XCTAssertEqual(try grpc(server.port, "health", withCertificate), "SERVING")
    }

    /// ALPN: h2 or nothing, as grpc-go. `s_client -quiet` prints the server's bytes: with h2 the
    /// server's SETTINGS (then GOAWAY and close when idle), otherwise none.
    func testALPNMustSelectH2() throws {
        let server = try TestServer(idleTimeoutNs: 500_000_000, tls: (file("server.crt"), file("server.key"), nil))
        defer { server.stop() }
        var preface = Data("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
        preface.append(contentsOf: [0, 0, 0, 4, 0, 0, 0, 0, 0])
        func sClient(_ alpn: [String]) throws -> (status: Int32, output: String) {
            try run(
                "/usr/bin/openssl",
                ["s_client", "-quiet", "-connect", "127.0.0.1:\(server.port)", "-CAfile", file("ca.crt")] + alpn,
                input: preface)
        }
        let h2 = try sClient(["-alpn", "h2"])
        XCTAssertTrue(h2.output.utf8.contains(4), "a SETTINGS frame: \(h2.output.debugDescription)")
        let http1 = try sClient(["-alpn", "http/1.1"])
        XCTAssertNotEqual(http1.status, 0)
        XCTAssertTrue(http1.output.contains("no application protocol"), http1.output)
        let none = try sClient([])
        XCTAssertFalse(none.output.utf8.contains(4), "no HTTP/2 without ALPN: \(none.output.debugDescription)")
        XCTAssertEqual(server.sync { server.service.connectionCount }, 0)
    }

    /// `sluice observe --server`'s client over TLS: verifies the server by the CA and the address
    /// (or `serverName`), presents its certificate when the server asks for one.
    func testObserverClientOverTLS() throws {
        let server = try TestServer(tls: (file("server.crt"), file("server.key"), file("ca.crt")))
        defer { server.stop() }
        server.ingest([TestServer.flow(1), TestServer.flow(2)])
        let mutual = ObserverClient.TLSOptions(
            caFile: file("ca.crt"), certificateFile: file("client.crt"), keyFile: file("client.key"))
        let client = try ObserverClient(host: IPv4Address(127, 0, 0, 1), port: server.port, tls: mutual)
        XCTAssertEqual(try client.unary(path: "/grpc.health.v1.Health/Check"), [0x08, 0x01], "SERVING")
        var named = mutual
        named.serverName = "observer.test"
        var count = 0
        try ObserverClient(host: IPv4Address(127, 0, 0, 1), port: server.port, tls: named).flows(GetFlowsRequest()) {
            if case .flow = $0 { count += 1 }
            return true
        }
        XCTAssertEqual(count, 2)
        // The same through `sluice observe --server --tls ...`, the binary as built.
        var sluice = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while sluice.pathExtension == "xctest" || sluice.lastPathComponent == "sluicePackageTests" {
            sluice.deleteLastPathComponent()
        }
        if !FileManager.default.fileExists(atPath: sluice.appendingPathComponent("sluice").path) {
            sluice.deleteLastPathComponent()
        }
        let observe = try run(
            sluice.appendingPathComponent("sluice").path,
            [
                "observe", "--server", "127.0.0.1:\(server.port)", "--tls", "--tls-ca-cert-files", file("ca.crt"),
                "--tls-client-cert-file", file("client.crt"), "--tls-client-key-file", file("client.key"),
                "--tls-server-name", "observer.test", "--last", "5", "-o", "json",
            ])
        XCTAssertEqual(observe.status, 0, observe.output)
        XCTAssertEqual(observe.output.split(separator: "\n").filter { $0.contains("\"uuid-") }.count, 2, observe.output)
        var wrongName = mutual
        wrongName.serverName = "other.test"
        XCTAssertThrowsError(try ObserverClient(host: IPv4Address(127, 0, 0, 1), port: server.port, tls: wrongName)) {
            XCTAssertTrue("\($0)".contains("server certificate"), "\($0)")
        }
        // Without a client certificate the server refuses (TLS 1.3: on the first read).
        XCTAssertThrowsError(
            try ObserverClient(
                host: IPv4Address(127, 0, 0, 1), port: server.port, tls: .init(caFile: file("ca.crt"))
            ).unary(path: "/grpc.health.v1.Health/Check"))
    }

    /// Many responses in one call: megabytes through SSL_write's partial writes and the socket's
    /// back-pressure, every flow arriving once and in order.
    func testManyFlowsOverTLS() throws {
        let server = try TestServer(tls: (file("server.crt"), file("server.key"), nil))
        defer { server.stop() }
        server.ingest((1...4000).map { TestServer.flow(Int64($0)) })
        let output = try run(
            Self.python,
            [
                Self.client, "127.0.0.1:\(server.port)", "flows", "--number", "4000", "--first", "--tls-ca",
                file("ca.crt"),
            ]
        ).output
        let uuids = output.split(separator: "\n").compactMap { line -> Int? in
            guard let range = line.range(of: "\"uuid-") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
        XCTAssertEqual(uuids, Array(1...4000), String(output.suffix(500)))
    }

    /// A client that connects and says nothing (or too little for a handshake) is closed at the
    /// handshake deadline, though the idle timeout is far away.
    func testSilentClientIsClosedAtTheHandshakeDeadline() throws {
        let server = try TestServer(
            handshakeTimeoutNs: 300_000_000, tls: (file("server.crt"), file("server.key"), nil))
        defer { server.stop() }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = server.port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        XCTAssertEqual(connected, 0)
        XCTAssertEqual(write(fd, [0x16, 0x03, 0x01], 3), 3, "the start of a record, never finished")
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let started = Date()
        var byte: UInt8 = 0
        XCTAssertEqual(read(fd, &byte, 1), 0, "EOF from the server")
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        XCTAssertEqual(server.sync { server.service.connectionCount }, 0)
    }

    func testBadFilesAreNamed() throws {
        try "not a certificate\n".write(toFile: file("junk.pem"), atomically: true, encoding: .utf8)
        let cases: [(String, String, String?, String)] = [
            (
                file("missing.crt"), file("server.key"), nil,
                "--tls-cert-file \(file("missing.crt")): cannot read: No such file or directory"
            ),
            (file("junk.pem"), file("server.key"), nil, "--tls-cert-file \(file("junk.pem")): not a PEM certificate"),
            (
                file("server.crt"), file("junk.pem"), nil,
                "--tls-key-file \(file("junk.pem")): not the PEM private key of \(file("server.crt")): "
            ),
            (
                file("server.crt"), file("client.key"), nil,
                "--tls-key-file \(file("client.key")): not the PEM private key of \(file("server.crt")): "
                    + "error:05800074:x509 certificate routines::key values mismatch"
            ),
            (
                file("server.crt"), file("server.key"), file("junk.pem"),
                "--tls-client-ca-file \(file("junk.pem")): no PEM CA certificate"
            ),
        ]
        for (certificate, key, ca, expected) in cases {
            XCTAssertThrowsError(try ObserverTLS(certificateFile: certificate, keyFile: key, clientCAFile: ca)) {
                let message = ($0 as? ObserverTLSError)?.message ?? "\($0)"
                XCTAssertTrue(message.hasPrefix(expected), "\(message) does not start with \(expected)")
            }
        }
        // The service fails to start with the same error.
        XCTAssertThrowsError(try TestServer(tls: (file("junk.pem"), file("server.key"), nil))) {
            XCTAssertTrue("\($0)".contains(file("junk.pem")), "\($0)")
        }
    }

    func testRenewedCertificateIsServedWithoutRestart() throws {
        let tls = try ObserverTLS(
            certificateFile: file("server.crt"), keyFile: file("server.key"), clientCAFile: nil, recheckNs: 0)
        let first = tls.currentContext(now: 1)
        XCTAssertEqual(tls.currentContext(now: 2), first, "unchanged files: the same context")
        // A half-written file keeps the last good context.
        try "junk\n".write(toFile: file("server.crt"), atomically: true, encoding: .utf8)
        XCTAssertEqual(tls.currentContext(now: 3), first)
        // The client's pair is a valid pair: the context is rebuilt.
        try FileManager.default.removeItem(atPath: file("server.crt"))
        try FileManager.default.removeItem(atPath: file("server.key"))
        try FileManager.default.copyItem(atPath: file("client.crt"), toPath: file("server.crt"))
        try FileManager.default.copyItem(atPath: file("client.key"), toPath: file("server.key"))
        XCTAssertNotEqual(tls.currentContext(now: 4), first)
    }
}

struct TLSTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
