import COpenSSL
import Flows
import Foundation
import Glibc
import HTTP2
import Policy
import SluiceModel
import SluiceTestSupport
import XCTest

@testable import Proxy

/// Interception end to end on a real worker loop with real OpenSSL on both sides: the test
/// client speaks TLS to the proxy (trusting the test CA), the proxy terminates it with the
/// `default/web` secret, decides each request with the HTTP rules and speaks TLS again to a
/// TLS upstream (`originatingTLS` `default/ca`).
final class TLSAcceptorTests: XCTestCase {
    private var pki: TLSTestPKI!
    private var upstream: UpstreamServer!
    private var proxy: ProxyHarness!
    private var clientContext: OpaquePointer!

    override func setUp() {
        super.setUp()
        // The test's upstream threads write with plain write(2): a peer gone is EPIPE, not a kill.
        signal(SIGPIPE, SIG_IGN)
    }

    override func tearDown() {
        proxy?.stop()
        upstream?.stop()
        if let clientContext { SSL_CTX_free(clientContext) }
        super.tearDown()
    }

    /// `plainUpstream`: the upstream speaks plain TCP with this script (a port with
    /// `terminatingTLS` only); else TLS with `tlsUpstreamScript`.
    private func start(
        upstreamCert: Bool = true, upstreamALPN: Bool = true, serverNames: [String] = [], originating: Bool = true,
        policy: ((UInt16) -> String)? = nil, plainUpstream: ((TestSocket) -> Void)? = nil,
        resumed: @escaping (Bool) -> Void = { _ in }
    ) throws {
        pki = try TLSTestPKI()
        let serverContext =
            upstreamCert
            ? pki.serverContext(cert: pki.serverCert, key: pki.serverKey, alpn: upstreamALPN)
            : pki.serverContext(cert: pki.untrustedCert, key: pki.untrustedKey)
        upstream = try XCTUnwrap(
            UpstreamServer(script: plainUpstream ?? tlsUpstreamScript(serverContext, resumed: resumed)))
        let snapshot = try TestPolicy.snapshot(
            policy?(upstream.port)
                ?? TLSTestPKI.policy(port: upstream.port, serverNames: serverNames, originating: originating))
        var config = ProxyConfig(workers: 1)
        config.tlsSecretsDirectory = pki.secrets
        proxy = try ProxyHarness(snapshot: snapshot, steer: TLSTestPKI.egressSteer(snapshot), config: config)
        clientContext = pki.clientContext()
    }

    private func connect(serverName: String? = "backend.test", alpn: String = "http/1.1") throws -> BlockingTLS? {
        let socket = try proxy.connect(upstreamPort: upstream.port)
        return BlockingTLS(fd: socket.fd, ctx: clientContext, serverName: serverName, alpn: alpn)
            .map { tls in
                sockets.append(socket); return tls
            }
    }
    private var sockets: [TestSocket] = []

    func testAllowedPathIsForwardedOverTLSAndDeniedPathGets403() throws {
        try start()
        let tls = try XCTUnwrap(try connect(), "the client trusts the proxy's certificate for backend.test")
        XCTAssertEqual(tls.alpn, "http/1.1")
        tls.send("GET /allowed HTTP/1.1\r\nHost: backend.test\r\n\r\n")
        let allowed = tls.read(through: "\r\n\r\n", extra: 2)
        XCTAssertTrue(allowed.hasPrefix("HTTP/1.1 200 OK"), allowed)
        XCTAssertTrue(allowed.hasSuffix("ok"), allowed)
        tls.send("GET /denied HTTP/1.1\r\nHost: backend.test\r\n\r\n")
        let denied = tls.read(through: "Access denied")
        XCTAssertTrue(denied.hasPrefix("HTTP/1.1 403 Forbidden"), denied)
        let flows = proxy.sink.waitForFlows(4)
        let requests = flows.filter { $0.l7?.type == .request }
        XCTAssertEqual(requests.map { $0.http?.url }, ["https://backend.test/allowed", "https://backend.test/denied"])
        XCTAssertEqual(requests.map(\.verdict), [.forwarded, .dropped])
    }

