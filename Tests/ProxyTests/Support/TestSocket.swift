import Foundation
import Glibc

/// A blocking loopback TCP socket for tests: every read has a receive timeout so a broken proxy
/// fails the test instead of hanging it, and every byte read is also kept in `received` so a test
/// can assert on exactly what arrived. Reads and writes happen on one thread at a time; `received`
/// may be read from any thread.
final class TestSocket {
    /// How a read ended when it did not get what it wanted.
    enum End: Equatable {
        case open
        case eof
        case reset
        case timeout
    }

    let fd: Int32
    private var pending: [UInt8] = []
    private let lock = NSLock()
    private var log: [UInt8] = []
    private(set) var end: End = .open

    /// Adopts a connected blocking descriptor; reads time out after `timeoutSeconds`.
    init(fd: Int32, timeoutSeconds: Int = 5) {
        self.fd = fd
        setTimeout(seconds: timeoutSeconds)
        // Each send goes out at once, so a test's split writes reach the proxy as split reads.
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { Glibc.close(fd) }

    /// Connects to 127.0.0.1:`port`.
    static func connect(port: UInt16) -> TestSocket? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var addr = Loopback.address(port: port)
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard r == 0 else {
            Glibc.close(fd)
            return nil
        }
        return TestSocket(fd: fd)
    }

    func setTimeout(seconds: Int, microseconds: Int = 0) {
        var tv = timeval(tv_sec: seconds, tv_usec: microseconds)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Every byte read so far.
    var received: [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        return log
    }

    func send(_ text: String) { send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            sent += n
        }
    }

    /// Whether nothing is waiting to be read right now: a non-blocking peek, `end` unchanged.
    /// Bytes the proxy wrote on loopback before a `drain`/`advance` returned are already here.
    var nothingToRead: Bool {
        guard pending.isEmpty else { return false }
        var byte: UInt8 = 0
        let n = Glibc.recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
    }

    func shutdownWrite() { _ = Glibc.shutdown(fd, Int32(SHUT_WR)) }

    /// One read(2) into `pending`; false when the stream ended (see `end`).
    private func fill() -> Bool {
        guard end == .open else { return false }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                pending += chunk[0..<n]
                lock.lock()
                log += chunk[0..<n]
                lock.unlock()
                return true
            }
            if n == 0 {
                end = .eof
            } else {
                let e = errno
                if e == EINTR { continue }
                end = e == ECONNRESET ? .reset : (e == EAGAIN || e == EWOULDBLOCK ? .timeout : .reset)
            }
            return false
        }
    }

    private func take(_ n: Int) -> [UInt8] {
        let out = Array(pending.prefix(n))
        pending.removeFirst(out.count)
        return out
    }

    /// Exactly `n` bytes, or fewer when the stream ends first.
    func read(exactly n: Int) -> [UInt8] {
        while pending.count < n && fill() {}
        return take(n)
    }

    /// Bytes up to and including `marker`, or everything left when the stream ends first.
    func read(through marker: String) -> [UInt8] {
        let m = Array(marker.utf8)
        var from = 0
        while true {
            if pending.count >= m.count {
                var i = from
                while i + m.count <= pending.count {
                    if pending[i] == m[0] && Array(pending[i..<i + m.count]) == m { return take(i + m.count) }
                    i += 1
                }
                from = max(0, pending.count - m.count + 1)
            }
            if !fill() { return take(pending.count) }
        }
    }

    /// Everything until EOF, reset or timeout.
    func readToEnd() -> [UInt8] {
        while fill() {}
        return take(pending.count)
    }

    /// One HTTP/1.1 message read by its framing (the test side's own minimal reader):
    /// Content-Length, chunked (no trailers), or to EOF; no body when `bodiless` or for 1xx/204/304.
    func readMessage(bodiless: Bool = false) -> [UInt8] {
        var message = read(through: "\r\n\r\n")
        guard message.suffix(4) == Array("\r\n\r\n".utf8) else { return message }
        let head = String(decoding: message, as: UTF8.self).lowercased()
        let status = head.hasPrefix("http/") ? Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0 : 0
        if bodiless || (100..<200).contains(status) || status == 204 || status == 304 { return message }
        if let length = HeaderText.value("content-length", in: head).flatMap({ Int($0) }) {
            return message + read(exactly: length)
        }
        if HeaderText.value("transfer-encoding", in: head) == "chunked" {
            while true {
                let line = read(through: "\r\n")
                message += line
                let size =
                    Int(
                        String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines),
                        radix: 16) ?? 0
                message += read(exactly: size + 2)
                if size == 0 || end != .open && pending.isEmpty { return message }
            }
        }
        if status == 0 { return message }  // a request head without a body
        return message + readToEnd()
    }
}

/// Header lookup in a lower-cased head (test side only).
enum HeaderText {
    static func value(_ name: String, in head: String) -> String? {
        for line in head.components(separatedBy: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            if line[..<colon] == name {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }
}

/// 127.0.0.1 helpers.
enum Loopback {
    /// 127.0.0.1 in network byte order, as `ConnectionAddresses` and the flow records hold it.
    static let networkOrder: UInt32 = 0x0100_007F

    static func address(port: UInt16) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = networkOrder
        return addr
    }

    /// A blocking listener on 127.0.0.1 with an ephemeral port.
    static func listen(backlog: Int32 = 64) -> (fd: Int32, port: UInt16)? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = address(port: 0)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, Glibc.listen(fd, backlog) == 0 else {
            Glibc.close(fd)
            return nil
        }
        return (fd, localPort(fd))
    }

    static func localPort(_ fd: Int32) -> UInt16 {
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return UInt16(bigEndian: addr.sin_port)
    }

    /// Whether a (non-blocking) socket's connect has completed: it has a peer.
    static func isConnected(_ fd: Int32) -> Bool {
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        return withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &len) }
        } == 0
    }

    static func peerPort(_ fd: Int32) -> UInt16 {
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &len) }
        }
        return UInt16(bigEndian: addr.sin_port)
    }

    /// A port on 127.0.0.1 with no listener (bound then closed), so a connect is refused.
    static func closedPort() -> UInt16 {
        guard let l = listen() else { return 1 }
        Glibc.close(l.fd)
        return l.port
    }
}
