import COpenSSL
import Glibc
import SluiceIO
import XCTest

@testable import Proxy

/// `TLSPeer` with real OpenSSL on both ends of a non-blocking socketpair: the handshake runs
/// step by step as the readiness flags allow, plaintext crosses both ways, a certificate for
/// another name fails with the certificate errno, and a plain peer is the socket itself.
final class TLSPeerTests: XCTestCase {
    private var pki: TLSTestPKI!
    private var fds: [Int32] = [-1, -1]

    override func setUpWithError() throws {
        pki = try TLSTestPKI()
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    }

    override func tearDown() {
        for fd in fds where fd >= 0 { Glibc.close(fd) }
        super.tearDown()
    }

    /// A server peer with the test certificate and a client peer expecting `name`.
    private func pair(name: String) -> (server: TLSPeer, client: TLSPeer) {
        let serverContext = pki.serverContext(cert: pki.serverCert, key: pki.serverKey)
        let serverSSL = SSL_new(serverContext)!
        SSL_set_fd(serverSSL, fds[0])
        SSL_set_accept_state(serverSSL)
        SSL_CTX_free(serverContext)
        let clientContext = pki.clientContext()
        let clientSSL = SSL_new(clientContext)!
        SSL_set_fd(clientSSL, fds[1])
        SSL_set_connect_state(clientSSL)
        _ = sluice_SSL_set_tlsext_host_name(clientSSL, name)
        SSL_set1_host(clientSSL, name)
        SSL_CTX_free(clientContext)
        return (
            TLSPeer(fd: fds[0], side: .downstream, ssl: serverSSL, readable: true, writable: true),
            TLSPeer(fd: fds[1], side: .upstream, ssl: clientSSL, readable: true, writable: true)
        )
    }

    /// Runs both handshakes, giving each side the readiness edges a loop would, until both end.
    private func handshake(_ server: inout TLSPeer, _ client: inout TLSPeer) -> (IOStep, IOStep) {
        var s: IOStep = .blocked
        var c: IOStep = .blocked
        for _ in 0..<20 {
            if case .blocked = c { c = client.handshake() }
            if case .blocked = s { s = server.handshake() }
            if case .blocked = s {} else if case .blocked = c {} else { break }
            // Both sockets are always writable here; bytes may have arrived: the loop's edges.
            server.readable = true
            server.writable = true
            client.readable = true
            client.writable = true
        }
        return (s, c)
    }

