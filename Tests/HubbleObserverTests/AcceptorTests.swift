import Glibc
import SluiceIO
import SluiceModel
import XCTest

@testable import HubbleObserver

final class AcceptorTests: XCTestCase {
    func testHandsEachAcceptedConnectionToItsOwner() throws {
        let loop = try EventLoop()
        var accepted: [Socket.Accepted] = []
        let acceptor = try Acceptor(loop: loop, address: ListenAddress(host: IPv4Address(127, 0, 0, 1), port: 0)) {
            accepted.append($0)
        }
        let port = acceptor.boundPort
        XCTAssertNotEqual(port, 0)
        let client = try Socket.connectTCP(address: IPv4Address(127, 0, 0, 1).networkOrder, port: port, mark: 0)
        defer { Socket.close(client) }
        let deadline = SystemClock.monotonicNs() + 5_000_000_000
        while accepted.isEmpty && SystemClock.monotonicNs() < deadline { loop.runOnce(timeoutMs: 50) }
        XCTAssertEqual(accepted.count, 1)
        XCTAssertEqual(accepted.first?.localPort, port)
        for a in accepted { Socket.close(a.fd) }
        acceptor.close()
        acceptor.close()
        XCTAssertThrowsError(
            try Acceptor(loop: loop, address: ListenAddress(host: IPv4Address(192, 0, 2, 1), port: 1)) { _ in },
            "an address this host does not have")
    }
}