    func testH2IsNegotiatedByALPN() throws {
        try start()
        let tls = try XCTUnwrap(try connect(alpn: "h2"))
        XCTAssertEqual(tls.alpn, "h2")
        // The HTTP/2 handler answers the preface with its SETTINGS.
        tls.send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        var tlsSettings: [UInt8] = [0, 0, 0, 4, 0, 0, 0, 0, 0]
        _ = SSL_write(tls.ssl, &tlsSettings, Int32(tlsSettings.count))
        var header = [UInt8](repeating: 0, count: 9)
        XCTAssertEqual(SSL_read(tls.ssl, &header, 9), 9)
        XCTAssertEqual(header[3], 4, "a SETTINGS frame")
    }

    func testAStalledHandshakeHoldsUpNoOtherConnection() throws {
        try start()
        let stalled = try proxy.connect(upstreamPort: upstream.port)
        sockets.append(stalled)
        // The client's TLS runs over memory BIOs: its ClientHello is written to the socket by
        // hand and the proxy's answer is never read, so the handshake stays stalled however fast
        // the proxy answers (over the socket itself a quick answer let SSL_connect finish).
        let ssl = try XCTUnwrap(SSL_new(clientContext))
        defer { SSL_free(ssl) }
        let toProxy = try XCTUnwrap(BIO_new(BIO_s_mem()))
        let fromProxy = try XCTUnwrap(BIO_new(BIO_s_mem()))
        SSL_set_bio(ssl, fromProxy, toProxy)
        _ = sluice_SSL_set_tlsext_host_name(ssl, "backend.test")
        XCTAssertEqual(SSL_get_error(ssl, SSL_connect(ssl)), SSL_ERROR_WANT_READ, "the ClientHello is made")
        ERR_clear_error()
        var hello = [UInt8](repeating: 0, count: 16 * 1024)
        let length = BIO_read(toProxy, &hello, Int32(hello.count))
        XCTAssertGreaterThan(length, 5, "a ClientHello record")
        XCTAssertEqual(hello[0], 0x16, "a handshake record")
        XCTAssertEqual(write(stalled.fd, hello, Int(length)), Int(length), "the ClientHello is out, then nothing")
        // One worker: its loop serves a second client while the first handshake waits.
        let tls = try XCTUnwrap(try connect())
        tls.send("GET /allowed HTTP/1.1\r\nHost: backend.test\r\n\r\n")
        XCTAssertTrue(tls.read(through: "\r\n\r\n", extra: 2).hasPrefix("HTTP/1.1 200"))
    }

    func testUntrustedUpstreamCertificateGets503AndAFlowSayingWhy() throws {
        try start(upstreamCert: false)
        let tls = try XCTUnwrap(try connect())
        tls.send("GET /allowed HTTP/1.1\r\nHost: backend.test\r\n\r\n")
        let answer = tls.read(through: "\r\n\r\n")
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 503"), answer)
        let flows = proxy.sink.waitForFlows(2)
        let response = try XCTUnwrap(flows.first { $0.l7?.type == .response })
        XCTAssertEqual(response.http?.code, 503)
        XCTAssertTrue(
            response.summary.contains("upstream EKEYREJECTED (TLS certificate not verified)"),
            response.summary)
    }

    func testDeniedServerNameIsResetWithADroppedFlow() throws {
        try start(serverNames: ["api.backend.test"])
        XCTAssertNil(
            try connect(serverName: "other.backend.test").flatMap { tls -> BlockingTLS? in
                tls.send("GET /allowed HTTP/1.1\r\nHost: backend.test\r\n\r\n")
                return tls.read(through: "\r\n\r\n").isEmpty ? nil : tls
            }, "the connection is reset after the handshake")
        let flows = proxy.sink.waitForFlows(1)
        XCTAssertEqual(flows.first?.verdict, .dropped)
        XCTAssertEqual(flows.first?.http?.url, "https://other.backend.test")
    }

