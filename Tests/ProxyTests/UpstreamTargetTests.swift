import Glibc
import Policy
import XCTest

@testable import Proxy

/// `UpstreamTarget`: the original destination and the mark of the client's identity, built once
/// for the transports, the probes and the pool key; `connect()` opens a socket there with that mark.
final class UpstreamTargetTests: XCTestCase {
    private let addresses = ConnectionAddresses(
        clientAddress: 0x0200_000A, clientPort: 40000, originalDestinationAddress: 0x0300_000A,
        originalDestinationPort: 8080)

    func testTheOriginalDestinationAndTheSteeredIdentity() {
        let steer = SteerInfo(endpointID: 3, sourceIdentity: 1234, destinationIdentity: 5, direction: .ingress)
        let target = UpstreamTarget(addresses, steer: steer)
        XCTAssertEqual(target, UpstreamTarget(address: 0x0300_000A, port: 8080, mark: steer.upstreamMark))
        XCTAssertEqual(UpstreamTarget(addresses, steer: nil).mark, ProxyMarks.fromProxy(identity: 0))
        XCTAssertNotEqual(target, UpstreamTarget(addresses, steer: nil), "another identity, another pool key")
    }

    func testConnectOpensASocketWithTheMark() throws {
        let listener = try XCTUnwrap(Loopback.listen())
        defer { Glibc.close(listener.fd) }
        let target = UpstreamTarget(address: Loopback.networkOrder, port: listener.port, mark: 0x0000_1B00)
        let fd = try target.connect()
        defer { Glibc.close(fd) }
        var mark: UInt32 = 0
        var length = socklen_t(MemoryLayout<UInt32>.size)
        XCTAssertEqual(getsockopt(fd, SOL_SOCKET, SO_MARK, &mark, &length), 0)
        XCTAssertEqual(mark, 0x0000_1B00)
        var pollfd = Glibc.pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0)
        XCTAssertEqual(poll(&pollfd, 1, 2000), 1, "the connection reaches the listener")
    }
}
