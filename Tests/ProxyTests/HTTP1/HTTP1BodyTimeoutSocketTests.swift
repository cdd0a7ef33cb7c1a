import Flows
import Foundation
import Glibc
import SluiceTestSupport
import XCTest

@testable import Proxy

/// The HTTP/1 body idle timeout (`ProxyConfig.bodyIdleTimeoutNs`, docs/proxy.md "Timeouts") with
/// real loopback sockets and the worker loop's manual clock: an upstream that goes silent after
/// the response head, a client that stops reading a response body, and a client that stops
/// sending its request body. Each ends with a flow naming the stuck side and ETIMEDOUT.
final class HTTP1BodyTimeoutSocketTests: ProxyTestCase {
    private static let second: UInt64 = 1_000_000_000

    private var config: ProxyConfig {
        var c = ProxyConfig(workers: 1)
        c.bodyIdleTimeoutNs = 60 * Self.second
        return c
    }

    func testUpstreamSilentAfterTheHeadIsCutOffAtTheBodyTimeout() throws {
        try start(
            { s in
                _ = s.read(through: "\r\n\r\n")
                s.send("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nfirst")
                _ = s.readToEnd()  // silent until the proxy closes
            }, config: config)
        let c = try client()
        c.send("GET /allowed HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertTrue(String(decoding: c.read(through: "first"), as: UTF8.self).hasSuffix("first"))
        proxy.advance(by: 59 * Self.second)
        let t = proxy.timers()
        XCTAssertEqual(t.next.map { $0 - t.now }, Self.second, "59 s into the body: 1 s left")
        XCTAssertTrue(c.nothingToRead)
        proxy.advance(by: Self.second)
        XCTAssertEqual(c.readToEnd(), [], "the response was started: no answer, only the close")
        XCTAssertEqual(c.end, .eof)
        let flows = proxy.sink.waitForFlows(3)
        XCTAssertEqual(flows.map { $0.http?.code }, [0, 200, 200])
        XCTAssertEqual(flows.last?.verdict, .error)
        XCTAssertEqual(
            flows.last?.http?.connectionError, Flow.ConnectionError(side: .upstream, errno: ETIMEDOUT))
    }

    func testClientThatStopsReadingTheResponseIsCutOff() throws {
        let progress = SentBytes()
        try start(
            { s in
                _ = s.read(through: "\r\n\r\n")
                s.send("HTTP/1.1 200 OK\r\ncontent-length: 1073741824\r\n\r\n")
                let chunk = [UInt8](repeating: 0x78, count: 65536)
                for _ in 0..<16384 {  // until the proxy stops taking it and closes
                    guard s.sendAll(chunk) else { return }
                    progress.add(chunk.count)
                }
            }, config: config)
        let c = try proxy.connect(upstreamPort: upstream.port) { socket in
            var small: Int32 = 4096
            _ = setsockopt(socket.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        }
        c.send("GET /allowed HTTP/1.1\r\nhost: backend\r\n\r\n")
        _ = c.read(through: "\r\n\r\n")
        // The client reads nothing more. Once every buffer on the way is full the upstream's
        // sends stop making progress: polled (with a deadline) until its count holds still.
        var last = -1
        XCTAssertTrue(
            eventually(timeout: 20) {
                let now = progress.value
                defer { last = now }
                usleep(50_000)  // the poll's pace: a stuck pipe shows the same count twice
                return now > 0 && now == last && progress.value == now
            }, "the pipe never filled")
        proxy.advance(by: 59 * Self.second)
        XCTAssertEqual(proxy.sink.flows.count, 2, "59 s without progress: still open")
        proxy.advance(by: Self.second)
        let flows = proxy.sink.waitForFlows(3)
        XCTAssertEqual(flows.map { $0.http?.code }, [0, 200, 200])
        XCTAssertEqual(flows.last?.verdict, .error)
        XCTAssertEqual(
            flows.last?.http?.connectionError, Flow.ConnectionError(side: .downstream, errno: ETIMEDOUT))
        XCTAssertLessThan(progress.value, 1 << 30, "cut off long before the announced body")
    }

    func testClientThatStopsSendingItsBodyGets408() throws {
        try start(
            { s in _ = s.readToEnd() }, config: config)
        let c = try client()
        c.send("POST /allowed/post HTTP/1.1\r\nhost: backend\r\ncontent-length: 10\r\n\r\n12345")
        XCTAssertTrue(eventually { self.upstream.received(0).hasSuffix("12345") })
        proxy.advance(by: 60 * Self.second)
        let reply = String(decoding: c.readToEnd(), as: UTF8.self)
        XCTAssertTrue(reply.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"), reply)
        let flows = proxy.sink.waitForFlows(2)
        XCTAssertEqual(flows.map { $0.http?.code }, [0, 408])
        XCTAssertEqual(
            flows.last?.http?.connectionError, Flow.ConnectionError(side: .downstream, errno: ETIMEDOUT))
    }
}

/// Bytes an upstream script managed to send (read from the test's thread).
private final class SentBytes: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add(_ n: Int) {
        lock.lock()
        count += n
        lock.unlock()
    }
    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}

extension TestSocket {
    /// Sends all of `bytes`; false when the peer is gone (the send failed).
    fileprivate func sendAll(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }
}