    func testHandshakeAndPlaintextBothWays() {
        var (server, client) = pair(name: "backend.test")
        let (s, c) = handshake(&server, &client)
        XCTAssertEqual(s, .progress(0))
        XCTAssertEqual(c, .progress(0))
        let buffer = IOBuffer(capacity: 64, limit: 64)
        XCTAssertEqual(server.read(into: buffer), .blocked, "nothing sent yet")
        XCTAssertFalse(server.readable, "WANT_READ clears readable")
        let request = Array("GET / HTTP/1.1\r\n\r\n".utf8)
        XCTAssertEqual(request.withUnsafeBytes { client.write($0) }, .progress(request.count))
        server.readable = true
        XCTAssertEqual(server.read(into: buffer), .progress(request.count))
        XCTAssertEqual(Array(buffer.readable), request)
        let a = Array("HTTP/1.1 ".utf8), b = Array("200 OK\r\n".utf8)
        let written = a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in server.write(pa, pb, UnsafeRawBufferPointer(start: nil, count: 0)) }
        }
        XCTAssertEqual(written, .progress(a.count + b.count), "gathered pieces go one after the other")
        let answer = IOBuffer(capacity: 64, limit: 64)
        client.readable = true
        while case .progress = client.read(into: answer) {}
        XCTAssertEqual(String(decoding: answer.readable, as: UTF8.self), "HTTP/1.1 200 OK\r\n")
        server.shutdown(reset: false)
        client.readable = true
        XCTAssertEqual(client.read(into: answer), .closed(PeerClose(side: .upstream, errno: 0)), "close_notify is EOF")
        client.shutdown(reset: true)
    }

    func testCertificateForAnotherNameFailsWithTheCertificateErrno() {
        var (server, client) = pair(name: "other.test")
        let (_, c) = handshake(&server, &client)
        XCTAssertEqual(c, .closed(PeerClose(side: .upstream, errno: TLSFailure.certificateErrno)))
        XCTAssertEqual(client.failure, .certificate(Int(X509_V_ERR_HOSTNAME_MISMATCH)))
        XCTAssertTrue(client.failure?.text.contains("hostname mismatch") ?? false, client.failure?.text ?? "")
        server.shutdown(reset: true)
        client.shutdown(reset: true)
    }

    func testPlainPeerIsTheSocket() {
        var plain = TLSPeer(fd: fds[0], side: .downstream, ssl: nil, readable: true, writable: true)
        XCTAssertEqual(plain.handshake(), .progress(0))
        let bytes = Array("ping".utf8)
        XCTAssertEqual(bytes.withUnsafeBytes { plain.write($0) }, .progress(4))
        var got = [UInt8](repeating: 0, count: 8)
        XCTAssertEqual(Glibc.read(fds[1], &got, 8), 4)
        let buffer = IOBuffer(capacity: 8, limit: 8)
        XCTAssertEqual(plain.read(into: buffer), .blocked)
        XCTAssertFalse(plain.readable)
    }

    /// Without TLS the peer keeps `SocketPeer`'s readiness rule: a read that fills the buffer
    /// leaves it readable, a short one clears it; a write that the socket takes only in part
    /// clears writable; the three-piece write sends the pieces in order; the other end's close
    /// is this side's EOF.
    func testPlainPeerKeepsTheSocketsReadinessRule() {
        var plain = TLSPeer(fd: fds[0], side: .downstream, ssl: nil, readable: true, writable: true)
        let pieces = (Array("ab".utf8), Array("cd".utf8), Array("ef".utf8))
        let sent = pieces.0.withUnsafeBytes { a in
            pieces.1.withUnsafeBytes { b in pieces.2.withUnsafeBytes { c in plain.write(a, b, c) } }
        }
        XCTAssertEqual(sent, .progress(6))
        XCTAssertTrue(plain.writable)
        var got = [UInt8](repeating: 0, count: 8)
        XCTAssertEqual(Glibc.read(fds[1], &got, 8), 6)
        XCTAssertEqual(Array(got[0..<6]), Array("abcdef".utf8))

        XCTAssertEqual(Glibc.write(fds[1], "123456", 6), 6)
        let full = IOBuffer(capacity: 4, limit: 4)
        XCTAssertEqual(plain.read(into: full), .progress(4))
        XCTAssertTrue(plain.readable, "a full buffer says nothing about the socket")
        let rest = IOBuffer(capacity: 8, limit: 8)
        XCTAssertEqual(plain.read(into: rest), .progress(2))
        XCTAssertFalse(plain.readable, "a short read drained the socket")

        let chunk = [UInt8](repeating: 0x61, count: 65536)
        var writes = 0
        while plain.writable && writes < 1024 {
            guard case .progress = chunk.withUnsafeBytes({ plain.write($0) }) else { break }
            writes += 1
        }
        XCTAssertFalse(plain.writable, "the socket's buffer filled up")
        XCTAssertGreaterThan(writes, 0)

        // Drained first: a Unix socket closed with unread bytes is ECONNRESET to its peer.
        var sink = [UInt8](repeating: 0, count: 65536)
        while Glibc.read(fds[1], &sink, sink.count) > 0 {}
        Glibc.close(fds[1])
        fds[1] = -1
        plain.readable = true
        XCTAssertEqual(
            plain.read(into: IOBuffer(capacity: 8, limit: 8)), .closed(PeerClose(side: .downstream, errno: 0)))
    }

    func testNonTLSBytesFailTheServerHandshakeWithEPROTO() {
        var (server, client) = pair(name: "backend.test")
        let junk = Array("GET / HTTP/1.1\r\n\r\n".utf8)
        XCTAssertEqual(Glibc.write(fds[1], junk, junk.count), junk.count)
        XCTAssertEqual(server.handshake(), .closed(PeerClose(side: .downstream, errno: EPROTO)))
        server.shutdown(reset: true)
        client.shutdown(reset: true)
    }
}
