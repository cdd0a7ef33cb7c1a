import CSluiceShared
import DNS
import Flows
import Foundation
import Glibc
import Policy
import SluiceIO
import SluiceModel

@testable import Proxy

/// Queries, answers and UDP sockets on loopback for the DNS proxy tests.
enum DNSTest {
    static let loopback = UInt32(0x0100_007F)

    /// A query for `name` (A) with `id`.
    static func query(_ name: String, id: UInt16, type: RRType = .a) -> [UInt8] {
        // Test names are valid presentation names.
        let domain = (try? DomainName(name)) ?? .root
        return DNSSerializer.serialize(
            DNSMessage(
                header: DNSHeader(id: id, rd: true),
                questions: [Question(name: domain, type: type)]))
    }

    /// A non-blocking-free UDP socket bound to 127.0.0.1:0 with a receive timeout.
    static func udpSocket(timeoutMs: Int = 2000) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = loopback
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        var tv = timeval(tv_sec: timeoutMs / 1000, tv_usec: (timeoutMs % 1000) * 1000)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    static func port(of fd: Int32) -> UInt16 { DNSSocket.localAddress(fd)?.port ?? 0 }

    static func send(_ fd: Int32, _ bytes: [UInt8], port: UInt16) {
        _ = bytes.withUnsafeBytes { DNSSocket.send(fd, $0, to: DNSEndpointAddress(address: loopback, port: port)) }
    }

    /// Whether no datagram is waiting on `fd` right now (a non-blocking peek).
    static func nothingToRead(_ fd: Int32) -> Bool {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
    }

    /// One datagram (blocking with the socket's timeout), or nil.
    static func receive(_ fd: Int32) -> (bytes: [UInt8], port: UInt16)? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        var from = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let n = buffer.withUnsafeMutableBytes { b in
            withUnsafeMutablePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(fd, b.baseAddress, b.count, 0, $0, &length)
                }
            }
        }
        guard n > 0 else { return nil }
        return (Array(buffer[0..<n]), UInt16(bigEndian: from.sin_port))
    }
}

/// A DNS server on 127.0.0.1 (its own thread): answers names under `silent.test.` never, every
/// other name with an A record 192.0.2.<n> (TTL 30), and remembers the IDs it saw. After
/// `holdAnswers(until:)` it keeps its answers until that many queries have come, then sends them
/// all: every one of those queries is in flight at once.
final class DNSFakeUpstream {
    let fd: Int32
    let port: UInt16
    private let lock = NSLock()
    private var ids: [UInt16] = []
    private var holdUntil = 0
    private var held: [(bytes: [UInt8], port: UInt16)] = []
    private var thread: Thread?
    private var stopped = false
    private let served = DispatchSemaphore(value: 0)

    init() {
        fd = DNSTest.udpSocket(timeoutMs: 100)
        port = DNSTest.port(of: fd)
        let thread = Thread { [unowned self] in
            self.serve()
            self.served.signal()
        }
        self.thread = thread
        thread.start()
    }

    /// Stops the server thread (it sees `stopped` within its 100 ms receive timeout) and waits
    /// for it to return before closing its socket.
    func stop() {
        lock.lock()
        stopped = true
        lock.unlock()
        served.wait()
        close(fd)
    }

    /// Answers are kept until `count` queries (counted from the first) have come.
    func holdAnswers(until count: Int) {
        lock.lock()
        holdUntil = count
        lock.unlock()
    }

    var receivedIDs: [UInt16] {
        lock.lock()
        defer { lock.unlock() }
        return ids
    }

    private func serve() {
        while true {
            lock.lock()
            let stop = stopped
            lock.unlock()
            if stop { return }
            guard let (bytes, port) = DNSTest.receive(fd) else { continue }
            guard var message = try? bytes.withUnsafeBytes({ try DNSParser.parse($0) }),
                let question = message.questions.first
            else { continue }
            lock.lock()
            ids.append(message.header.id)
            let n = UInt8(ids.count % 250)
            lock.unlock()
            if question.name.lowercasedText.hasSuffix("silent.test.") { continue }
            message.header.qr = true
            message.header.ra = true
            message.answers = [ResourceRecord(name: question.name, ttl: 30, rdata: .a(IPv4Address(192, 0, 2, n)))]
            lock.lock()
            held.append((DNSSerializer.serialize(message), port))
            let release = ids.count >= holdUntil ? held : []
            if !release.isEmpty { held.removeAll() }
            lock.unlock()
            for answer in release { DNSTest.send(fd, answer.bytes, port: answer.port) }
        }
    }
}
