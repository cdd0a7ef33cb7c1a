import Foundation
import Glibc
import SluiceTestSupport
import XCTest

@testable import Proxy

/// `H2CProbe` against real plain upstreams on a real worker loop (its clock moved by hand): an
/// h2c upstream answers the preface with SETTINGS and is learned as h2c, an HTTP/1.1 server's
/// answer to it (a 400) as HTTP/1.1 only, a silent upstream times out to HTTP/1.1 only, and an
/// upstream that cannot be reached teaches nothing.
final class H2CProbeTests: XCTestCase {
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

    /// Starts a probe of `port`; `advance` moves the loop's clock by that much once it runs.
    private func probe(port: UInt16, advance: UInt64? = nil) throws -> (learned: Bool?, stored: Bool?) {
        harness = try ProxyHarness(snapshot: TestPolicy.snapshot(TLSTestPKI.policy(port: port)), steer: nil)
        let answered = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var learned: Bool??
        let ctx = harness.ctx
        let started = harness.onLoop { () -> Bool in
            H2CProbe.start(
                loop: ctx.loop, store: ctx.tlsContexts,
                upstream: UpstreamTarget(address: Loopback.networkOrder, port: port, mark: 0)
            ) {
                h2 in
                learned = .some(h2)
                answered.signal()
            } != nil
        }
        XCTAssertTrue(started)
        if let advance {
            // The upstream has the greeting (or nothing) by the time the loop drained its events.
            harness.drain()
            XCTAssertEqual(answered.wait(timeout: .now() + 0.2), .timedOut, "no answer before the timeout")
            harness.advance(by: advance - 1)
            XCTAssertEqual(answered.wait(timeout: .now() + 0.2), .timedOut, "no answer before the timeout")
            harness.advance(by: 1)
        }
        XCTAssertEqual(answered.wait(timeout: .now() + 10), .success, "the probe answers")
        let key = H2CProbe.key(address: Loopback.networkOrder, port: port)
        let stored = harness.onLoop { ctx.tlsContexts.upstreamSpeaksH2(key, now: ctx.loop.now) }
        return (learned ?? nil, stored)
    }

    func testH2CUpstreamIsLearnedAsH2C() throws {
        upstream = try XCTUnwrap(UpstreamServer(script: HTTP2Peer.upstreamScript))
        let result = try probe(port: upstream.port)
        XCTAssertEqual(result.learned, true)
        XCTAssertEqual(result.stored, true)
    }

    func testPrefaceAndEmptySettingsAreSentAndASettingsAnswerIsH2C() throws {
        let greeting = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + [0, 0, 0, 4, 0, 0, 0, 0, 0]
        // Answers only once the whole greeting arrived: a SETTINGS frame with one setting.
        upstream = try XCTUnwrap(
            UpstreamServer(script: { socket in
                guard socket.read(exactly: greeting.count) == greeting else { return socket.shutdownWrite() }
                socket.send([0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100])
                _ = socket.readToEnd()
            }))
        let result = try probe(port: upstream.port)
        XCTAssertEqual(result.learned, true)
    }

    func testSettingsAckFirstIsNotH2C() throws {
        // Only a peer's own SETTINGS opens an HTTP/2 connection; an ACK first is not one.
        upstream = try XCTUnwrap(
            UpstreamServer(script: { socket in
                _ = socket.read(exactly: 33)
                socket.send([0, 0, 0, 4, 1, 0, 0, 0, 0])
                _ = socket.readToEnd()
            }))
        let result = try probe(port: upstream.port)
        XCTAssertEqual(result.learned, false)
    }

    func testHTTP1UpstreamAnsweringThePrefaceIsLearnedAsHTTP1Only() throws {
        upstream = try XCTUnwrap(
            UpstreamServer(
                script: UpstreamServer.answering(["HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"])))
        let result = try probe(port: upstream.port)
        XCTAssertEqual(result.learned, false)
        XCTAssertEqual(result.stored, false)
    }

    func testUpstreamClosingWithoutAnswerIsLearnedAsHTTP1Only() throws {
        upstream = try XCTUnwrap(UpstreamServer(script: { socket in socket.shutdownWrite() }))
        let result = try probe(port: upstream.port)
        XCTAssertEqual(result.learned, false)
        XCTAssertEqual(result.stored, false)
    }

    func testSilentUpstreamTimesOutToHTTP1Only() throws {
        // A listener that never accepts: the kernel completes the connect, nobody ever answers.
        guard let silent = Loopback.listen() else { return XCTFail("no socket") }
        defer { Glibc.close(silent.fd) }
        let result = try probe(port: silent.port, advance: H2CProbe.timeoutNs)
        XCTAssertEqual(result.learned, false)
        XCTAssertEqual(result.stored, false)
    }

    func testUnreachableUpstreamTeachesNothing() throws {
        guard let closed = Loopback.listen() else { return XCTFail("no socket") }
        Glibc.close(closed.fd)
        let result = try probe(port: closed.port)
        XCTAssertNil(result.learned)
        XCTAssertNil(result.stored)
    }

    func testKeyNamesAddressAndPort() {
        XCTAssertEqual(H2CProbe.key(address: 1, port: 80), "h2c/1:80")
        XCTAssertNotEqual(H2CProbe.key(address: 1, port: 80), H2CProbe.key(address: 1, port: 81))
    }
}
