import COpenSSL
import Glibc
import HTTP2
import HubbleProto
import SluiceIO
import SluiceModel

/// A blocking gRPC client of one Observer API server (`sluice observe --server`, the tests):
/// plaintext HTTP/2 with prior knowledge over one TCP connection, or HTTP/2 over TLS (ALPN h2)
/// when given `TLSOptions`, one call at a time. The caller's thread blocks in poll(2) with
/// `timeoutMs` per wait.
public final class ObserverClient {
    /// TLS toward the server (Hubble CLI's `--tls-ca-cert-files`, `--tls-client-cert-file`,
    /// `--tls-client-key-file`, `--tls-server-name`): the server's certificate must verify
    /// against `caFile` (nil: the system's CAs) and name `serverName` (default: the address
    /// connected to).
    public struct TLSOptions: Equatable, Sendable {
        public var caFile: String?
        public var certificateFile: String?
        public var keyFile: String?
        public var serverName: String?

        public init(caFile: String?, certificateFile: String? = nil, keyFile: String? = nil, serverName: String? = nil)
        {
            self.caFile = caFile
            self.certificateFile = certificateFile
            self.keyFile = keyFile
            self.serverName = serverName
        }
    }

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
    private var context: OpaquePointer?
    private var ssl: OpaquePointer?

    /// Connects to `host:port` (IPv4); `timeoutMs` bounds each wait for the server (-1: none).
    public init(host: IPv4Address, port: UInt16, timeoutMs: Int32 = 10_000, tls: TLSOptions? = nil) throws(Failure) {
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
        // Every property is set from here: a throw runs deinit, which closes the socket.
        guard Self.wait(fd, events: Int16(POLLOUT), timeoutMs: connectMs), Socket.pendingError(fd) == 0 else {
            throw Failure(
                status: -1, message: "connect \(authority): \(String(cString: strerror(Socket.pendingError(fd))))")
        }
        if let tls {
            do {
                try handshake(tls, host: host, connectMs: connectMs)
            } catch {
                // Every property is set: deinit runs and closes the socket and the session.
                if let ssl { SSL_free(ssl) }
                if let context { SSL_CTX_free(context) }
                ssl = nil
                context = nil
                throw error
            }
        }
    }

    deinit {
        if let ssl {
            _ = SSL_shutdown(ssl)
            SSL_free(ssl)
        }
        if let context { SSL_CTX_free(context) }
        Socket.close(fd)
        session.close()
    }

