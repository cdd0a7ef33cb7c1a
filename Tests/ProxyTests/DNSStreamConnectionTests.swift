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
}
