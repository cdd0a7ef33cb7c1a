import COpenSSL
import Flows
import Foundation
import SluiceTestSupport
import XCTest

@testable import Proxy

/// `TLSTransport` with `originatingTLS` alone: the client speaks plain HTTP, the proxy speaks
/// TLS to the upstream and, with no SNI to send, verifies the certificate against the original
/// destination's address (the test certificate names 127.0.0.1).
final class TLSTransportTests: XCTestCase {
    private var pki: TLSTestPKI!
    private var upstream: UpstreamServer!
    private var proxy: ProxyHarness!

    override func tearDown() {
        proxy?.stop()
        upstream?.stop()
        super.tearDown()
    }

    func testPlainClientReachesTLSUpstream() throws {
        pki = try TLSTestPKI()
        let serverContext = pki.serverContext(cert: pki.serverCert, key: pki.serverKey)
        upstream = try XCTUnwrap(UpstreamServer(script: tlsUpstreamScript(serverContext)))
        let snapshot = try TestPolicy.snapshot(TLSTestPKI.policy(port: upstream.port, terminating: false))
        var config = ProxyConfig(workers: 1)
        config.tlsSecretsDirectory = pki.secrets
        proxy = try ProxyHarness(snapshot: snapshot, steer: TLSTestPKI.egressSteer(snapshot), config: config)
        let client = try proxy.connect(upstreamPort: upstream.port)
        client.send("GET /allowed HTTP/1.1\r\nHost: backend.test\r\n\r\n")
        let answer = String(decoding: client.readMessage(), as: UTF8.self)
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 200 OK"), answer)
        client.send("GET /other HTTP/1.1\r\nHost: backend.test\r\n\r\n")
        XCTAssertTrue(String(decoding: client.readMessage(), as: UTF8.self).hasPrefix("HTTP/1.1 403"))
        let flows = proxy.sink.waitForFlows(2)
        XCTAssertEqual(flows.first?.http?.url, "http://backend.test/allowed", "the client spoke plain HTTP")
    }
}