    private func handshake(_ tls: TLSOptions, host: IPv4Address, connectMs: Int32) throws(Failure) {
        func fail(_ what: String) -> Failure {
            Failure(status: GRPCWire.Status.unavailable.rawValue, message: "TLS \(authority): \(what)")
        }
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw fail(ObserverTLS.openSSLError()) }
        context = ctx
        _ = sluice_SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)
        if let caFile = tls.caFile {
            guard SSL_CTX_load_verify_locations(ctx, caFile, nil) == 1 else {
                throw fail("cannot load CA file \(caFile): \(ObserverTLS.openSSLError())")
            }
        } else {
            _ = SSL_CTX_set_default_verify_paths(ctx)
        }
        if let certificate = tls.certificateFile {
            guard SSL_CTX_use_certificate_chain_file(ctx, certificate) == 1,
                SSL_CTX_use_PrivateKey_file(ctx, tls.keyFile ?? certificate, SSL_FILETYPE_PEM) == 1
            else { throw fail("cannot load client certificate \(certificate): \(ObserverTLS.openSSLError())") }
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        let alpn: [UInt8] = [2, UInt8(ascii: "h"), UInt8(ascii: "2")]
        _ = SSL_CTX_set_alpn_protos(ctx, alpn, UInt32(alpn.count))
        guard let ssl = SSL_new(ctx) else { throw fail(ObserverTLS.openSSLError()) }
        self.ssl = ssl
        _ = SSL_set_fd(ssl, fd)
        let name = tls.serverName ?? host.description
        if tls.serverName != nil {
            _ = sluice_SSL_set_tlsext_host_name(ssl, name)
            _ = SSL_set1_host(ssl, name)
        } else {
            _ = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name)
        }
        SSL_set_connect_state(ssl)
        while true {
            let n = SSL_do_handshake(ssl)
            if n == 1 { break }
            let error = SSL_get_error(ssl, n)
            let events: Int16
            switch error {
            case SSL_ERROR_WANT_READ: events = Int16(POLLIN)
            case SSL_ERROR_WANT_WRITE: events = Int16(POLLOUT)
            default:
                let verify = SSL_get_verify_result(ssl)
                if verify != X509_V_OK {
                    ERR_clear_error()
                    throw fail("server certificate: " + String(cString: X509_verify_cert_error_string(verify)))
                }
                throw fail("handshake failed: \(ObserverTLS.openSSLError())")
            }
            guard Self.wait(fd, events: events, timeoutMs: connectMs) else { throw fail("handshake timed out") }
        }
        var selected: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &selected, &length)
        guard length == 2, let selected, selected[0] == UInt8(ascii: "h"), selected[1] == UInt8(ascii: "2") else {
            throw fail("the server did not select h2 by ALPN")
        }
    }

    /// One read: from TLS when there is TLS, else the socket.
    private func readStep(into buffer: IOBuffer) -> IOStep {
        guard let ssl else { return Socket.readStep(fd, into: buffer, side: .upstream) }
        let n = SSL_read(ssl, buffer.writePointer, Int32(clamping: buffer.writableCount))
        if n > 0 {
            buffer.writeIndex += Int(n)
            return .progress(Int(n))
        }
        return tlsFailed(ssl, n)
    }

    private func writeStep(_ bytes: UnsafeRawBufferPointer) -> IOStep {
        guard let ssl else { return Socket.writeStep(fd, bytes, side: .upstream) }
        let n = SSL_write(ssl, bytes.baseAddress, Int32(clamping: bytes.count))
        if n > 0 { return .progress(Int(n)) }
        return tlsFailed(ssl, n)
    }

    private func tlsFailed(_ ssl: OpaquePointer, _ n: Int32) -> IOStep {
        let error = SSL_get_error(ssl, n)
        let savedErrno = errno
        ERR_clear_error()
        switch error {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .blocked
        case SSL_ERROR_SYSCALL where savedErrno == EAGAIN || savedErrno == EINTR: return .blocked
        default: return .closed(PeerClose(side: .upstream, errno: error == SSL_ERROR_ZERO_RETURN ? 0 : EPROTO))
        }
    }

    /// Waits for the server's bytes, unless TLS already holds some decrypted.
    private func waitReadable() -> Bool {
        if let ssl, SSL_has_pending(ssl) == 1 { return true }
        return Self.wait(fd, events: Int16(POLLIN), timeoutMs: timeoutMs)
    }

    /// Calls `path` with `request` (a serialized message); `onMessage` gets each response message
    /// and returns false to cancel the call (RST_STREAM CANCEL, then this returns normally).
    /// Throws when the status is not OK or the connection fails.
    /// `timeoutHeader`: a `grpc-timeout` value sent with the call (`10S`), the server's deadline.
    public func call(
        path: String, request: [UInt8], timeoutHeader: String? = nil, onMessage: (ArraySlice<UInt8>) throws -> Bool
    ) throws {
        var headers = HTTP2HeaderBlock([
            (":method", "POST"), (":scheme", ssl == nil ? "http" : "https"), (":path", path), (":authority", authority),
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
            guard waitReadable() else {
                throw Failure(
                    status: GRPCWire.Status.deadlineExceeded.rawValue, message: "no answer within \(timeoutMs) ms")
            }
            buffer.clear()
            switch readStep(into: buffer) {
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
                    writeStep(UnsafeRawBufferPointer(rebasing: $0[offset...]))
                }
                switch step {
                case .progress(let n): offset += n
                case .blocked:
                    guard Self.wait(fd, events: Int16(POLLOUT | POLLIN), timeoutMs: timeoutMs) else {
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
