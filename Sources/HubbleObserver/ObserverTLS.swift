import COpenSSL
import Glibc
import SluiceIO

/// The Observer gRPC API over TLS (`--tls-cert-file`, `--tls-key-file`, optional
/// `--tls-client-ca-file`), as Hubble serves it with grpc-go's TLS credentials: TLS 1.2 or 1.3,
/// ALPN must select `h2` (a client offering other protocols gets a `no_application_protocol`
/// alert, one offering none is closed after the handshake, as grpc-go enforces ALPN), and with
/// a client CA every client must present a certificate that CA signed (Hubble's
/// `--tls-client-cert-files`).
///
/// The server context is rebuilt when one of its files changed (inode, size or mtime, looked at
/// on accept at most once a second), so a renewed certificate is served without a restart; a
/// file that no longer loads keeps the last good context. Loop thread only.
public final class ObserverTLS {
    public let certificateFile: String
    public let keyFile: String
    public let clientCAFile: String?
    private var context: OpaquePointer
    private var stamps: [FileStamp]
    private var checkedNs: UInt64 = 0
    /// How often the files are looked at (on accept).
    let recheckNs: UInt64

    /// Loads the files now; the error names the file that does not load.
    public init(certificateFile: String, keyFile: String, clientCAFile: String?, recheckNs: UInt64 = 1_000_000_000)
        throws(ObserverTLSError)
    {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.clientCAFile = clientCAFile
        self.recheckNs = recheckNs
        let files = [certificateFile, keyFile] + (clientCAFile.map { [$0] } ?? [])
        stamps = files.map(FileStamp.init(path:))
        context = try Self.build(certificateFile: certificateFile, keyFile: keyFile, clientCAFile: clientCAFile)
    }

    deinit { SSL_CTX_free(context) }

    private var files: [String] { [certificateFile, keyFile] + (clientCAFile.map { [$0] } ?? []) }

    /// The context to accept with now: rebuilt first when a file changed since it was built.
    func currentContext(now: UInt64) -> OpaquePointer {
        guard now &- checkedNs >= recheckNs || checkedNs == 0 else { return context }
        checkedNs = now
        let current = files.map(FileStamp.init(path:))
        guard current != stamps else { return context }
        if let fresh = try? Self.build(certificateFile: certificateFile, keyFile: keyFile, clientCAFile: clientCAFile) {
            SSL_CTX_free(context)
            context = fresh
            stamps = current
        }
        return context
    }

    /// A server-side TLS connection over `fd` (non-blocking), nil when OpenSSL cannot make one.
    func accept(fd: Int32, now: UInt64) -> TLSServerStream? {
        guard let ssl = SSL_new(currentContext(now: now)) else { return nil }
        guard SSL_set_fd(ssl, fd) == 1 else {
            SSL_free(ssl)
            return nil
        }
        SSL_set_accept_state(ssl)
        return TLSServerStream(ssl: ssl)
    }

    static func build(certificateFile: String, keyFile: String, clientCAFile: String?) throws(ObserverTLSError)
        -> OpaquePointer
    {
        guard let ctx = SSL_CTX_new(TLS_server_method()) else {
            throw ObserverTLSError(message: "TLS: SSL_CTX_new failed: " + openSSLError())
        }
        func fail(_ what: String) -> ObserverTLSError {
            let why = openSSLError()
            SSL_CTX_free(ctx)
            return ObserverTLSError(message: what + ": " + why)
        }
        _ = sluice_SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)
        _ = sluice_SSL_CTX_set_mode(
            ctx, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS))
        let named = [("--tls-cert-file", certificateFile), ("--tls-key-file", keyFile)]
        for (option, file) in named + (clientCAFile.map { [("--tls-client-ca-file", $0)] } ?? [])
        where access(file, R_OK) != 0 {
            let why = String(cString: strerror(errno))
            SSL_CTX_free(ctx)
            throw ObserverTLSError(message: "\(option) \(file): cannot read: \(why)")
        }
        guard SSL_CTX_use_certificate_chain_file(ctx, certificateFile) == 1 else {
            throw fail("--tls-cert-file \(certificateFile): not a PEM certificate")
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, keyFile, SSL_FILETYPE_PEM) == 1 else {
            throw fail("--tls-key-file \(keyFile): not the PEM private key of \(certificateFile)")
        }
        guard SSL_CTX_check_private_key(ctx) == 1 else {
            throw fail("--tls-key-file \(keyFile): does not match the certificate of \(certificateFile)")
        }
        if let clientCAFile {
            guard SSL_CTX_load_verify_locations(ctx, clientCAFile, nil) == 1,
                let names = SSL_load_client_CA_file(clientCAFile)
            else {
                throw fail("--tls-client-ca-file \(clientCAFile): no PEM CA certificate")
            }
            SSL_CTX_set_client_CA_list(ctx, names)
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        } else {
            SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        }
        SSL_CTX_set_alpn_select_cb(ctx, selectH2, nil)
        ERR_clear_error()
        return ctx
    }

    static func openSSLError() -> String {
        let code = ERR_peek_last_error()
        ERR_clear_error()
        guard code != 0 else { return "unknown OpenSSL error" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(cString: buffer)
    }
}

