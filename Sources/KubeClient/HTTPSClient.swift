import COpenSSL
import Glibc

/// One HTTPS/1.1 request at a time over a blocking socket with OpenSSL, for the agent's control
/// plane (a dedicated thread; never the relay path). The server's certificate is verified against
/// the kubeconfig's CA and its host name or IP; the bearer token goes in `Authorization`. Every
/// wait is bounded: `connectTimeout` for TCP and TLS set-up, `idleTimeout` between bytes of a
/// response, and `shouldStop` is polled at least every 250 ms so a stopping informer never hangs.
public final class HTTPSClient: @unchecked Sendable {
    public let config: KubeConfig
    public var connectTimeout: Double = 10
    public var idleTimeout: Double = 90
    private let context: OpaquePointer

    public init(config: KubeConfig) throws(KubeError) {
        self.config = config
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw KubeError("SSL_CTX_new failed") }
        context = ctx
        _ = sluice_SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        if let pem = config.caPEM {
            let store = SSL_CTX_get_cert_store(ctx)
            var added = 0
            // BIO_new_mem_buf does not copy: read every certificate while the bytes are alive.
            let bytes = Array(pem.utf8)
            bytes.withUnsafeBufferPointer { buffer in
                let own = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count))
                defer { BIO_free(own) }
                while let cert = PEM_read_bio_X509(own, nil, nil, nil) {
                    if X509_STORE_add_cert(store, cert) == 1 { added += 1 }
                    X509_free(cert)
                }
            }
            ERR_clear_error()
            // (`context` is set: deinit frees it when this throws.)
            guard added > 0 else {
                throw KubeError("the CA data holds no PEM certificate")
            }
        } else {
            SSL_CTX_set_default_verify_paths(ctx)
        }
    }

    deinit { SSL_CTX_free(context) }

    /// A response's status and headers (names lower-cased).
    public struct Head: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public func header(_ name: String) -> String? { headers.first { $0.0 == name }?.1 }
    }

    /// GETs `path` (with its query); `onHead` sees the status line and headers, then `onBody` each
    /// piece of the decoded body (chunked or not) until the end; returns false from `onBody` to
    /// stop reading. Throws on connection, TLS or framing errors and timeouts.
    public func get(
        _ path: String, shouldStop: () -> Bool, onHead: (Head) throws(KubeError) -> Void,
        onBody: ([UInt8]) throws(KubeError) -> Bool
    ) throws(KubeError) {
        try send("GET", path, body: nil, shouldStop: shouldStop, onHead: onHead, onBody: onBody)
    }

    /// `method` (GET, POST, PUT, PATCH, DELETE) on `path` with an optional `body` of
    /// `contentType`; the answer as `get` gives it.
    public func send(
        _ method: String, _ path: String, body: [UInt8]?, contentType: String = "application/json",
        shouldStop: () -> Bool, onHead: (Head) throws(KubeError) -> Void, onBody: ([UInt8]) throws(KubeError) -> Bool
    ) throws(KubeError) {
        let (host, port) = try config.hostAndPort()
        let fd = try connectSocket(host: host, port: port, shouldStop: shouldStop)
        defer { close(fd) }
        guard let ssl = SSL_new(context) else { throw KubeError("SSL_new failed") }
        defer { SSL_free(ssl) }
        SSL_set_fd(ssl, fd)
        let isIP = host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
        if isIP {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
        } else {
            _ = sluice_SSL_set_tlsext_host_name(ssl, host)
            SSL_set1_host(ssl, host)
        }
        let handshakeDeadline = monotonic() + connectTimeout
        while true {
            let r = SSL_connect(ssl)
            if r == 1 { break }
            let e = SSL_get_error(ssl, r)
            guard e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE else {
                let verify = SSL_get_verify_result(ssl)
                let why = verify != X509_V_OK ? String(cString: X509_verify_cert_error_string(verify)) : opensslError()
                throw KubeError("TLS handshake with \(host):\(port) failed: \(why)")
            }
            try waitFor(
                fd, events: e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline: handshakeDeadline, shouldStop)
        }
        var request = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUser-Agent: sluice-agent\r\n"
        request += "Accept: application/json\r\nConnection: close\r\n"
        if let token = config.token { request += "Authorization: Bearer \(token)\r\n" }
        if let body { request += "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n" }
        request += "\r\n"
        try write(ssl, fd, Array(request.utf8) + (body ?? []), shouldStop)

        var buffer = [UInt8](repeating: 0, count: 16384)
        var headBytes: [UInt8] = []
        var head: Head?
        var chunked: ChunkedDecoder?
        var remaining: Int?  // Content-Length left, nil = until close
        while true {
            let n = try read(ssl, fd, &buffer, shouldStop)
            if n == 0 {
                if head == nil { throw KubeError("connection closed before the response head") }
                if let c = chunked, !c.isComplete { throw KubeError("connection closed inside a chunked body") }
                if let r = remaining, r > 0 { throw KubeError("connection closed \(r) bytes before the body's end") }
                return
            }
            var piece = Array(buffer[0..<n])
            if head == nil {
                headBytes += piece
                guard let end = findHeadEnd(headBytes) else {
                    if headBytes.count > 65536 { throw KubeError("response head too long") }
                    continue
                }
                let parsed = try parseHead(Array(headBytes[..<end]))
                head = parsed
                try onHead(parsed)
                piece = Array(headBytes[(end + 4)...])
                if parsed.header("transfer-encoding")?.lowercased().contains("chunked") == true {
                    chunked = ChunkedDecoder()
                } else if let length = parsed.header("content-length").flatMap({ Int($0) }) {
                    remaining = length
                }
            }
            var body: [UInt8]
            if chunked != nil {
                body = try chunked!.feed(piece)
            } else {
                body = piece
                if let r = remaining {
                    if body.count > r { body.removeLast(body.count - r) }
                    remaining = r - body.count
                }
            }
            if !body.isEmpty, try !onBody(body) { return }
            if chunked?.isComplete == true || remaining == 0 { return }
        }
    }

    /// GETs `path` and returns status and the whole body (at most `limit` bytes).
    public func getAll(_ path: String, limit: Int = 256 << 20, shouldStop: () -> Bool) throws(KubeError) -> (
        Int, [UInt8]
    ) {
        try sendAll("GET", path, body: nil, limit: limit, shouldStop: shouldStop)
    }

    /// `send` that returns status and the whole answer body (at most `limit` bytes).
    public func sendAll(
        _ method: String, _ path: String, body requestBody: [UInt8]?, contentType: String = "application/json",
        limit: Int = 256 << 20, shouldStop: () -> Bool
    ) throws(KubeError) -> (Int, [UInt8]) {
        var status = 0
        var body: [UInt8] = []
        try send(
            method, path, body: requestBody, contentType: contentType, shouldStop: shouldStop,
            onHead: { head in status = head.status },
            onBody: { (piece: [UInt8]) throws(KubeError) -> Bool in
                body += piece
                if body.count > limit { throw KubeError("response larger than \(limit) bytes") }
                return true
            })
        return (status, body)
    }

    // MARK: sockets

    private func connectSocket(host: String, port: UInt16, shouldStop: () -> Bool) throws(KubeError) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0, let first = result else {
            throw KubeError("cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(result) }
        var lastError = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let ai = entry {
            entry = ai.pointee.ai_next
            let fd = socket(ai.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            if fd < 0 { continue }
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            if connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) != 0 && errno != EINPROGRESS {
                lastError = String(cString: strerror(errno))
                close(fd)
                continue
            }
            do {
                try waitFor(fd, events: POLLOUT, deadline: monotonic() + connectTimeout, shouldStop)
            } catch {
                close(fd)
                throw KubeError("connect to \(host):\(port): \(error)")
            }
            var soError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
            if soError != 0 {
                lastError = String(cString: strerror(soError))
                close(fd)
                continue
            }
            return fd
        }
        throw KubeError("connect to \(host):\(port): \(lastError)")
    }

    private func waitFor(_ fd: Int32, events: Int32, deadline: Double, _ shouldStop: () -> Bool) throws(KubeError) {
        while true {
            if shouldStop() { throw KubeError("stopped") }
            let left = deadline - monotonic()
            if left <= 0 { throw KubeError("timed out") }
            var p = pollfd(fd: fd, events: Int16(events), revents: 0)
            let r = poll(&p, 1, Int32(min(250, max(1, left * 1000))))
            if r > 0 { return }
            if r < 0 && errno != EINTR { throw KubeError("poll: \(String(cString: strerror(errno)))") }
        }
    }

    private func read(_ ssl: OpaquePointer, _ fd: Int32, _ buffer: inout [UInt8], _ shouldStop: () -> Bool)
        throws(KubeError)
        -> Int
    {
        let deadline = monotonic() + idleTimeout
        while true {
            let n = buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
            if n > 0 { return Int(n) }
            let e = SSL_get_error(ssl, n)
            switch e {
            case SSL_ERROR_ZERO_RETURN: return 0
            case SSL_ERROR_WANT_READ: try waitFor(fd, events: POLLIN, deadline: deadline, shouldStop)
            case SSL_ERROR_WANT_WRITE: try waitFor(fd, events: POLLOUT, deadline: deadline, shouldStop)
            case SSL_ERROR_SYSCALL where ERR_peek_error() == 0: return 0  // EOF without close_notify
            default: throw KubeError("TLS read failed: \(opensslError())")
            }
        }
    }

    private func write(_ ssl: OpaquePointer, _ fd: Int32, _ bytes: [UInt8], _ shouldStop: () -> Bool) throws(KubeError)
    {
        let deadline = monotonic() + connectTimeout
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { SSL_write(ssl, $0.baseAddress! + offset, Int32(bytes.count - offset)) }
            if n > 0 {
                offset += Int(n)
                continue
            }
            let e = SSL_get_error(ssl, n)
            switch e {
            case SSL_ERROR_WANT_READ: try waitFor(fd, events: POLLIN, deadline: deadline, shouldStop)
            case SSL_ERROR_WANT_WRITE: try waitFor(fd, events: POLLOUT, deadline: deadline, shouldStop)
            default: throw KubeError("TLS write failed: \(opensslError())")
            }
        }
    }
}

private func opensslError() -> String {
    let code = ERR_get_error()
    ERR_clear_error()
    if code == 0 { return "connection closed" }
    var buffer = [CChar](repeating: 0, count: 256)
    ERR_error_string_n(code, &buffer, buffer.count)
    return String(cString: buffer)
}

func monotonic() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// The index of "\r\n\r\n" in `bytes`, nil when absent.
func findHeadEnd(_ bytes: [UInt8]) -> Int? {
    guard bytes.count >= 4 else { return nil }
    for i in 0...(bytes.count - 4)
    where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
        return i
    }
    return nil
}

/// Status line and headers of an HTTP/1.1 response head (without the blank line).
func parseHead(_ bytes: [UInt8]) throws(KubeError) -> HTTPSClient.Head {
    let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
    guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1."),
        let code = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
    else { throw KubeError("bad HTTP status line") }
    var headers: [(String, String)] = []
    for line in lines.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { throw KubeError("bad HTTP header line") }
        headers.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingASCIIWhitespaceSub()))
    }
    return HTTPSClient.Head(status: code, headers: headers)
}

extension Substring {
    fileprivate func trimmingASCIIWhitespaceSub() -> String { String(self).trimmingASCIIWhitespace() }
}
