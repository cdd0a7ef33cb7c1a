import Glibc
import XCTest

@testable import SluiceIO

/// The step helpers on real non-blocking socket pairs: every outcome of a read or write is
/// progress, blocked, or closed with the side and errno it happened with.
final class IOStepTests: XCTestCase {
    private var fds: [Int32] = []

    override func tearDown() {
        for fd in fds { _ = Glibc.close(fd) }
        fds = []
    }

    /// A connected non-blocking pair of stream sockets.
    private func pair() -> (Int32, Int32) {
        var sv: [Int32] = [-1, -1]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &sv), 0)
        fds += sv
        return (sv[0], sv[1])
    }

    private func send(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        XCTAssertEqual(bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }, bytes.count)
    }

    func testReadIsProgressThenBlockedThenOrderlyClose() {
        let (a, b) = pair()
        let buffer = IOBuffer(capacity: 64, limit: 64)
        XCTAssertEqual(Socket.readStep(a, into: buffer, side: .downstream), .blocked)
        send(b, "hello")
        XCTAssertEqual(Socket.readStep(a, into: buffer, side: .downstream), .progress(5))
        XCTAssertEqual(Array(buffer.readable), Array("hello".utf8))
        XCTAssertEqual(Socket.readStep(a, into: buffer, side: .downstream), .blocked)
        _ = shutdown(b, Int32(SHUT_WR))
        XCTAssertEqual(
            Socket.readStep(a, into: buffer, side: .downstream),
            .closed(PeerClose(side: .downstream, errno: 0)))
    }

    func testReadIntoAFullBufferIsBlockedNotEOF() {
        let (a, b) = pair()
        send(b, "abcd")
        let buffer = IOBuffer(capacity: 4, limit: 4)
        XCTAssertEqual(Socket.readStep(a, into: buffer, side: .upstream), .progress(4))
        send(b, "e")
        XCTAssertEqual(Socket.readStep(a, into: buffer, side: .upstream), .blocked)
    }

    func testWriteToAClosedPeerIsEPIPEOnItsSide() {
        let (a, b) = pair()
        _ = Glibc.close(b)
        fds.removeAll { $0 == b }
        let bytes: [UInt8] = [1, 2, 3]
        let step = bytes.withUnsafeBytes { Socket.writeStep(a, $0, side: .upstream) }
        XCTAssertEqual(step, .closed(PeerClose(side: .upstream, errno: EPIPE)))
    }

    /// A gathered write: the pieces arrive in order as one stream; a full socket takes part of
    /// them (progress short of the total), then is blocked; a closed peer is EPIPE on its side.
    func testGatheredWriteInOrderShortThenBlockedThenEPIPE() {
        let (a, b) = pair()
        let pieces: [[UInt8]] = [[1, 2], [3], [4, 5, 6]]
        func step(_ fd: Int32, _ pieces: [[UInt8]]) -> IOStep {
            let bases = pieces.map { p in UnsafeMutableRawPointer(mutating: p.withUnsafeBytes { $0.baseAddress! }) }
            let iovecs = zip(bases, pieces).map { iovec(iov_base: $0, iov_len: $1.count) }
            return withExtendedLifetime(pieces) {
                iovecs.withUnsafeBufferPointer { Socket.writeStep(fd, iovecs: $0, side: .downstream) }
            }
        }
        XCTAssertEqual(step(a, pieces), .progress(6))
        let buffer = IOBuffer(capacity: 64, limit: 64)
        XCTAssertEqual(Socket.readStep(b, into: buffer, side: .upstream), .progress(6))
        XCTAssertEqual(Array(buffer.readable), [1, 2, 3, 4, 5, 6])
        // Fill the socket: some write is short, the next is blocked.
        let big = [[UInt8]](repeating: [UInt8](repeating: 7, count: 64 * 1024), count: 8)
        var sawShort = false
        var last = IOStep.progress(0)
        for _ in 0..<1000 {
            last = step(a, big)
            guard case .progress(let n) = last else { break }
            if n < 8 * 64 * 1024 { sawShort = true }
        }
        XCTAssertTrue(sawShort)
        XCTAssertEqual(last, .blocked)
        _ = Glibc.close(b)
        fds.removeAll { $0 == b }
        XCTAssertEqual(step(a, pieces), .closed(PeerClose(side: .downstream, errno: EPIPE)))
    }

    func testScratchReadKeepsSideAndErrno() {
        let (a, b) = pair()
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 16, alignment: 1)
        defer { scratch.deallocate() }
        XCTAssertEqual(Socket.readStep(a, into: scratch, side: .upstream), .blocked)
        send(b, "xy")
        XCTAssertEqual(Socket.readStep(a, into: scratch, side: .upstream), .progress(2))
        XCTAssertEqual(
            Socket.readStep(-1, into: scratch, side: .upstream),
            .closed(PeerClose(side: .upstream, errno: EBADF)))
    }

    func testSocketPeerTracksEdgeTriggeredReadiness() {
        let (a, b) = pair()
        var peer = SocketPeer(fd: a, side: .downstream, readable: true, writable: true)
        let buffer = IOBuffer(capacity: 64, limit: 64)
        send(b, "short")
        XCTAssertEqual(peer.read(into: buffer), .progress(5))
        XCTAssertFalse(peer.readable, "a short read drained the socket: wait for the next edge")
        peer.readable = true
        XCTAssertEqual(peer.read(into: buffer), .blocked)
        XCTAssertFalse(peer.readable)
        // Fill the send buffer: the write that is cut short ends writability.
        let chunk = [UInt8](repeating: 0x61, count: 1 << 16)
        var rounds = 0
        while peer.writable && rounds < 1000 {
            let step = chunk.withUnsafeBytes { peer.write($0) }
            guard case .progress = step else {
                XCTAssertEqual(step, .blocked)
                break
            }
            rounds += 1
        }
        XCTAssertFalse(peer.writable)
    }
}
