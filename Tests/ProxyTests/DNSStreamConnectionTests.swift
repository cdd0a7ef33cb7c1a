import DNS
import Flows
import Foundation
import Glibc
import SluiceIO
import SluiceModel
import XCTest

@testable import Proxy

/// A DNS-over-TCP server on 127.0.0.1 (its own thread): one connection at a time, answers each
/// framed query with an A record 192.0.2.7, in order, and remembers the IDs it saw.
private final class DNSFakeTCPUpstream {
    let fd: Int32
    let port: UInt16
    private let lock = NSLock()
    private var seen: [UInt16] = []

    init() throws {
        fd = try Socket.listenTCP(address: DNSTest.loopback, port: 0, transparent: false, reusePort: false)
        port = DNSTest.port(of: fd)
        Thread { [self] in self.serve() }.start()
    }

    var ids: [UInt16] {
        lock.lock()
        defer { lock.unlock() }
        return seen
    }

    private func serve() {
        while true {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 5000) > 0 else { return }
            let conn = accept(fd, nil, nil)
            guard conn >= 0 else { continue }
            var framer = DNSTCPFramer()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(conn, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                let messages =
                    (try? buffer.withUnsafeBytes { try framer.feed(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }) ?? []
                for bytes in messages {
                    guard var message = try? bytes.withUnsafeBytes({ try DNSParser.parse($0) }),
                        let question = message.questions.first
                    else { continue }
                    lock.lock()
                    seen.append(message.header.id)
                    lock.unlock()
                    message.header.qr = true
                    message.answers = [
                        ResourceRecord(name: question.name, ttl: 60, rdata: .a(IPv4Address(192, 0, 2, 7)))
                    ]
                    if let framed = DNSTCPFramer.frame(DNSSerializer.serialize(message)) {
                        _ = framed.withUnsafeBytes { send(conn, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    }
                }
            }
            close(conn)
        }
    }
}

final class DNSStreamConnectionTests: XCTestCase {
    func testPipelinedQueriesAllowedForwardedDeniedRefused() throws {
        let upstream = try DNSFakeTCPUpstream()
        let h = try DNSProxyHarness(tcpUpstreamPort: upstream.port)
        let answers = DNSTest.exchangeTCP(
            port: h.port,
            [
                DNSTest.query("a.allowed.test.", id: 100),
                DNSTest.query("b.other.test.", id: 101),
                DNSTest.query("c.allowed.test.", id: 102),
            ], count: 3)
        let byID = Dictionary(answers.map { ($0.header.id, $0) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(byID[100]?.rcode, .noError)
        XCTAssertEqual(byID[100]?.answers.first?.rdata, .a(IPv4Address(192, 0, 2, 7)))
        XCTAssertEqual(byID[101]?.rcode, .refused)
        XCTAssertEqual(byID[102]?.rcode, .noError)
        XCTAssertEqual(upstream.ids.count, 2)
        XCTAssertNotEqual(upstream.ids.sorted(), [100, 102], "fresh IDs upstream")
        let flows = h.sink.waitForFlows(5)
        XCTAssertEqual(flows.filter { $0.verdict == .dropped }.count, 1)
        XCTAssertEqual(flows.filter { $0.isReply == true }.count, 2)
    }

    func testUnreachableUpstreamGivesServFail() throws {
        // A port nobody listens on: connect is refused.
        let closed = try Socket.listenTCP(address: DNSTest.loopback, port: 0, transparent: false, reusePort: false)
        let port = DNSTest.port(of: closed)
        Socket.close(closed)
        let h = try DNSProxyHarness(tcpUpstreamPort: port)
        let answers = DNSTest.exchangeTCP(port: h.port, [DNSTest.query("a.allowed.test.", id: 200)], count: 1)
        XCTAssertEqual(answers.first?.header.id, 200)
        XCTAssertEqual(answers.first?.rcode, .servFail)
        XCTAssertEqual(h.counters().serverFailures, 1)
        let flows = h.sink.waitForFlows(2)
        XCTAssertEqual(flows.last?.verdict, .error)
        XCTAssertEqual(
            flows.last?.l7?.dns?.connectionError, Flow.ConnectionError(side: .upstream, errno: 111),
            "the SERVFAIL's record names the refused connect")
    }

    /// An upstream that reads the query and closes without answering: SERVFAIL, and the response
    /// flow names the upstream's EOF.
    func testUpstreamClosingWithoutAnswerGivesServFailWithTheFailure() throws {
        let listener = try Socket.listenTCP(address: DNSTest.loopback, port: 0, transparent: false, reusePort: false)
        defer { Socket.close(listener) }
        let port = DNSTest.port(of: listener)
        Thread {
            var pfd = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 5000) > 0 else { return }
            let conn = accept(listener, nil, nil)
            guard conn >= 0 else { return }
            var buffer = [UInt8](repeating: 0, count: 512)
            _ = buffer.withUnsafeMutableBytes { recv(conn, $0.baseAddress, $0.count, 0) }
            close(conn)
        }.start()
        let h = try DNSProxyHarness(tcpUpstreamPort: port)
        let answers = DNSTest.exchangeTCP(port: h.port, [DNSTest.query("a.allowed.test.", id: 300)], count: 1)
        XCTAssertEqual(answers.first?.rcode, .servFail)
        let flows = h.sink.waitForFlows(2)
        XCTAssertEqual(flows.map { $0.l7?.type }, [.request, .response])
        XCTAssertEqual(flows.last?.l7?.dns?.connectionError, Flow.ConnectionError(side: .upstream, errno: 0))
        XCTAssertTrue(flows.last?.summary.hasSuffix(" upstream EOF") ?? false, flows.last?.summary ?? "")
    }

    /// A connected blocking TCP client of the proxy (3 s receive timeout), or -1.
    private func connectClient(port: UInt16) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var tv = timeval(tv_sec: 3, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = DNSTest.loopback
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if r != 0 {
            close(fd)
            return -1
        }
        return fd
    }

    private func within(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(2000)
        }
        return condition()
    }

    func testConnectionsPastTheCapWaitInTheKernelQueueUntilOneCloses() throws {
        let upstream = try DNSFakeTCPUpstream()
        let h = try DNSProxyHarness(config: DNSProxyConfig(tcpMaxConnections: 2), tcpUpstreamPort: upstream.port)
        let worker = h.worker
        XCTAssertEqual(h.onLoop { worker.tcpConnectionShare }, 2, "one worker holds the whole cap")
        let c1 = connectClient(port: h.port)
        let c2 = connectClient(port: h.port)
        let c3 = connectClient(port: h.port)
        defer { [c2, c3].forEach { close($0) } }
        XCTAssertTrue([c1, c2, c3].allSatisfy { $0 >= 0 }, "the kernel completes every handshake")
        XCTAssertTrue(
            within(5) { h.onLoop { worker.tcpConnections == 2 && worker.ctx.listenerStats.capPauses >= 1 } },
            "two accepted, then the listener pauses at the cap")
        close(c1)
        // The proxy sees c1's EOF and closes it; the paused listener looks again after its retry
        // interval on the loop's (manual) clock and accepts c3.
        XCTAssertTrue(
            within(5) {
                h.advance(by: AcceptGate.retryNs)
                return h.onLoop { worker.tcpConnections == 2 && worker.ctx.listenerStats.pausedListeners == 1 }
            }, "c3 accepted in c1's place, the listener paused again at the cap")
        guard let framed = DNSTCPFramer.frame(DNSTest.query("c3.allowed.test.", id: 33)) else {
            return XCTFail("not framed")
        }
        _ = framed.withUnsafeBytes { send(c3, $0.baseAddress, $0.count, 0) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var framer = DNSTCPFramer()
        var answers: [[UInt8]] = []
        while answers.isEmpty {
            let n = buffer.withUnsafeMutableBytes { recv(c3, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            answers += try buffer.withUnsafeBytes { try framer.feed(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        let answer = try XCTUnwrap(answers.first, "c3 is served")
        XCTAssertEqual(try answer.withUnsafeBytes { try DNSParser.parse($0) }.header.id, 33)
    }

    func testAnIdleConnectionClosesAfterTheIdleTimeout() throws {
        let upstream = try DNSFakeTCPUpstream()
        let h = try DNSProxyHarness(
            config: DNSProxyConfig(tcpIdleTimeoutNs: 3_000_000_000), tcpUpstreamPort: upstream.port)
        let worker = h.worker
        let c = connectClient(port: h.port)
        defer { close(c) }
        XCTAssertTrue(within(5) { h.onLoop { worker.tcpConnections == 1 } })
        h.advance(by: 3_000_000_000 - 1)
        XCTAssertEqual(h.onLoop { worker.tcpConnections }, 1, "1 ns before the idle timeout")
        h.advance(by: 1)
        XCTAssertEqual(h.onLoop { worker.tcpConnections }, 0)
        var byte: UInt8 = 0
        XCTAssertEqual(recv(c, &byte, 1, 0), 0, "the client sees the proxy's FIN")
    }
}
