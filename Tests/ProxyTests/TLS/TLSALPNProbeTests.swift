import COpenSSL
import Foundation
import Glibc
import Policy
import SluiceTestSupport
import XCTest

@testable import Proxy

/// `TLSALPNProbe` against real OpenSSL upstreams on a real worker loop: an upstream that selects
/// h2 is learned as h2, one without ALPN (HTTP/1.1 only) as not h2, the session is kept for the
/// connection that follows, and an upstream that cannot be reached teaches nothing.
final class TLSALPNProbeTests: XCTestCase {
    private var pki: TLSTestPKI!
    private var upstream: UpstreamServer!
    private var harness: ProxyHarness!

    override func setUp() {
        super.setUp()
        signal(SIGPIPE, SIG_IGN)
    }

    override func tearDown() {
        harness?.stop()
        upstream?.stop()
        super.tearDown()
    }

    private func probe(upstreamALPN: Bool, port: UInt16? = nil) throws -> (learned: Bool?, stored: Bool?, session: Bool)
    {
        pki = try TLSTestPKI()
        let serverContext = pki.serverContext(cert: pki.serverCert, key: pki.serverKey, alpn: upstreamALPN)
        upstream = try XCTUnwrap(UpstreamServer(script: tlsUpstreamScript(serverContext)))
        var config = ProxyConfig(workers: 1)
        config.tlsSecretsDirectory = pki.secrets
        let target = port ?? upstream.port
        harness = try ProxyHarness(
            snapshot: TestPolicy.snapshot(TLSTestPKI.policy(port: target)), steer: nil, config: config)
        let origination = TLSOrigination(
            context: TLSContext(namespace: "default", name: "ca"), serverName: "backend.test",
            addresses: ConnectionAddresses(
                clientAddress: Loopback.networkOrder, clientPort: 1, originalDestinationAddress: Loopback.networkOrder,
                originalDestinationPort: target))
        let answered = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var learned: Bool??
        let ctx = harness.ctx
        let started = harness.onLoop { () -> Bool in
            let probe = TLSALPNProbe.start(
                loop: ctx.loop, store: ctx.tlsContexts, origination: origination,
                upstream: UpstreamTarget(address: Loopback.networkOrder, port: target, mark: 0),
                timeoutNs: 5_000_000_000
            ) { h2 in
                learned = .some(h2)
                answered.signal()
            }
            return probe != nil
        }
        XCTAssertTrue(started)
        XCTAssertEqual(answered.wait(timeout: .now() + 10), .success, "the probe answers")
        let stored = harness.onLoop { ctx.tlsContexts.upstreamSpeaksH2(origination.sessionKey, now: ctx.loop.now) }
        // The session is kept once the upstream's ticket arrived, after the answer.
        let harness = self.harness!
        let answer = learned ?? nil
        let session =
            answer != nil
            && eventually { harness.onLoop { ctx.tlsContexts.session(for: origination.sessionKey) != nil } }
        return (answer, stored, session)
    }

    func testUpstreamSelectingH2IsLearnedAsH2() throws {
        let result = try probe(upstreamALPN: true)
        XCTAssertEqual(result.learned, true)
        XCTAssertEqual(result.stored, true)
        XCTAssertTrue(result.session, "the probe's session is kept for the next upstream connection")
    }

    func testUpstreamWithoutALPNIsLearnedAsNotH2() throws {
        let result = try probe(upstreamALPN: false)
        XCTAssertEqual(result.learned, false)
        XCTAssertEqual(result.stored, false)
        XCTAssertTrue(result.session)
    }

    func testUnreachableUpstreamTeachesNothing() throws {
        // A port nothing listens on: the connect is refused.
        guard let closed = Loopback.listen() else { return XCTFail("no socket") }
        Glibc.close(closed.fd)
        let result = try probe(upstreamALPN: true, port: closed.port)
        XCTAssertNil(result.learned)
        XCTAssertNil(result.stored)
    }
}
