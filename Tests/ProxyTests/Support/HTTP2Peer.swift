import Foundation
import Glibc
import HTTP2
import SluiceModel

/// The test side of an HTTP/2 connection: an `HTTP2Session` over a blocking `TestSocket`'s
/// descriptor. Every DATA byte received is consumed at once (credit returned), every event is
/// kept in `events`. Reads time out with the socket's receive timeout; a timeout is not a close.
final class HTTP2Peer {
    /// How the last `pump` stopped reading, when it did not get what it waited for.
    enum End: Equatable {
        case open
        /// The proxy closed the connection (FIN).
        case eof
        /// The proxy reset it (RST).
        case reset
        /// Nothing arrived within the socket's receive timeout: the connection may still be open.
        case timeout
        /// This side's session rejected the bytes it received.
        case protocolError
    }

    let socket: TestSocket
    let session: HTTP2Session
    private(set) var events: [HTTP2Event] = []
    private(set) var end: End = .open
    /// Whether the proxy closed the connection (EOF or reset), as opposed to going silent.
    var closed: Bool { end == .eof || end == .reset }
    /// Bytes received before the HTTP/2 part (an h2c 101 answer), when `readHTTP1Head` was used.
    private var early: [UInt8] = []

    /// `limits`: what this side advertises (a stream window of 0 makes a peer that never takes
    /// body bytes).
    init(socket: TestSocket, role: HTTP2Session.Role, limits: HTTP2Limits = .default) throws {
        self.socket = socket
        session = try HTTP2Session(role: role, limits: limits, clock: ManualClock(startNs: 0))
    }

    /// Sends whatever the session has queued.
    func flush() {
        while let chunk = try? session.produce() { socket.send(Array(chunk)) }
        collect()
    }

    private func collect() {
        for e in session.takeEvents() {
            if case .data(let id, let bytes) = e { session.consume(stream: id, bytes.count) }
            events.append(e)
        }
    }

    /// Reads and processes until `done(events)` holds, the connection ends or a read times out.
    @discardableResult
    func pump(until done: ([HTTP2Event]) -> Bool) -> Bool {
        flush()
        if !early.isEmpty {
            let bytes = early
            early = []
            try? bytes.withUnsafeBytes { try session.receive($0) }
            collect()
            flush()
        }
        var buf = [UInt8](repeating: 0, count: 65536)
        while !done(events) {
            let n = buf.withUnsafeMutableBytes { recv(socket.fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                let e = errno
                end = n == 0 ? .eof : (e == EAGAIN || e == EWOULDBLOCK ? .timeout : .reset)
                return done(events)
            }
            do {
                try buf[..<n].withUnsafeBytes { try session.receive($0) }
            } catch {
                end = .protocolError
                return false
            }
            collect()
            flush()
        }
        return true
    }

    /// Reads an HTTP/1 head (through CRLFCRLF) with raw reads; bytes after it wait for `pump`.
    func readHTTP1Head() -> String {
        var got: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        let marker = Array("\r\n\r\n".utf8)
        while true {
            if let r = got.indices.first(where: { got[$0...].starts(with: marker) }) {
                early = Array(got[(r + 4)...])
                return String(decoding: got[..<(r + 4)], as: UTF8.self)
            }
            let n = buf.withUnsafeMutableBytes { recv(socket.fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return String(decoding: got, as: UTF8.self) }
            got += buf[..<n]
        }
    }

    /// Body bytes received on `stream`.
    func body(_ stream: Int32) -> [UInt8] {
        events.reduce(into: []) { acc, e in if case .data(stream, let b) = e { acc += b } }
    }

    /// The header blocks received on `stream`, in order.
    func headers(_ stream: Int32) -> [HTTP2HeaderBlock] {
        events.compactMap { if case .headers(stream, let b, _, _) = $0 { return b } else { return nil } }
    }

    func isClosed(_ stream: Int32) -> Bool {
        events.contains { if case .closed(stream, _) = $0 { return true } else { return false } }
    }

    var goaway: UInt32? {
        for e in events { if case .goaway(_, let code) = e { return code } }
        return nil
    }

    static func request(_ method: String, _ path: String, _ extra: [(String, String)] = []) -> HTTP2HeaderBlock {
        HTTP2HeaderBlock(
            [(":method", method), (":scheme", "http"), (":authority", "backend"), (":path", path)] + extra)
    }

    /// An h2c upstream for `UpstreamServer`: answers each request when it ends. `/allowed/big`
    /// gets 1 MiB of "b"; paths ending in `/refuse-once` RST_STREAM(REFUSED_STREAM) the first time; paths ending in `/grpc` a gRPC answer with trailers; anything else
    /// "ok METHOD PATH BODYBYTES".
    static let upstreamScript: (TestSocket) -> Void = { socket in
        guard let peer = try? HTTP2Peer(socket: socket, role: .server) else { return }
        socket.setTimeout(seconds: 10)
        var requests: [Int32: HTTP2HeaderBlock] = [:]
        var received: [Int32: Int] = [:]
        var answered = 0
        var seen = 0
        var refused: Set<String> = []
        while peer.pump(until: { $0.count > seen }) {
            let fresh = peer.events[seen...]
            seen = peer.events.count
            for e in fresh {
                var ended: Int32?
                switch e {
                case .headers(let id, let b, .request, let end):
                    requests[id] = b
                    if end { ended = id }
                case .data(let id, let bytes): received[id, default: 0] += bytes.count
                case .endStream(let id): ended = id
                default: break
                }
                guard let id = ended, let req = requests[id] else { continue }
                answered += 1
                let path = req.text(of: ":path") ?? ""
                if path.hasSuffix("/refuse-once") && !refused.contains(path) {
                    // RFC 9113 8.7: not processed, safe to retry.
                    refused.insert(path)
                    peer.session.reset(stream: id, errorCode: 7)
                } else if path == "/allowed/big" {
                    try? peer.session.submitResponse(stream: id, HTTP2HeaderBlock([(":status", "200")]), hasBody: true)
                    peer.session.append(stream: id, [UInt8](repeating: 0x62, count: 1 << 20))
                    peer.session.end(stream: id)
                } else if path.hasSuffix("/grpc") {
                    try? peer.session.submitResponse(
                        stream: id,
                        HTTP2HeaderBlock([
                            (":status", "200"),
                            ("content-type", "application/grpc"),
                        ]), hasBody: true)
                    peer.session.append(stream: id, [0, 0, 0, 0, 0])
                    peer.session.end(stream: id, trailers: HTTP2HeaderBlock([("grpc-status", "0")]))
                } else {
                    let body = Array("ok \(req.text(of: ":method") ?? "") \(path) \(received[id] ?? 0)".utf8)
                    try? peer.session.submitResponse(stream: id, HTTP2HeaderBlock([(":status", "200")]), hasBody: true)
                    peer.session.append(stream: id, body)
                    peer.session.end(stream: id)
                }
            }
        }
    }
}
