import DNS
import Flows
import Glibc
import SluiceIO
import SluiceModel
import XCTest

@testable import Proxy

/// The DNS-over-TCP listener (`DNSTCPListener`) of one worker on loopback: every client waiting
/// in the kernel's queue is accepted and gets its own connection, whose records carry the
/// client's and the listener's address and port, and an unsteered connection's query is dropped.
final class DNSTCPListenerTests: XCTestCase {
    /// A port on 127.0.0.1 nobody listens on (the upstream of tests whose queries are refused).
    private func closedPort() throws -> UInt16 {
        let fd = try Socket.listenTCP(address: DNSTest.loopback, port: 0, transparent: false, reusePort: false)
        defer { Socket.close(fd) }
        return DNSTest.port(of: fd)
    }

    private func connectClient(_ port: UInt16) throws -> Int32 { try DNSTest.connectTCP(port: port) }

    private func send(_ fd: Int32, _ query: [UInt8]) throws {
        let framed = try XCTUnwrap(DNSTCPFramer.frame(query))
        XCTAssertEqual(framed.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }, framed.count)
    }

    /// The connection ended (or timed out) before a whole answer came.
    private struct Closed: Error { var errno: Int32 }

    /// Reads one framed answer.
    private func answer(_ fd: Int32) throws -> DNSMessage {
        var framer = DNSTCPFramer()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw Closed(errno: n < 0 ? errno : 0) }
            let messages = try buffer.withUnsafeBytes { try framer.feed(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            if let first = messages.first { return try parse(first) }
        }
    }

    func testEveryWaitingClientIsAcceptedAndAnsweredOnItsOwnConnection() throws {
        let h = try DNSProxyHarness(tcpUpstreamPort: try closedPort())
        // Connected before any is served: all three wait in the listener's accept queue.
        let clients = try (0..<3).map { _ in try connectClient(h.port) }
        defer { clients.forEach { _ = close($0) } }
        for (i, fd) in clients.enumerated().reversed() {
            try send(fd, DNSTest.query("n\(i).other.test.", id: UInt16(500 + i)))
        }
        for (i, fd) in clients.enumerated() {
            let message = try answer(fd)
            XCTAssertEqual(message.header.id, UInt16(500 + i), "each client gets its own answer")
            XCTAssertEqual(message.rcode, .refused)
            XCTAssertEqual(message.questions.first?.name.text, "n\(i).other.test.")
        }
        let flows = h.sink.waitForFlows(3)
        XCTAssertEqual(flows.count, 3)
        let clientPorts = Set(clients.map { DNSTest.port(of: $0) })
        XCTAssertEqual(Set(flows.compactMap { $0.l4?.sourcePort }), clientPorts, "the accepted peer")
        XCTAssertEqual(
            flows.compactMap { $0.l4?.destinationPort }, Array(repeating: h.port, count: 3),
            "the listener's own address stands as the original destination")
        XCTAssertEqual(flows.map(\.verdict), [.dropped, .dropped, .dropped])
    }

    func testAnUnsteeredConnectionsQueryIsDroppedNotForwarded() throws {
        let upstreamPort = try closedPort()
        let h = try DNSProxyHarness(steered: false, tcpUpstreamPort: upstreamPort)
        let fd = try connectClient(h.port)
        defer { close(fd) }
        try send(fd, DNSTest.query("www.allowed.test.", id: 9))
        XCTAssertTrue(eventually { h.counters().dropped == 1 }, "dropped: \(h.counters().dropped)")
        XCTAssertEqual(h.counters().serverFailures, 0, "nothing was sent to the (closed) upstream")
        let flows = h.sink.waitForFlows(1)
        XCTAssertEqual(flows.first?.verdict, .dropped)
        XCTAssertEqual(flows.first?.l4?.destinationPort, h.port)
    }
}
