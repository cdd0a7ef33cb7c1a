import Glibc
import XCTest

@testable import SluiceIO

/// `SplicePipe` on real non-blocking socket pairs: bytes move socket → pipe → socket unchanged,
/// a fill never takes more than asked (the body's end), EOF and errors are steps with the side,
/// and the peers' readiness follows the rules the connection relies on.
final class SplicePipeTests: XCTestCase {
    private var fds: [Int32] = []
    private var pipes: [SplicePipe] = []

    override func setUp() {
        signal(SIGPIPE, SIG_IGN)  // as the agent: a closed peer is EPIPE, not a signal
    }

    override func tearDown() {
        for fd in fds { _ = Glibc.close(fd) }
        fds = []
    }

    /// A connected non-blocking pair of stream sockets (AF_UNIX, or loopback TCP).
    private func pair() -> (Int32, Int32) {
        var sv: [Int32] = [-1, -1]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &sv), 0)
        fds += sv
        return (sv[0], sv[1])
    }

    private func send(_ fd: Int32, _ bytes: [UInt8]) {
        XCTAssertEqual(bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }, bytes.count)
    }

    private func receive(_ fd: Int32, max: Int = 1 << 20) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: max)
        let n = out.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        return n > 0 ? Array(out[..<n]) : []
    }

    private func open(size: Int = 65536) throws -> SplicePipe {
        let pipe = try XCTUnwrap(SplicePipe.open(size: size))
        XCTAssertTrue(pipe.isOpen)
        XCTAssertTrue(pipe.isEmpty)
        return pipe
    }

    func testBytesMoveFromSocketToSocketUnchangedAndNoFurtherThanAsked() throws {
        var pipe = try open()
        defer { pipe.close() }
        let (clientIn, upstreamOut) = pair()  // the proxy reads clientIn
        let (proxyOut, serverIn) = pair()  // the proxy writes proxyOut
        let bytes = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) }
        send(upstreamOut, bytes)
        XCTAssertEqual(pipe.fill(from: clientIn, max: 1000, side: .upstream), .progress(1000), "the body ends here")
        XCTAssertEqual(pipe.count, 1000)
        XCTAssertEqual(pipe.drain(to: proxyOut, side: .downstream), .progress(1000))
        XCTAssertTrue(pipe.isEmpty)
        XCTAssertEqual(receive(serverIn), Array(bytes[..<1000]))
        XCTAssertEqual(receive(clientIn), Array(bytes[1000...]), "the bytes past the limit stay in the socket")
    }

    func testEmptySocketIsBlockedEOFIsAnOrderlyCloseAndADeadPeerAnErrno() throws {
        var pipe = try open()
        defer { pipe.close() }
        let (a, b) = pair()
        XCTAssertEqual(pipe.fill(from: a, max: 100, side: .upstream), .blocked)
        _ = shutdown(b, Int32(SHUT_WR))
        XCTAssertEqual(pipe.fill(from: a, max: 100, side: .upstream), .closed(PeerClose(side: .upstream, errno: 0)))
        let (c, d) = pair()
        send(d, Array("hello".utf8))
        XCTAssertEqual(pipe.fill(from: c, max: 100, side: .upstream), .progress(5))
        let (e, f) = pair()
        _ = Glibc.close(f)
        fds.removeAll { $0 == f }
        guard case .closed(let failure) = pipe.drain(to: e, side: .downstream) else {
            return XCTFail("a write to a closed peer fails")
        }
        XCTAssertEqual(failure.side, .downstream)
        XCTAssertTrue(failure.errno == EPIPE || failure.errno == ECONNRESET, "errno \(failure.errno)")
    }

    func testAFullSocketStopsTheDrainAndEndsWritability() throws {
        var pipe = try open(size: 1 << 20)
        defer { pipe.close() }
        let (source, feeder) = pair()
        // Loopback TCP: a full send buffer takes part of a write (an AF_UNIX socket takes all or
        // nothing), the case the readiness rule is about.
        let (sink, reader) = try tcpPair()
        var size: Int32 = 4096
        _ = setsockopt(sink, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(reader, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var peer = SocketPeer(fd: sink, side: .downstream, readable: false, writable: true)
        var sourcePeer = SocketPeer(fd: source, side: .upstream, readable: true, writable: false)
        var moved = 0
        var partial = 0
        // Fill and drain until the sink's buffer is full (the reader reads nothing meanwhile).
        while peer.writable {
            // 128 KiB at a time, more than the sink's buffer takes at once.
            for _ in 0..<8 { send(feeder, [UInt8](repeating: 0x41, count: 16384)) }
            while case .progress = sourcePeer.fill(&pipe, max: Int.max) {}
            XCTAssertGreaterThan(pipe.count, 0)
            let before = pipe.count
            switch peer.drain(&pipe) {
            case .progress(let w):
                moved += w
                if w < before { partial += 1 }
                XCTAssertEqual(peer.writable, w == before, "a drain cut short ends writability")
            case .blocked: XCTAssertFalse(peer.writable)
            case .closed: return XCTFail("the reader is open")
            }
            if moved > 64 << 20 { return XCTFail("the sink never filled") }
        }
        XCTAssertGreaterThan(partial, 0, "the full socket took part of a drain")
        XCTAssertGreaterThan(pipe.count, 0, "what the sink did not take waits in the pipe")
        // The reader drains the sink; the rest goes out.
        while pipe.count > 0 {
            _ = receive(reader)
            if case .closed = pipe.drain(to: sink, side: .downstream) { return XCTFail("drain") }
        }
        XCTAssertTrue(pipe.isEmpty)
        // An empty socket into an empty pipe: readability ends (a fill that moved bytes never
        // ends it: the pipe's slots may have run out first).
        sourcePeer.readable = true
        while receive(source).count > 0 {}
        send(feeder, Array("x".utf8))
        XCTAssertEqual(sourcePeer.fill(&pipe, max: 100), .progress(1))
        XCTAssertTrue(sourcePeer.readable)
        _ = pipe.drain(to: sink, side: .downstream)
        XCTAssertEqual(sourcePeer.fill(&pipe, max: 100), .blocked)
        XCTAssertFalse(sourcePeer.readable)
    }

    func testSplicingOverLoopbackTCPMovesMegabytes() throws {
        var pipe = try open(size: 256 * 1024)
        defer { pipe.close() }
        let (client, server) = try tcpPair()
        let (client2, server2) = try tcpPair()
        let total = 4 << 20
        let chunk = [UInt8]((0..<65536).map { UInt8(truncatingIfNeeded: $0 >> 3) })
        var sent = 0
        var received: [UInt8] = []
        var spliced = 0
        while received.count < total {
            if sent < total {
                let n = chunk.withUnsafeBytes { Glibc.write(client, $0.baseAddress, min($0.count, total - sent)) }
                if n > 0 { sent += n }
            }
            if pipe.isEmpty, case .progress(let n) = pipe.fill(from: server, max: total - spliced, side: .upstream) {
                spliced += n
            }
            _ = pipe.drain(to: server2, side: .downstream)
            received += receive(client2)
        }
        XCTAssertEqual(received.count, total)
        XCTAssertTrue(
            received.enumerated().allSatisfy { $0.element == UInt8(truncatingIfNeeded: ($0.offset % 65536) >> 3) })
    }

    /// A drain without SPLICE_F_MORE goes out whole at once, its last partial segment included
    /// (response bodies: a held segment would wait for a pacing timer or the next drain,
    /// docs/architecture.md "Bodies by splice"), so a body's bytes reach the peer as they are
    /// drained, however they are cut.
    func testADrainSendsItsPartialSegmentAtOnce() throws {
        var pipe = try open()
        defer { pipe.close() }
        let (feeder, source) = try tcpPair()
        let (sink, reader) = try tcpPair()
        let bytes = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var received: [UInt8] = []
        for (offset, size) in [(0, 1000), (1000, 700), (1700, 1300)] {
            bytes[offset..<offset + size].withUnsafeBytes {
                XCTAssertEqual(Glibc.write(feeder, $0.baseAddress, size), size)
            }
            try poll(until: "the source holds the bytes", ms: 5000) { self.available(source) == size }
            XCTAssertEqual(pipe.fill(from: source, max: size, side: .upstream), .progress(size))
            XCTAssertEqual(pipe.drain(to: sink, side: .downstream), .progress(size))
            // Loopback delivers within the drain; a segment held back would not arrive at all.
            try poll(until: "the drain's \(size) bytes arrived", ms: 100) {
                received += self.receive(reader)
                return received.count == offset + size
            }
        }
        XCTAssertEqual(received, bytes)
    }

    /// SPLICE_F_MORE (request bodies): a drain that says more follows keeps a partial segment
    /// back (nothing in flight to be acked, so nothing pushes it), the next drain without it
    /// sends everything, in order.
    func testADrainSayingMoreFollowsHoldsAPartialSegmentUntilTheLastDrain() throws {
        var pipe = try open()
        defer { pipe.close() }
        let (feeder, source) = try tcpPair()
        let (sink, reader) = try tcpPair()
        let bytes = (0..<2000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        bytes.withUnsafeBytes { XCTAssertEqual(Glibc.write(feeder, $0.baseAddress, $0.count), 2000) }
        try poll(until: "the source holds the bytes", ms: 5000) { self.available(source) == 2000 }
        XCTAssertEqual(pipe.fill(from: source, max: 1000, side: .upstream), .progress(1000))
        XCTAssertEqual(pipe.drain(to: sink, side: .downstream, more: true), .progress(1000))
        XCTAssertEqual(available(reader), 0, "a partial segment with more to follow is held back")
        XCTAssertEqual(pipe.fill(from: source, max: 1000, side: .upstream), .progress(1000))
        XCTAssertEqual(pipe.drain(to: sink, side: .downstream, more: false), .progress(1000))
        var received: [UInt8] = []
        try poll(until: "every byte arrived", ms: 5000) {
            received += self.receive(reader)
            return received.count >= 2000
        }
        XCTAssertEqual(received, bytes)
    }

    /// Bytes waiting in a socket's receive queue (FIONREAD).
    private func available(_ fd: Int32) -> Int {
        var n: Int32 = 0
        XCTAssertEqual(ioctl(fd, UInt(FIONREAD), &n), 0)
        return Int(n)
    }

    /// Polls `condition` every millisecond until it holds, failing after `ms` milliseconds.
    private func poll(until what: String, ms: Int, _ condition: () -> Bool) throws {
        for _ in 0..<ms {
            if condition() { return }
            usleep(1000)
        }
        XCTFail("timed out waiting until \(what)")
    }

    /// A connected non-blocking loopback TCP pair.
    private func tcpPair() throws -> (Int32, Int32) {
        let listener = try Socket.listenTCP(
            address: UInt32(bigEndian: 0x7F00_0001), port: 0, transparent: false, reusePort: false)
        defer { _ = Glibc.close(listener) }
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        let client = try Socket.connectTCP(
            address: address.sin_addr.s_addr, port: UInt16(bigEndian: address.sin_port), mark: 0)
        fds.append(client)
        var accepted: Socket.Accepted?
        for _ in 0..<1000 where accepted == nil {
            accepted = try Socket.accept(listener)
            if accepted == nil { usleep(1000) }
        }
        let server = try XCTUnwrap(accepted).fd
        fds.append(server)
        return (client, server)
    }
}