/// ALPN: `h2` when the client offers it, else the handshake fails (no_application_protocol).
private let selectH2:
    @convention(c) (
        OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
        UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
    ) -> Int32 = { _, out, outLength, offered, offeredLength, _ in
        guard let out, let outLength, let offered else { return SSL_TLSEXT_ERR_ALERT_FATAL }
        var i = 0
        let count = Int(offeredLength)
        while i < count {
            let length = Int(offered[i])
            if length == 2, i + 2 < count, offered[i + 1] == UInt8(ascii: "h"), offered[i + 2] == UInt8(ascii: "2") {
                out.pointee = offered + i + 1
                outLength.pointee = 2
                return SSL_TLSEXT_ERR_OK
            }
            i += 1 + length
        }
        return SSL_TLSEXT_ERR_ALERT_FATAL
    }

/// Why the TLS files cannot be served, naming the file.
public struct ObserverTLSError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { message }
}

/// One accepted connection's TLS (non-blocking, on a level-triggered loop): the handshake, then
/// plaintext reads and writes. A read may need the socket writable and a write readable (TLS
/// messages of the other direction): `wantsWritable` says when the connection must ask for
/// EPOLLOUT although it has nothing of its own to write.
final class TLSServerStream {
    private var ssl: OpaquePointer?
    private(set) var handshakeDone = false
    /// The last read or handshake step stopped on SSL_ERROR_WANT_WRITE.
    private(set) var wantsWritable = false
    /// Why the connection failed (logs, tests).
    private(set) var failure: String?

    init(ssl: OpaquePointer) { self.ssl = ssl }

    deinit { if let ssl { SSL_free(ssl) } }

    /// Runs the handshake as far as the socket allows: `.progress(0)` once done (h2 selected),
    /// `.blocked` until the socket is ready again, `.closed` when it failed.
    func handshake() -> IOStep {
        guard let ssl else { return .closed(PeerClose(side: .downstream, errno: EPROTO)) }
        if handshakeDone { return .progress(0) }
        let n = SSL_do_handshake(ssl)
        guard n == 1 else { return failed(ssl, n) }
        wantsWritable = false
        var selected: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &selected, &length)
        guard length == 2, let selected, selected[0] == UInt8(ascii: "h"), selected[1] == UInt8(ascii: "2") else {
            failure = "the client negotiated no h2 by ALPN"
            return .closed(PeerClose(side: .downstream, errno: EPROTO))
        }
        handshakeDone = true
        return .progress(0)
    }

    /// Plaintext into `buffer` (the handshake first when it is not done).
    func read(into buffer: IOBuffer) -> IOStep {
        guard let ssl else { return .closed(PeerClose(side: .downstream, errno: EPROTO)) }
        if !handshakeDone {
            let step = handshake()
            guard case .progress = step else { return step }
        }
        let room = buffer.writableCount
        guard room > 0 else { return .blocked }
        let n = SSL_read(ssl, buffer.writePointer, Int32(clamping: room))
        if n > 0 {
            wantsWritable = false
            buffer.writeIndex += Int(n)
            return .progress(Int(n))
        }
        return failed(ssl, n)
    }

    /// Writes plaintext (nothing before the handshake is done).
    func write(_ bytes: UnsafeRawBufferPointer) -> IOStep {
        guard let ssl else { return .closed(PeerClose(side: .downstream, errno: EPROTO)) }
        if !handshakeDone {
            let step = handshake()
            guard case .progress = step else { return step }
        }
        if bytes.isEmpty { return .progress(0) }
        let n = SSL_write(ssl, bytes.baseAddress, Int32(clamping: bytes.count))
        if n > 0 { return .progress(Int(n)) }
        return failed(ssl, n)
    }

    /// Plaintext already decrypted and waiting in OpenSSL (the socket may be drained).
    var hasPending: Bool {
        guard let ssl else { return false }
        return SSL_has_pending(ssl) == 1
    }

    /// Sends close_notify when the handshake is done (without waiting for the peer's) and frees
    /// the TLS state; the socket's owner closes the descriptor.
    func shutdown() {
        guard let ssl else { return }
        if handshakeDone { _ = SSL_shutdown(ssl) }
        SSL_free(ssl)
        self.ssl = nil
        ERR_clear_error()
    }

    private func failed(_ ssl: OpaquePointer, _ n: Int32) -> IOStep {
        let error = SSL_get_error(ssl, n)
        let savedErrno = errno
        switch error {
        case SSL_ERROR_WANT_READ:
            wantsWritable = false
            return .blocked
        case SSL_ERROR_WANT_WRITE:
            wantsWritable = true
            return .blocked
        case SSL_ERROR_ZERO_RETURN:
            return .closed(PeerClose(side: .downstream, errno: 0))
        case SSL_ERROR_SYSCALL:
            ERR_clear_error()
            if savedErrno == EAGAIN || savedErrno == EINTR { return .blocked }
            return .closed(PeerClose(side: .downstream, errno: savedErrno))
        default:
            let verify = SSL_get_verify_result(ssl)
            if verify != X509_V_OK {
                failure = "client certificate: " + String(cString: X509_verify_cert_error_string(verify))
                ERR_clear_error()
            } else {
                failure = ObserverTLS.openSSLError()
            }
            return .closed(PeerClose(side: .downstream, errno: EPROTO))
        }
    }
}
