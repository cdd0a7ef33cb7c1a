import COpenSSL
import Glibc
import Policy
import SluiceIO

/// The OpenSSL contexts of one worker's intercepted connections, built from the secrets
/// directory (`<dir>/<namespace>/<name>/<item>`, Cilium's layout; docs/policy.md "TLS
/// interception"), and the TLS sessions it resumes toward upstreams. A context is rebuilt when
/// one of its files changed (size, mtime or inode, looked at on use, at most once per
/// `recheckNs`), so a renewed certificate is served without a restart. Loop-thread only.
public final class TLSContextStore {
    let directory: String
    let recheckNs: UInt64
    /// SSL_OP_ENABLE_KTLS on every context (`--tls-ktls`).
    let kernelOffload: Bool

    private struct Entry {
        var context: OpaquePointer
        var stamps: [FileStamp]
        var checkedNs: UInt64
    }
    private struct Key: Hashable {
        var context: TLSContext
        var terminating: Bool
    }
    private var entries: [Key: Entry] = [:]
    /// Sessions to resume, by upstream (address, port and the name verified).
    private var sessions: [String: OpaquePointer] = [:]
    /// At most this many sessions are kept (the oldest arbitrary one goes).
    static let maxSessions = 1024
    /// Whether each upstream (by session key) selected h2 when offered h2 and http/1.1
    /// (`TLSALPNProbe`), and when that was learned.
    private var upstreamALPN: [String: (h2: Bool, learnedNs: UInt64)] = [:]
    /// How long what an upstream selected is trusted before it is asked again.
    static let alpnTTLNs: UInt64 = 300 * 1_000_000_000
    /// Where `TLSAcceptor` peeks at a client's first flight (MSG_PEEK) to read its ClientHello:
    /// the longest hello the parser accepts, with its record and handshake headers.
    let helloBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 20 * 1024, alignment: 8)

    init(directory: String, recheckNs: UInt64 = 1_000_000_000, kernelOffload: Bool = false) {
        self.directory = directory
        self.kernelOffload = kernelOffload
        self.recheckNs = recheckNs
    }

    deinit {
        for entry in entries.values { SSL_CTX_free(entry.context) }
        for session in sessions.values { SSL_SESSION_free(session) }
        helloBuffer.deallocate()
    }

    /// Whether the upstream of session key `key` speaks h2 (it selected h2 by ALPN), nil when
    /// not known or learned longer than `alpnTTLNs` ago.
    func upstreamSpeaksH2(_ key: String, now: UInt64) -> Bool? {
        guard let entry = upstreamALPN[key], now &- entry.learnedNs < Self.alpnTTLNs else { return nil }
        return entry.h2
    }

    /// Keeps what the upstream of `key` selected (at most `maxSessions` upstreams).
    func learnALPN(h2: Bool, for key: String, now: UInt64) {
        if upstreamALPN[key] == nil && upstreamALPN.count >= Self.maxSessions, let victim = upstreamALPN.first {
            upstreamALPN[victim.key] = nil
        }
        upstreamALPN[key] = (h2, now)
    }

    /// The server context of `terminatingTLS` `context`: its certificate chain and key, ALPN h2
    /// then http/1.1, no client certificate requested.
    func serverContext(_ context: TLSContext, now: UInt64) -> Result<OpaquePointer, TLSSecretError> {
        lookup(Key(context: context, terminating: true), now: now)
    }

    /// The client context of `originatingTLS` `context`: trusts only its `trustedCA` (no system
    /// roots), verifies the peer.
    func clientContext(_ context: TLSContext, now: UInt64) -> Result<OpaquePointer, TLSSecretError> {
        lookup(Key(context: context, terminating: false), now: now)
    }

    /// The session last used with `upstream`, to resume (the caller does not own it).
    func session(for upstream: String) -> OpaquePointer? { sessions[upstream] }

    /// Keeps `ssl`'s session for the next connection to `upstream` when it can be resumed.
    func saveSession(of ssl: OpaquePointer, for upstream: String) {
        guard let session = SSL_get1_session(ssl) else { return }
        guard SSL_SESSION_is_resumable(session) == 1 else {
            SSL_SESSION_free(session)
            return
        }
        if let old = sessions[upstream] { SSL_SESSION_free(old) }
        if sessions[upstream] == nil && sessions.count >= Self.maxSessions, let victim = sessions.first {
            SSL_SESSION_free(victim.value)
            sessions[victim.key] = nil
        }
        sessions[upstream] = session
    }

    private func lookup(_ key: Key, now: UInt64) -> Result<OpaquePointer, TLSSecretError> {
        let paths = Self.paths(key.context, terminating: key.terminating, directory: directory)
        if var entry = entries[key] {
            if now &- entry.checkedNs < recheckNs { return .success(entry.context) }
            let stamps = paths.map(FileStamp.init(path:))
            if stamps == entry.stamps {
                entry.checkedNs = now
                entries[key] = entry
                return .success(entry.context)
            }
        }
        let stamps = paths.map(FileStamp.init(path:))
        switch Self.build(key.context, terminating: key.terminating, paths: paths) {
        case .success(let context):
            if kernelOffload { SSL_CTX_set_options(context, sluice_SSL_OP_ENABLE_KTLS()) }
            if let old = entries[key] { SSL_CTX_free(old.context) }
            entries[key] = Entry(context: context, stamps: stamps, checkedNs: now)
            return .success(context)
        case .failure(let error):
            // A secret being rewritten may be half there: keep serving the last good one.
            if let old = entries[key] { return .success(old.context) }
            return .failure(error)
        }
    }

    /// The files a context needs: certificate and key (terminating) or the CA (originating).
    static func paths(_ context: TLSContext, terminating: Bool, directory: String) -> [String] {
        let base = directory + "/" + context.namespace + "/" + context.name + "/"
        return terminating ? [base + context.certificate, base + context.privateKey] : [base + context.trustedCA]
    }

    /// The first file of `context` that cannot be read, nil when all can (`sluice apply`
    /// refuses a policy naming a secret that is not there).
    public static func missingFile(_ context: TLSContext, terminating: Bool, directory: String) -> String? {
        paths(context, terminating: terminating, directory: directory).first { access($0, R_OK) != 0 }
    }

    static func build(_ context: TLSContext, terminating: Bool, paths: [String]) -> Result<
        OpaquePointer, TLSSecretError
    > {
        guard let ctx = SSL_CTX_new(terminating ? TLS_server_method() : TLS_client_method()) else {
            return .failure(TLSSecretError(secret: context.secretName, message: "SSL_CTX_new failed"))
        }
        func fail(_ what: String) -> Result<OpaquePointer, TLSSecretError> {
            let code = ERR_peek_last_error()
            ERR_clear_error()
            SSL_CTX_free(ctx)
            return .failure(
                TLSSecretError(secret: context.secretName, message: what + ": " + TLSFailure.protocol(code).text))
        }
        _ = sluice_SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)
        SSL_CTX_set_options(ctx, sluice_SSL_OP_IGNORE_UNEXPECTED_EOF())
        _ = sluice_SSL_CTX_set_mode(
            ctx, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS))
        if terminating {
            guard SSL_CTX_use_certificate_chain_file(ctx, paths[0]) == 1 else { return fail("cannot load " + paths[0]) }
            guard SSL_CTX_use_PrivateKey_file(ctx, paths[1], SSL_FILETYPE_PEM) == 1 else {
                return fail("cannot load " + paths[1])
            }
            guard SSL_CTX_check_private_key(ctx) == 1 else { return fail("key does not match certificate") }
            SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
            // ALPN h2 then http/1.1; http/1.1 only (or the no_application_protocol alert for an
            // h2-only offer) on a connection TLSAcceptor marks (COpenSSL's sluice_alpn_select).
            sluice_SSL_CTX_offer_h2_and_http1(ctx)
        } else {
            guard SSL_CTX_load_verify_locations(ctx, paths[0], nil) == 1 else {
                return fail("cannot load " + paths[0])
            }
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
            _ = sluice_SSL_CTX_set_session_cache_mode(
                ctx, Int(SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE))
        }
        return .success(ctx)
    }
}

/// A secret that cannot be used: its name (`namespace/name`) and why.
struct TLSSecretError: Error, Equatable {
    var secret: String
    var message: String
}
