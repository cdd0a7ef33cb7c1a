import Glibc
import HTTP2
import HubbleProto
import SluiceIO
import SluiceModel

/// A blocking gRPC client of one Observer API server (`sluice observe --server`, the tests):
/// plaintext HTTP/2 with prior knowledge over one TCP connection, one call at a time. The caller's
/// thread blocks in poll(2) with `timeoutMs` per wait.
public final class ObserverClient {
    /// A call that did not end with grpc-status 0, or a connection that failed.
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public var status: Int
        public var message: String
        public var description: String { status < 0 ? message : "grpc-status \(status): \(message)" }
    }

    private let fd: Int32
    private let session: HTTP2Session
    private let authority: String
    public let timeoutMs: Int32

    /// Connects to `host:port` (IPv4); `timeoutMs` bounds each wait for the server (-1: none).
    public init(host: IPv4Address, port: UInt16, timeoutMs: Int32 = 10_000) throws(Failure) {
        authority = host.description + ":" + String(port)
        self.timeoutMs = timeoutMs
        let fd: Int32
        do {
            fd = try Socket.connectTCP(address: host.networkOrder, port: port, mark: 0)
        } catch {
            throw Failure(status: -1, message: "connect \(authority): \(error)")
        }
        self.fd = fd
        do {
            session = try HTTP2Session(role: .client, clock: SystemClock())
        } catch {
            Socket.close(fd)
            throw Failure(status: -1, message: "HTTP/2 session: \(error)")
        }
        // The connect gets at most 30 s even when calls may wait forever (`timeoutMs` -1: follow).
        let connectMs = timeoutMs < 0 ? 30_000 : timeoutMs
        guard Self.wait(fd, events: Int16(POLLOUT), timeoutMs: connectMs), Socket.pendingError(fd) == 0 else {
            Socket.close(fd)
            throw Failure(
                status: -1, message: "connect \(authority): \(String(cString: strerror(Socket.pendingError(fd))))")
        }
    }

    deinit {
        Socket.close(fd)
        session.close()
    }

    /// Calls `path` with `request` (a serialized message); `onMessage` gets each response message
    /// and returns false to cancel the call (RST_STREAM CANCEL, then this returns normally).
    /// Throws when the status is not OK or the connection fails.
    /// `timeoutHeader`: a `grpc-timeout` value sent with the call (`10S`), the server's deadline.
    public func call(
        path: String, request: [UInt8], timeoutHeader: String? = nil, onMessage: (ArraySlice<UInt8>) throws -> Bool
    ) throws {
        var headers = HTTP2HeaderBlock([
            (":method", "POST"), (":scheme", "http"), (":path", path), (":authority", authority),
            ("content-type", "application/grpc"), ("te", "trailers"), ("user-agent", "sluice-observe"),
        ])
        if let timeoutHeader { headers.append(name: "grpc-timeout", value: timeoutHeader) }
        let stream: Int32
        do {
            stream = try session.submitRequest(headers, hasBody: true)
        } catch {
            throw Failure(status: -1, message: "request: \(error)")
        }
        session.append(stream: stream, GRPCWire.frame(request))
        session.end(stream: stream)
        var body: [UInt8] = []
        var status: Int?
        var message = ""
        var httpStatus = ""
        let buffer = IOBuffer(capacity: 64 * 1024, limit: 64 * 1024)
        while status == nil {
            try flushOut()
            guard Self.wait(fd, events: Int16(POLLIN), timeoutMs: timeoutMs) else {
                throw Failure(
                    status: GRPCWire.Status.deadlineExceeded.rawValue, message: "no answer within \(timeoutMs) ms")
            }
            buffer.clear()
            switch Socket.readStep(fd, into: buffer, side: .upstream) {
            case .blocked: continue
            case .closed:
                throw Failure(status: GRPCWire.Status.unavailable.rawValue, message: "connection closed by the server")
            case .progress:
                do {
                    try session.receive(buffer.readable)
                } catch {
                    throw Failure(status: -1, message: "HTTP/2: \(error)")
                }
            }
            for event in session.takeEvents() {
                switch event {
                case .headers(let s, let block, _, _) where s == stream:
                    if let code = block.text(of: ":status") { httpStatus = code }
                    if let code = block.text(of: "grpc-status") {
                        status = Int(code) ?? GRPCWire.Status.unknown.rawValue
                        message = GRPCWire.percentDecoded(block.text(of: "grpc-message") ?? "")
                    }
                case .data(let s, let bytes) where s == stream:
                    session.consume(stream: s, bytes.count)
                    body.append(contentsOf: bytes)
                    while case .message(let m, let consumed) = GRPCWire.deframe(body[...]) {
                        let more = try onMessage(m)
                        body.removeFirst(consumed)
                        if !more {
                            session.reset(stream: stream, errorCode: 8)
                            try flushOut()
                            return
                        }
                    }
                    if case .invalid(let why) = GRPCWire.deframe(body[...]) {
                        throw Failure(status: GRPCWire.Status.internalError.rawValue, message: why)
                    }
                case .reset(let s, let code) where s == stream:
                    throw Failure(
                        status: GRPCWire.Status.internalError.rawValue, message: "stream reset by the server (\(code))")
                case .closed(let s, _) where s == stream && status == nil:
                    throw Failure(
                        status: GRPCWire.Status.internalError.rawValue,
                        message: httpStatus == "200" || httpStatus.isEmpty
                            ? "stream closed without grpc-status" : "HTTP status \(httpStatus)")
                case .goaway(_, let code) where code != 0:
                    throw Failure(status: GRPCWire.Status.unavailable.rawValue, message: "GOAWAY \(code)")
                default: break
                }
            }
        }
        if status != 0 { throw Failure(status: status ?? -1, message: message) }
    }

    /// A unary call's one response message.
    public func unary(path: String, request: [UInt8] = []) throws -> [UInt8] {
        var answer: [UInt8]?
        try call(path: path, request: request) {
            answer = Array($0)
            return true
        }
        guard let answer else {
            throw Failure(status: GRPCWire.Status.internalError.rawValue, message: "no response message")
        }
        return answer
    }

    private func flushOut() throws(Failure) {
        while true {
            let chunk: UnsafeRawBufferPointer?
            do {
                chunk = try session.produce()
            } catch {
                throw Failure(status: -1, message: "HTTP/2: \(error)")
            }
            guard let chunk else { return }
            let bytes = Array(chunk)
            var offset = 0
            while offset < bytes.count {
                let step = bytes.withUnsafeBytes {
                    Socket.writeStep(fd, UnsafeRawBufferPointer(rebasing: $0[offset...]), side: .upstream)
                }
                switch step {
                case .progress(let n): offset += n
                case .blocked:
                    guard Self.wait(fd, events: Int16(POLLOUT), timeoutMs: timeoutMs) else {
                        throw Failure(status: -1, message: "write timed out")
                    }
                case .closed:
                    throw Failure(
                        status: GRPCWire.Status.unavailable.rawValue, message: "connection closed by the server")
                }
            }
        }
    }

    private static func wait(_ fd: Int32, events: Int16, timeoutMs: Int32) -> Bool {
        var p = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let r = poll(&p, 1, timeoutMs)
            if r < 0 && errno == EINTR { continue }
            return r > 0
        }
    }
}

extension ObserverClient {
    /// `--server` spellings: `HOST:PORT`, `HOST` (Hubble's 4244), an optional `tcp://`; HOST an
    /// IPv4 address or `localhost`.
    public static func address(_ text: String) -> (host: IPv4Address, port: UInt16)? {
        var rest = Substring(text)
        if rest.hasPrefix("tcp://") { rest = rest.dropFirst(6) }
        var hostText = rest
        var port: UInt16 = 4244
        if let colon = rest.lastIndex(of: ":") {
            guard let p = UInt16(rest[rest.index(after: colon)...]) else { return nil }
            port = p
            hostText = rest[..<colon]
        }
        guard let host = hostText == "localhost" ? IPv4Address(127, 0, 0, 1) : IPv4Address(hostText) else { return nil }
        return (host, port)
    }

    /// `GetFlows` with `request`: each response (flow or lost events) to `onEvent`, which returns
    /// false to cancel (a follow stream).
    public func flows(_ request: GetFlowsRequest, onEvent: (GetFlowsResponse.Decoded) throws -> Bool) throws {
        try call(path: "/observer.Observer/GetFlows", request: request.bytes) {
            try onEvent(GetFlowsResponse.decode($0))
        }
    }
}