    func testUpstreamSessionIsResumed() throws {
        let resumptions = Heard<Bool>()
        try start(resumed: resumptions.append)
        for _ in 0..<2 {
            let tls = try XCTUnwrap(try connect())
            tls.send("GET /allowed HTTP/1.1\r\nHost: backend.test\r\nConnection: close\r\n\r\n")
            XCTAssertTrue(tls.read(through: "\r\n\r\n", extra: 2).hasPrefix("HTTP/1.1 200"))
            XCTAssertTrue(eventually { resumptions.count >= 1 })
        }
        XCTAssertTrue(eventually { resumptions.count == 2 })
        XCTAssertEqual(resumptions.values, [false, true], "the second upstream connection resumes the first's session")
    }

    // MARK: ALPN follows the upstream (an h2 client and an HTTP/1.1-only upstream)

    /// Two client connections offering `h2,http/1.1` to an upstream that speaks HTTP/1.1 only
    /// (the first learns it, the second uses what was learned): each negotiates http/1.1 and
    /// gets an allowed and a denied request answered; the request flows.
    private func h2OfferServedOverHTTP1Twice() throws -> [Flow] {
        for _ in 0..<2 {
            let tls = try XCTUnwrap(try connect(alpn: "h2,http/1.1"))
            XCTAssertEqual(tls.alpn, "http/1.1", "the upstream speaks no h2, so the client gets no h2")
            tls.send("GET /allowed HTTP/1.1\r\nHost: backend.test\r\n\r\n")
            let allowed = tls.read(through: "\r\n\r\n", extra: 2)
            XCTAssertTrue(allowed.hasPrefix("HTTP/1.1 200 OK"), allowed)
            tls.send("GET /denied HTTP/1.1\r\nHost: backend.test\r\n\r\n")
            XCTAssertTrue(tls.read(through: "Access denied").hasPrefix("HTTP/1.1 403 Forbidden"))
        }
        let requests = proxy.sink.waitForFlows(8).filter { $0.l7?.type == .request }
        XCTAssertEqual(requests.map(\.verdict), [.forwarded, .dropped, .forwarded, .dropped])
        XCTAssertEqual(requests.map { $0.http?.url }.first, "https://backend.test/allowed")
        return requests
    }

    /// A client offering only h2 (as nghttp) to an upstream that speaks HTTP/1.1 only: the
    /// handshake fails with the no_application_protocol alert and an ERROR flow (the `nth` one)
    /// says why.
    private func assertH2OnlyOfferIsRefused(_ nth: Int) throws {
        let socket = try proxy.connect(upstreamPort: upstream.port)
        sockets.append(socket)
        socket.setTimeout(seconds: 10)
        let ssl = try XCTUnwrap(SSL_new(clientContext))
        defer { SSL_free(ssl) }
        SSL_set_fd(ssl, socket.fd)
        _ = sluice_SSL_set_tlsext_host_name(ssl, "backend.test")
        var offer: [UInt8] = [2] + Array("h2".utf8)
        _ = SSL_set_alpn_protos(ssl, &offer, UInt32(offer.count))
        XCTAssertNotEqual(SSL_connect(ssl), 1, "no protocol in common: the handshake fails")
        let reason = ERR_GET_REASON(ERR_peek_last_error())
        ERR_clear_error()
        XCTAssertEqual(reason, SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL, "the proxy's alert")
        let errors = { self.proxy.sink.flows.filter { $0.verdict == .error } }
        XCTAssertTrue(eventually { errors().count >= nth }, "ERROR flow \(nth)")
        let flow = try XCTUnwrap(errors().last)
        XCTAssertEqual(flow.http?.url, "https://backend.test")
        XCTAssertEqual(
            flow.http?.connectionError?.text,
            "downstream ENOPROTOOPT (ALPN: the client offers only h2, the upstream speaks HTTP/1.1)")
    }

