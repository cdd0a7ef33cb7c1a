import COpenSSL
import Glibc
import Policy
import SluiceIO
import SluiceModel

/// How the proxy speaks TLS to the upstream of one intercepted connection (`originatingTLS`):
/// the secret whose CA is the only one trusted, the name sent as SNI and verified in the
/// upstream's certificate (the client's SNI; without one the certificate must name the original
/// destination's address), and the key of the session resumed with that upstream. Used by
/// `TLSTransport` (HTTP/1) and `HTTP2Upstream` (h2).
struct TLSOrigination {
    let context: TLSContext
    let serverName: String?
    let address: String
    let sessionKey: String

    init(context: TLSContext, serverName: String?, addresses: ConnectionAddresses) {
        self.context = context
        self.serverName = serverName
        address = IPv4Address(networkOrder: addresses.originalDestinationAddress).description
        sessionKey = address + ":" + String(addresses.originalDestinationPort) + "/" + (serverName ?? "")
    }

    /// A client TLS connection on the connected (or connecting) socket `fd` offering ALPN
    /// `alpn` alone, resuming the last session with this upstream; nil with the errno to
    /// report when the secret cannot be used (ENOENT) or OpenSSL fails (ENOMEM).
    func makeSSL(fd: Int32, store: TLSContextStore, now: UInt64, alpn: String) -> Result<OpaquePointer, SyscallError> {
        makeSSL(fd: fd, store: store, now: now, offer: [UInt8(alpn.utf8.count)] + Array(alpn.utf8))
    }

    /// As `makeSSL(fd:store:now:alpn:)`, offering the ALPN list `offer` in its wire form
    /// (length-prefixed names; `TLSALPNProbe` offers h2 and http/1.1).
    func makeSSL(fd: Int32, store: TLSContextStore, now: UInt64, offer: [UInt8]) -> Result<OpaquePointer, SyscallError>
    {
        let ctx: OpaquePointer
        switch store.clientContext(context, now: now) {
        case .success(let c): ctx = c
        case .failure(let error): return .failure(SyscallError("secret " + error.secret, errno: ENOENT))
        }
        guard let ssl = SSL_new(ctx) else { return .failure(SyscallError("SSL_new", errno: ENOMEM)) }
        SSL_set_fd(ssl, fd)
        SSL_set_connect_state(ssl)
        if let serverName {
            _ = sluice_SSL_set_tlsext_host_name(ssl, serverName)
            SSL_set1_host(ssl, serverName)
        } else {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), address)
        }
        _ = offer.withUnsafeBufferPointer { SSL_set_alpn_protos(ssl, $0.baseAddress, UInt32($0.count)) }
        if let session = store.session(for: sessionKey) { SSL_set_session(ssl, session) }
        return .success(ssl)
    }

    /// Keeps the session of `ssl` (after its handshake) for the next connection.
    func saveSession(of ssl: OpaquePointer, store: TLSContextStore) {
        guard SSL_is_init_finished(ssl) == 1 else { return }
        store.saveSession(of: ssl, for: sessionKey)
    }
}
