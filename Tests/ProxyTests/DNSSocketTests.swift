import Glibc
import XCTest

@testable import Proxy

/// recvmmsg and sendmmsg of the DNS proxy on real loopback sockets.
final class DNSSocketTests: XCTestCase {
    private let loopback = UInt32(0x7F00_0001).bigEndian

    func testOutboxSendsRunsPerSocketInOrderAndCountsFailures() throws {
        let senderA = DNSTest.udpSocket(), senderB = DNSTest.udpSocket()
        let receiver1 = DNSTest.udpSocket(), receiver2 = DNSTest.udpSocket()
        defer { for fd in [senderA, senderB, receiver1, receiver2] { close(fd) } }
        let to1 = DNSEndpointAddress(address: loopback, port: DNSTest.port(of: receiver1))
        let to2 = DNSEndpointAddress(address: loopback, port: DNSTest.port(of: receiver2))
        let nowhere = DNSEndpointAddress(address: loopback, port: 0)  // sendto to port 0: EINVAL

        let outbox = DNSSocket.Outbox(capacity: 8, arenaBytes: 64)
        func queue(_ text: String, _ fd: Int32, _ to: DNSEndpointAddress) -> Bool {
            Array(text.utf8).withUnsafeBytes { outbox.append($0, fd: fd, to: to) }
        }
        XCTAssertTrue(queue("a1", senderA, to1))
        XCTAssertTrue(queue("a2", senderA, to2))
        XCTAssertTrue(queue("bad", senderA, nowhere))
        XCTAssertTrue(queue("a3", senderA, to1))
        XCTAssertTrue(queue("b1", senderB, to1))
        XCTAssertTrue(queue("", senderB, to2))
        XCTAssertFalse(queue(String(repeating: "x", count: 40), senderB, to2), "past the arena")
        XCTAssertEqual(outbox.count, 6)
        XCTAssertEqual(outbox.flush(), 1)
        XCTAssertEqual(outbox.count, 0)

        func texts(_ fd: Int32, _ n: Int) -> [String] {
            (0..<n).compactMap { _ in DNSTest.receive(fd).map { String(decoding: $0.bytes, as: UTF8.self) } }
        }
        XCTAssertEqual(texts(receiver1, 3), ["a1", "a3", "b1"])
        // the empty datagram is delivered too (recvfrom returns 0, which the helper reports as nil)
        XCTAssertEqual(texts(receiver2, 1), ["a2"])
        // after a flush the arena is free again
        XCTAssertTrue(queue(String(repeating: "y", count: 40), senderB, to2))
        XCTAssertEqual(outbox.flush(), 0)
        XCTAssertEqual(texts(receiver2, 2).last, String(repeating: "y", count: 40))
    }

    func testBatchReceivesUpToItsSizeThenTheRest() throws {
        let receiver = DNSTest.udpSocket(), sender = DNSTest.udpSocket()
        defer { close(receiver); close(sender) }
        _ = fcntl(receiver, F_SETFL, fcntl(receiver, F_GETFL) | O_NONBLOCK)
        let port = DNSTest.port(of: receiver)
        for i in 0..<7 { DNSTest.send(sender, Array("m\(i)".utf8), port: port) }
        let batch = DNSSocket.Batch(count: 4, slotSize: 16)
        var got: [String] = []
        var rounds: [Int] = []
        loop: while true {
            switch DNSSocket.receiveBatch(receiver, into: batch) {
            case .received(let n):
                rounds.append(n)
                for i in 0..<n {
                    let (bytes, d) = batch.datagram(i)
                    XCTAssertEqual(d.source.port, DNSTest.port(of: sender))
                    XCTAssertFalse(d.truncated)
                    got.append(String(decoding: UnsafeRawBufferPointer(bytes), as: UTF8.self))
                }
            case .wouldBlock:
                break loop
            case .error(let e):
                XCTFail("errno \(e)")
                break loop
            }
        }
        XCTAssertEqual(rounds, [4, 3])
        XCTAssertEqual(got, (0..<7).map { "m\($0)" })
        // a datagram longer than its slot is marked truncated
        DNSTest.send(sender, Array(String(repeating: "z", count: 40).utf8), port: port)
        guard case .received(1) = DNSSocket.receiveBatch(receiver, into: batch) else { return XCTFail("no datagram") }
        XCTAssertTrue(batch.datagram(0).datagram.truncated)
    }
    /// The forwarder shares one socket among clients and marks each query with its client's
    /// identity for that datagram only (SO_MARK control message), seen here through SO_RCVMARK.
    func testEachDatagramCarriesItsOwnMark() throws {
        let sender = DNSTest.udpSocket(), receiver = DNSTest.udpSocket()
        defer { close(sender); close(receiver) }
        var on: Int32 = 1
        let soRcvMark: Int32 = 75  // SO_RCVMARK (asm-generic/socket.h, Linux 5.19)
        XCTAssertEqual(setsockopt(receiver, SOL_SOCKET, soRcvMark, &on, socklen_t(MemoryLayout<Int32>.size)), 0)
        let to = DNSEndpointAddress(address: loopback, port: DNSTest.port(of: receiver))
        let marks = [ProxyMarks.fromProxy(identity: 257), ProxyMarks.fromProxy(identity: 0x0100_0005)]
        for mark in marks {
            XCTAssertEqual(Array("q".utf8).withUnsafeBytes { DNSSocket.send(sender, $0, to: to, mark: mark) }, 0)
        }
        XCTAssertEqual([receivedMark(receiver), receivedMark(receiver)], marks.map { Optional($0) })
    }

    /// recvmsg of one datagram; the SOL_SOCKET/SO_MARK control message's value.
    private func receivedMark(_ fd: Int32) -> UInt32? {
        var byte: UInt8 = 0
        var control = [UInt8](repeating: 0, count: 64)
        return withUnsafeMutablePointer(to: &byte) { bytePointer in
            control.withUnsafeMutableBytes { controlBytes -> UInt32? in
                var iov = iovec(iov_base: UnsafeMutableRawPointer(bytePointer), iov_len: 1)
                return withUnsafeMutablePointer(to: &iov) { iovPointer -> UInt32? in
                    var msg = msghdr()
                    msg.msg_iov = iovPointer
                    msg.msg_iovlen = 1
                    msg.msg_control = controlBytes.baseAddress
                    msg.msg_controllen = controlBytes.count
                    guard recvmsg(fd, &msg, 0) >= 0 else { return nil }
                    // struct cmsghdr { size_t len; int level; int type; } then the data, each
                    // message padded to 8 bytes (CMSG_* are macros Swift cannot import).
                    var offset = 0
                    while offset + 16 <= msg.msg_controllen {
                        let length = Int(controlBytes.load(fromByteOffset: offset, as: UInt64.self))
                        let level = controlBytes.load(fromByteOffset: offset + 8, as: Int32.self)
                        let type = controlBytes.load(fromByteOffset: offset + 12, as: Int32.self)
                        if level == SOL_SOCKET && type == SO_MARK && length >= 20 {
                            return controlBytes.loadUnaligned(fromByteOffset: offset + 16, as: UInt32.self)
                        }
                        guard length >= 16 else { return nil }
                        offset += (length + 7) & ~7
                    }
                    return nil
                }
            }
        }
    }
}
