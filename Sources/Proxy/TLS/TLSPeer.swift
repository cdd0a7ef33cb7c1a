import COpenSSL
import Glibc
import SluiceIO

/// One peer of an intercepted connection (docs/architecture.md "TLS interception"): the socket,
/// and when its side speaks TLS, the OpenSSL connection bound to it (`SSL_set_fd`, non-blocking).
/// `read` gives plaintext (`SSL_read`), `write` takes plaintext (`SSL_write`); without `ssl` both
/// are `SocketPeer`'s steps, so one peer type serves a TLS client with a plain upstream and
/// the reverse. The handshake runs inside the first read or write when it is not done yet.
///
/// Readiness is edge-triggered as for `SocketPeer`, with TLS's twist: a read may need the socket
/// writable (a handshake or key-update message to send) and a write may need it readable (the
/// handshake's next flight). The peer remembers that and, when the other readiness edge
/// arrives, marks the blocked direction ready again, so the handler's usual "retry when
/// readable/writable" drives both. A short `SSL_read` does not mean the socket is drained (one
/// record at a time), so only SSL_ERROR_WANT_READ clears `readable`.
struct TLSPeer: ConnectionPeer {
    var fd: Int32
    let side: PeerSide
    /// nil: plaintext on this side.
    private(set) var ssl: OpaquePointer?
    /// A read is waiting for the socket to be writable.
    private var readWantsWrite = false
    /// A write is waiting for the socket to be readable.
    private var writeWantsRead = false

    var readable: Bool {
        didSet {
            if readable && writeWantsRead {
                writeWantsRead = false
                writable = true
            }
        }
    }
    var writable: Bool {
        didSet {
            if writable && readWantsWrite {
                readWantsWrite = false
                readable = true
            }
        }
    }

    init(fd: Int32, side: PeerSide, ssl: OpaquePointer?, readable: Bool = false, writable: Bool = false) {
        self.fd = fd
        self.side = side
        self.ssl = ssl
        self.readable = readable
        self.writable = writable
    }

    var isOpen: Bool { fd >= 0 }

    /// How the last failed TLS call ended, for the flow record (set with `.closed`).
    private(set) var failure: TLSFailure?

    mutating func read(into buffer: IOBuffer) -> IOStep {
        guard let ssl else { return plain { $0.read(into: buffer) } }
        let room = buffer.writableCount
        guard room > 0 else { return .blocked }
        let n = SSL_read(ssl, buffer.writePointer, Int32(clamping: room))
        if n > 0 {
            buffer.writeIndex += Int(n)
            return .progress(Int(n))
        }
        return failed(ssl, n, reading: true)
    }

    mutating func write(_ bytes: UnsafeRawBufferPointer) -> IOStep {
        guard let ssl else { return plain { $0.write(bytes) } }
        if bytes.isEmpty { return .progress(0) }
        let n = SSL_write(ssl, bytes.baseAddress, Int32(clamping: bytes.count))
        if n > 0 { return .progress(Int(n)) }
        return failed(ssl, n, reading: false)
    }

    /// The pieces one after the other (TLS has no gathered write; each becomes records).
    mutating func write(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, _ c: UnsafeRawBufferPointer)
        -> IOStep
    {
        guard ssl != nil else { return plain { $0.write(a, b, c) } }
        var total = 0
        for piece in [a, b, c] where !piece.isEmpty {
            switch write(piece) {
            case .progress(let n):
                total += n
                if n < piece.count { return .progress(total) }
            case .blocked:
                return total > 0 ? .progress(total) : .blocked
            case .closed(let close):
                return total > 0 ? .progress(total) : .closed(close)
            }
        }
        return .progress(total)
    }

    /// Runs the handshake as far as the socket allows: `.progress(0)` when it is done, `.blocked`
    /// until the next readiness edge, `.closed` when it failed.
    mutating func handshake() -> IOStep {
        guard let ssl else { return .progress(0) }
        let n = SSL_do_handshake(ssl)
        if n == 1 { return .progress(0) }
        return failed(ssl, n, reading: true)
    }

    /// Sends close_notify (once, without waiting for the peer's), frees the TLS state and
    /// closes nothing else: the socket's owner closes the fd. `reset`: no close_notify.
    mutating func shutdown(reset: Bool) {
        guard let ssl else { return }
        if !reset && SSL_is_init_finished(ssl) == 1 { _ = SSL_shutdown(ssl) }
        SSL_free(ssl)
        self.ssl = nil
        ERR_clear_error()
    }

    private mutating func failed(_ ssl: OpaquePointer, _ n: Int32, reading: Bool) -> IOStep {
        let error = SSL_get_error(ssl, n)
        let savedErrno = Glibc.errno
        switch error {
        case SSL_ERROR_WANT_READ:
            readable = false
            if !reading { writable = false; writeWantsRead = true }
            return .blocked
        case SSL_ERROR_WANT_WRITE:
            writable = false
            if reading { readable = false; readWantsWrite = true }
            return .blocked
        case SSL_ERROR_ZERO_RETURN:
            return .closed(PeerClose(side: side, errno: 0))
        case SSL_ERROR_SYSCALL:
            ERR_clear_error()
            // errno 0: the peer closed without close_notify (common; treated as its FIN).
            if savedErrno == EAGAIN || savedErrno == EINTR { return .blocked }
            return .closed(PeerClose(side: side, errno: savedErrno))
        default:
            let verify = SSL_get_verify_result(ssl)
            let code = ERR_peek_last_error()
            ERR_clear_error()
            if verify != X509_V_OK {
                failure = .certificate(verify)
                return .closed(PeerClose(side: side, errno: TLSFailure.certificateErrno))
            }
            failure = .protocol(code)
            // The server side refused the client's ALPN offer (`sluice_alpn_select`).
            if ERR_GET_REASON(code) == SSL_R_NO_APPLICATION_PROTOCOL {
                return .closed(PeerClose(side: side, errno: ENOPROTOOPT))
            }
            return .closed(PeerClose(side: side, errno: EPROTO))
        }
    }

    /// A plaintext side's step: `SocketPeer`'s own (its syscall and readiness rule, which only
    /// ever clears readiness), on a stack copy of this peer's socket state; what it cleared is
    /// cleared here. No allocation: the closure does not escape.
    @inline(__always)
    private mutating func plain(_ step: (inout SocketPeer) -> IOStep) -> IOStep {
        var socket = SocketPeer(fd: fd, side: side, readable: readable, writable: writable)
        let result = step(&socket)
        if !socket.readable { readable = false }
        if !socket.writable { writable = false }
        return result
    }
}

/// Why a TLS peer failed, for logs and tests: its certificate did not verify (an X509_V_ERR_*
/// code), or the TLS protocol failed (an OpenSSL error code).
enum TLSFailure: Equatable {
    case certificate(Int)
    case `protocol`(UInt)

    /// The errno a certificate failure shows as in flow records (`upstream EKEYREJECTED`):
    /// Linux's "key was rejected by service".
    static let certificateErrno: Int32 = 129

    var text: String {
        switch self {
        case .certificate(let code):
            return "certificate verify failed: " + String(cString: X509_verify_cert_error_string(code))
        case .protocol(let code):
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            return String(cString: buffer)
        }
    }
}