    func testH2OfferToAnHTTP1OnlyUpstreamNegotiatesHTTP1AndIsServed() throws {
        try start(upstreamALPN: false)
        let requests = try h2OfferServedOverHTTP1Twice()
        XCTAssertFalse(requests.contains { $0.http?.protocol == "HTTP/2" }, "HTTP/1.1 on both sides")
    }

    func testH2OnlyOfferToAnHTTP1OnlyUpstreamFailsTheHandshakeWithAFlowSayingWhy() throws {
        try start(upstreamALPN: false)
        try assertH2OnlyOfferIsRefused(1)  // the first learns what the upstream speaks
        try assertH2OnlyOfferIsRefused(2)  // the second uses what was learned
    }

    /// The upstream's port is closed before any client comes (the probe's connect is refused,
    /// nothing is learned): a client offering h2 and http/1.1 gets http/1.1 (the request's own
    /// attempt then says why), one offering only h2 gets h2 (its streams get the failure).
    private func assertUnreachableUpstreamALPN(originating: Bool) throws {
        try start(originating: originating)
        let port = upstream.port
        upstream.stop()
        upstream = nil
        func alpn(_ offer: String) throws -> String {
            let socket = try proxy.connect(upstreamPort: port)
            sockets.append(socket)
            return try XCTUnwrap(
                BlockingTLS(fd: socket.fd, ctx: clientContext, serverName: "backend.test", alpn: offer)
            )
            .alpn
        }
        XCTAssertEqual(try alpn("h2,http/1.1"), "http/1.1")
        XCTAssertEqual(try alpn("h2"), "h2", "an h2-only client is not refused for an upstream that did not answer")
    }

    func testAnUnreachableTLSUpstreamLeavesHTTP1ToClientsOfferingItAndH2ToTheOthers() throws {
        try assertUnreachableUpstreamALPN(originating: true)
    }

    func testAnUnreachablePlainUpstreamLeavesHTTP1ToClientsOfferingItAndH2ToTheOthers() throws {
        try assertUnreachableUpstreamALPN(originating: false)
    }

    func testH2OfferToAnH2UpstreamNegotiatesH2() throws {
        try start(upstreamALPN: true)
        let tls = try XCTUnwrap(try connect(alpn: "h2,http/1.1"))
        XCTAssertEqual(tls.alpn, "h2")
    }

    func testHTTP1OnlyOfferIsNotProbed() throws {
        let connections = Heard<Bool>()
        try start(upstreamALPN: false, resumed: connections.append)
        let tls = try XCTUnwrap(try connect(alpn: "http/1.1"))
        XCTAssertEqual(tls.alpn, "http/1.1")
        tls.send("GET /allowed HTTP/1.1\r\nHost: backend.test\r\n\r\n")
        XCTAssertTrue(tls.read(through: "\r\n\r\n", extra: 2).hasPrefix("HTTP/1.1 200"))
        XCTAssertEqual(connections.count, 1, "one upstream connection: the request's")
    }

    // MARK: ALPN follows a plain upstream (terminatingTLS only: h2 goes upstream as h2c)

