import Glibc
import XCTest

@testable import SluiceIO

/// The accept path on real loopback sockets: addresses come back in the byte orders the proxy
/// uses, and accepted sockets carry TCP_NODELAY from the listener (accept does no setsockopt).
final class SocketTests: XCTestCase {
    private let loopback = UInt32(0x0100007F)  // 127.0.0.1 in network order

    private func boundPort(_ fd: Int32) -> UInt16 {
        var sa = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return UInt16(bigEndian: sa.sin_port)
    }

    private func noDelay(_ fd: Int32) -> Int32 {
        var v: Int32 = -1
        var len = socklen_t(MemoryLayout<Int32>.size)
        XCTAssertEqual(getsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &v, &len), 0)
        return v
    }

    private func connectClient(port: UInt16) -> Int32 {
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(client, 0)
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        sa.sin_addr.s_addr = loopback
        let rc = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        XCTAssertEqual(rc, 0)
        return client
    }

    /// The next connection of `listener`: waits (poll(2), up to 5 s) until it is acceptable.
    private func acceptWithin(_ listener: Int32) throws -> Socket.Accepted? {
        var pfd = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, 5000) == 1 else { return nil }
        return try Socket.accept(listener)
    }

    func testDeferredAcceptWaitsForTheFirstBytes() throws {
        let listener = try Socket.listenTCP(address: loopback, port: 0, transparent: false, reusePort: false)
        defer { Socket.close(listener) }
        try Socket.deferAccept(listener, seconds: 5)
        let client = connectClient(port: boundPort(listener))
        defer { Glibc.close(client) }
        // On loopback the handshake is complete when connect returns: a listener without the
        // option hands such a connection out at once (the control), this one does not.
        let plain = try Socket.listenTCP(address: loopback, port: 0, transparent: false, reusePort: false)
        defer { Socket.close(plain) }
        let control = connectClient(port: boundPort(plain))
        defer { Glibc.close(control) }
        let controlAccepted = try XCTUnwrap(try Socket.accept(plain), "without TCP_DEFER_ACCEPT: acceptable at once")
        Socket.close(controlAccepted.fd)
        XCTAssertNil(try Socket.accept(listener), "connected but silent: not handed out yet")
        XCTAssertEqual(send(client, "GET", 3, 0), 3)
        let a = try XCTUnwrap(try acceptWithin(listener), "the first bytes make the connection acceptable")
        defer { Socket.close(a.fd) }
        var buf = [UInt8](repeating: 0, count: 8)
        XCTAssertEqual(recv(a.fd, &buf, buf.count, 0), 3, "and they are readable at once")
    }

    func testAcceptedSocketInheritsNoDelayAndReportsAddresses() throws {
        let listener = try Socket.listenTCP(address: loopback, port: 0, transparent: false, reusePort: false)
        defer { Socket.close(listener) }
        XCTAssertEqual(noDelay(listener), 1)
        let port = boundPort(listener)
        XCTAssertNotEqual(port, 0)

        let client = connectClient(port: port)
        defer { Glibc.close(client) }
        XCTAssertEqual(noDelay(client), 0, "a plain client socket starts without TCP_NODELAY")

        let a = try XCTUnwrap(try acceptWithin(listener))
        defer { Socket.close(a.fd) }
        XCTAssertEqual(noDelay(a.fd), 1, "accepted sockets inherit TCP_NODELAY from the listener")
        XCTAssertEqual(a.localAddress, loopback)
        XCTAssertEqual(a.localPort, port)
        XCTAssertEqual(a.peerAddress, loopback)
        XCTAssertEqual(a.peerPort, boundPort(client))
        XCTAssertNil(try Socket.accept(listener), "an empty queue is nil (EAGAIN), not an error")
    }

    /// The errno of a failed read, send or sendmsg: EINTR asks for the call again, EAGAIN and
    /// EWOULDBLOCK are `.wouldBlock`, anything else is kept.
    func testFailedCallClassifiesErrno() {
        errno = EINTR
        XCTAssertNil(Socket.failedCall())
        errno = EAGAIN
        XCTAssertEqual(Socket.failedCall(), .wouldBlock)
        errno = EWOULDBLOCK
        XCTAssertEqual(Socket.failedCall(), .wouldBlock)
        errno = ECONNRESET
        XCTAssertEqual(Socket.failedCall(), .error(ECONNRESET))
    }

    /// A read on a closed descriptor is an error with its errno, not a retry or a block.
    func testReadOfABadDescriptorKeepsItsErrno() {
        let buffer = IOBuffer(capacity: 16, limit: 16)
        XCTAssertEqual(Socket.read(-1, into: buffer), .error(EBADF))
        XCTAssertEqual(
            Socket.readStep(-1, into: buffer, side: .upstream), .closed(PeerClose(side: .upstream, errno: EBADF)))
    }
}