    /// A plain HTTP/1.1-only upstream: the HTTP/2 preface gets a 400 and a close (as gunicorn
    /// answers it), every other request 200 `ok`; `probed` hears each preface.
    private static func http1Only(probed: @escaping () -> Void) -> (TestSocket) -> Void {
        { socket in
            while true {
                let request = socket.readMessage()
                if request.isEmpty { return }
                if request.starts(with: Array("PRI * HTTP/2.0".utf8)) {
                    probed()
                    socket.send("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    socket.shutdownWrite()
                    return
                }
                socket.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            }
        }
    }

    func testH2OfferOnATerminateOnlyPortToAnHTTP1OnlyUpstreamNegotiatesHTTP1AndIsServed() throws {
        let probes = Heard<Bool>()
        try start(originating: false, plainUpstream: Self.http1Only { probes.append(true) })
        _ = try h2OfferServedOverHTTP1Twice()
        XCTAssertEqual(probes.count, 1, "the second client connection uses the cached answer: no second probe")
    }

    func testH2OnlyOfferOnATerminateOnlyPortToAnHTTP1OnlyUpstreamFailsTheHandshakeWithAFlowSayingWhy() throws {
        let probes = Heard<Bool>()
        try start(originating: false, plainUpstream: Self.http1Only { probes.append(true) })
        try assertH2OnlyOfferIsRefused(1)
        try assertH2OnlyOfferIsRefused(2)
        XCTAssertEqual(probes.count, 1, "the second client connection uses the cached answer: no second probe")
    }

    func testH2OfferOnATerminateOnlyPortToAnH2CUpstreamNegotiatesH2WithPerStreamVerdicts() throws {
        try start(originating: false, plainUpstream: HTTP2Peer.upstreamScript)
        let socket = try proxy.connect(upstreamPort: upstream.port)
        sockets.append(socket)
        socket.setTimeout(seconds: 10)
        let tls = try XCTUnwrap(
            BlockingTLS(fd: socket.fd, ctx: clientContext, serverName: "backend.test", alpn: "h2,http/1.1"))
        XCTAssertEqual(tls.alpn, "h2", "the upstream answered the preface with SETTINGS")
        let session = try HTTP2Session(role: .client, clock: ManualClock(startNs: 0))
        func request(_ path: String) throws -> Int32 {
            try session.submitRequest(
                HTTP2HeaderBlock([
                    (":method", "GET"), (":scheme", "https"), (":authority", "backend.test"), (":path", path),
                ]), hasBody: false)
        }
        let allowed = try request("/allowed")
        let denied = try request("/denied")
        var statuses: [Int32: String] = [:]
        var closed: Set<Int32> = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while closed.count < 2 {
            while let chunk = try session.produce() {
                _ = SSL_write(tls.ssl, chunk.baseAddress, Int32(chunk.count))
            }
            let n = SSL_read(tls.ssl, &buffer, Int32(buffer.count))
            guard n > 0 else { break }
            try buffer[..<Int(n)].withUnsafeBytes { try session.receive($0) }
            for event in session.takeEvents() {
                switch event {
                case .headers(let id, let block, _, _):
                    if let status = block.text(of: ":status") { statuses[id] = status }
                case .data(let id, let bytes): session.consume(stream: id, bytes.count)
                case .closed(let id, _): closed.insert(id)
                default: break
                }
            }
        }
        XCTAssertEqual(statuses[allowed], "200", "allowed stream relayed to the h2c upstream")
        XCTAssertEqual(statuses[denied], "403", "denied stream answered by the proxy")
        let requests = proxy.sink.waitForFlows(4).filter { $0.l7?.type == .request }
        XCTAssertEqual(Set(requests.map { $0.http?.protocol }), ["HTTP/2"])
        XCTAssertEqual(Set(requests.map(\.verdict)), [.forwarded, .dropped])
    }

    func testHTTP1OfferOnATerminateOnlyPortIsNotProbed() throws {
        let probes = Heard<Bool>()
        try start(originating: false, plainUpstream: Self.http1Only { probes.append(true) })
        let tls = try XCTUnwrap(try connect(alpn: "http/1.1"))
        tls.send("GET /allowed HTTP/1.1\r\nHost: backend.test\r\n\r\n")
        XCTAssertTrue(tls.read(through: "\r\n\r\n", extra: 2).hasPrefix("HTTP/1.1 200"))
        XCTAssertEqual(upstream.connectionsSoFar(), 1, "one upstream connection: the request's")
        XCTAssertEqual(probes.count, 0)
    }

    // MARK: one certificate per SNI on a port

    /// Two intercepting rules on one port: `*.backend.test` with the `default/web` certificate
    /// and `other.test` with `default/other`, both trusting `default/ca` upstream.
    private static func twoNamesPolicy(port: UInt16) -> String {
        TLSTestPKI.policy(toPorts: [
            TLSTestPKI.portRule(port: port, serverNames: ["*.backend.test"], terminating: "web", originating: true),
            TLSTestPKI.portRule(port: port, serverNames: ["other.test"], terminating: "other", originating: true),
        ])
    }

    func testEachServerNameGetsItsRulesCertificate() throws {
        try start(policy: Self.twoNamesPolicy)
        let other = try XCTUnwrap(try connect(serverName: "other.test"), "other.test's certificate verifies")
        XCTAssertEqual(other.peerCommonName, "other.test")
        let api = try XCTUnwrap(try connect(serverName: "api.backend.test"), "*.backend.test's certificate verifies")
        XCTAssertEqual(api.peerCommonName, "backend.test")
        api.send("GET /allowed HTTP/1.1\r\nHost: api.backend.test\r\n\r\n")
        // The upstream's certificate names *.backend.test: the SNI api.backend.test verifies.
        XCTAssertTrue(api.read(through: "\r\n\r\n", extra: 2).hasPrefix("HTTP/1.1 200"))
    }

    func testUpstreamCertificateNotNamingTheClientsSNIGets503() throws {
        try start(policy: Self.twoNamesPolicy)
        // The proxy presents other.test's certificate; the upstream's (signed by the trusted CA)
        // names backend.test and *.backend.test only, not the SNI other.test.
        let tls = try XCTUnwrap(try connect(serverName: "other.test"))
        tls.send("GET /allowed HTTP/1.1\r\nHost: other.test\r\n\r\n")
        let answer = tls.read(through: "\r\n\r\n")
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 503"), answer)
        let flows = proxy.sink.waitForFlows(2)
        let response = try XCTUnwrap(flows.first { $0.l7?.type == .response })
        XCTAssertEqual(response.http?.url, "https://other.test/allowed")
        XCTAssertTrue(
            response.summary.contains("upstream EKEYREJECTED (TLS certificate not verified)"), response.summary)
    }

    // MARK: clients that never complete a ClientHello leave a flow

    /// A client that sends `bytes` (nil: nothing) and then closes its sending side, or waits for
    /// the proxy: the one flow is an ERROR naming `error`, without SNI.
    private func assertErrorFlow(after bytes: [UInt8]?, close: Bool, error: String) throws {
        try start()
        let socket = try proxy.connect(upstreamPort: upstream.port)
        sockets.append(socket)
        if let bytes { socket.send(bytes) }
        if close { _ = shutdown(socket.fd, Int32(SHUT_WR)) }
        let flow = try XCTUnwrap(proxy.sink.waitForFlows(1).first)
        XCTAssertEqual(flow.verdict, .error)
        XCTAssertEqual(flow.http?.connectionError?.text, error)
        XCTAssertEqual(flow.http?.url, "https://")
    }

    func testClientClosingMidHelloLeavesAnErrorFlow() throws {
        let hello = TLSTestWorld.clientHello(serverName: "backend.test")
        try assertErrorFlow(after: Array(hello.prefix(20)), close: true, error: "downstream EOF")
    }

    func testClientClosingBeforeAnyByteLeavesAnErrorFlow() throws {
        try assertErrorFlow(after: nil, close: true, error: "downstream EOF")
    }

    func testGarbageInsteadOfAClientHelloIsResetWithAnErrorFlow() throws {
        try assertErrorFlow(
            after: Array("GET / HTTP/1.1\r\nHost: backend.test\r\n\r\n".utf8), close: false, error: "downstream EPROTO")
    }
}
