import COpenSSL
import Foundation
import Glibc
import Policy
import SluiceTestSupport

@testable import Proxy

/// Certificates made for the interception tests with the `openssl` CLI (ECDSA P-256): a CA
/// trusted by the proxy's `originatingTLS` and the test client, a certificate for
/// `backend.test` signed by it, one for `other.test` signed by it, and `backend.test` signed by a
/// CA nobody trusts. Laid out as a secrets directory: `default/web/{tls.crt,tls.key}` and
/// `default/other/{tls.crt,tls.key}` (terminatingTLS), `default/ca/ca.crt` (originatingTLS).
final class TLSTestPKI {
    let root: String
    var secrets: String { root + "/secrets" }
    var caFile: String { root + "/ca.crt" }
    var serverCert: String { root + "/srv.crt" }
    var serverKey: String { root + "/srv.key" }
    var untrustedCert: String { root + "/bad.crt" }
    var untrustedKey: String { root + "/bad.key" }

    init() throws {
        root = NSTemporaryDirectory() + "sluice-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let script = """
            set -e
            cd '\(root)'
            openssl ecparam -name prime256v1 -genkey -noout -out ca.key
            openssl req -x509 -new -key ca.key -subj /CN=test-ca -days 2 -out ca.crt
            openssl ecparam -name prime256v1 -genkey -noout -out other.key
            openssl req -x509 -new -key other.key -subj /CN=other-ca -days 2 -out other.crt
            printf 'subjectAltName=DNS:backend.test,DNS:*.backend.test,IP:127.0.0.1\\n' > ext
            openssl ecparam -name prime256v1 -genkey -noout -out srv.key
            openssl req -new -key srv.key -subj /CN=backend.test -out srv.csr
            openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile ext -out srv.crt
            openssl ecparam -name prime256v1 -genkey -noout -out bad.key
            openssl req -new -key bad.key -subj /CN=backend.test -out bad.csr
            openssl x509 -req -in bad.csr -CA other.crt -CAkey other.key -CAcreateserial -days 2 -extfile ext -out bad.crt
            printf 'subjectAltName=DNS:other.test\n' > ext2
            openssl ecparam -name prime256v1 -genkey -noout -out oth.key
            openssl req -new -key oth.key -subj /CN=other.test -out oth.csr
            openssl x509 -req -in oth.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile ext2 -out oth.crt
            mkdir -p secrets/default/web secrets/default/ca secrets/default/other
            cp srv.crt secrets/default/web/tls.crt
            cp srv.key secrets/default/web/tls.key
            cp oth.crt secrets/default/other/tls.crt
            cp oth.key secrets/default/other/tls.key
            cp ca.crt secrets/default/ca/ca.crt
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw PKIError.openssl(process.terminationStatus) }
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    enum PKIError: Error { case openssl(Int32) }

    /// A server context presenting `cert`/`key`, ALPN h2/http1.1 as the proxy's (`alpn` false:
    /// no ALPN at all, as an HTTP/1.1-only server such as gunicorn).
    func serverContext(cert: String, key: String, alpn: Bool = true) -> OpaquePointer {
        let ctx = SSL_CTX_new(TLS_server_method())!
        SSL_CTX_use_certificate_chain_file(ctx, cert)
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM)
        if alpn { sluice_SSL_CTX_offer_h2_and_http1(ctx) }
        return ctx
    }

    /// A client context trusting the test CA only.
    func clientContext() -> OpaquePointer {
        let ctx = SSL_CTX_new(TLS_client_method())!
        SSL_CTX_load_verify_locations(ctx, caFile, nil)
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        return ctx
    }

    /// The egress policy of app=client toward app=backend on `port`, intercepted with
    /// `default/web` and `default/ca`, HTTP rules allowing `/allowed.*` only.
    static func policy(
        port: UInt16, serverNames: [String] = [], originating: Bool = true, terminating: Bool = true
    ) -> String {
        policy(
            toPorts: [
                portRule(
                    port: port, serverNames: serverNames, terminating: terminating ? "web" : nil,
                    originating: originating)
            ])
    }

    /// The egress policy of app=client toward app=backend with the port rules `toPorts`.
    static func policy(toPorts: [String]) -> String {
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: client-tls, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: client}}
          egress:
          - toEndpoints: [{matchLabels: {app: backend}}]
            toPorts:

        """ + toPorts.joined()
    }

    /// One port rule on `port` allowing `/allowed.*`: `serverNames`, `terminatingTLS` with the
    /// secret `default/<terminating>`, `originatingTLS` with `default/ca`.
    static func portRule(port: UInt16, serverNames: [String] = [], terminating: String?, originating: Bool) -> String {
        var rule = "    - ports: [{port: \"\(port)\", protocol: TCP}]\n"
        if !serverNames.isEmpty {
            rule += "      serverNames: [" + serverNames.map { "\"\($0)\"" }.joined(separator: ", ") + "]\n"
        }
        if let terminating { rule += "      terminatingTLS: {secret: {namespace: default, name: \(terminating)}}\n" }
        if originating { rule += "      originatingTLS: {secret: {namespace: default, name: ca}}\n" }
        return rule + "      rules:\n        http: [{path: \"/allowed.*\"}]\n"
    }

    static func egressSteer(_ snapshot: PolicySnapshot) -> SteerInfo {
        SteerInfo(
            endpointID: TestPolicy.clientID, sourceIdentity: snapshot.identity(ofEndpoint: TestPolicy.clientID) ?? 0,
            destinationIdentity: snapshot.identity(ofEndpoint: TestPolicy.backendID) ?? 0, direction: .egress)
    }
}

/// A blocking TLS endpoint over a test socket's fd (client or server side).
final class BlockingTLS {
    let ssl: OpaquePointer

    init?(fd: Int32, ctx: OpaquePointer, serverName: String? = nil, alpn: String? = nil, accept: Bool = false) {
        ssl = SSL_new(ctx)
        SSL_set_fd(ssl, fd)
        if let serverName {
            _ = sluice_SSL_set_tlsext_host_name(ssl, serverName)
            SSL_set1_host(ssl, serverName)
        }
        if let alpn {
            // A comma-separated offer, in order ("h2,http/1.1").
            var protos: [UInt8] = alpn.split(separator: ",").flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) }
            _ = SSL_set_alpn_protos(ssl, &protos, UInt32(protos.count))
        }
        let ok = accept ? SSL_accept(ssl) : SSL_connect(ssl)
        if ok != 1 {
            // deinit frees `ssl` (the object is whole when the init fails here)
            ERR_clear_error()
            return nil
        }
    }

    deinit { SSL_free(ssl) }

    var alpn: String {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data else { return "" }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    var resumed: Bool { SSL_session_reused(ssl) == 1 }

    /// The subject common name of the certificate the peer presented ("" when none).
    var peerCommonName: String {
        guard let cert = SSL_get1_peer_certificate(ssl) else { return "" }
        defer { X509_free(cert) }
        var buffer = [CChar](repeating: 0, count: 256)
        _ = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, &buffer, Int32(buffer.count))
        return String(cString: buffer)
    }

    func send(_ text: String) {
        var bytes = Array(text.utf8)
        _ = SSL_write(ssl, &bytes, Int32(bytes.count))
    }

    /// Reads until `marker` was seen and then `extra` more bytes, or the end.
    func read(through marker: String, extra: Int = 0) -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let m = Array(marker.utf8)
        while true {
            if let r = received.firstRange(of: m), received.count >= r.upperBound + extra {
                return String(decoding: received, as: UTF8.self)
            }
            let n = SSL_read(ssl, &buffer, Int32(buffer.count))
            if n <= 0 { return String(decoding: received, as: UTF8.self) }
            received += buffer[..<Int(n)]
        }
    }
}

/// An upstream script answering each request on a TLS connection with `200` and body `ok`,
/// until the client closes; `accepted` hears whether the session was resumed.
func tlsUpstreamScript(_ ctx: OpaquePointer, resumed: @escaping (Bool) -> Void = { _ in }) -> (TestSocket) -> Void {
    nonisolated(unsafe) let ctx = ctx
    return { socket in
        guard let tls = BlockingTLS(fd: socket.fd, ctx: ctx, accept: true) else { return }
        resumed(tls.resumed)
        while true {
            let head = tls.read(through: "\r\n\r\n")
            if head.isEmpty { return }
            tls.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        }
    }
}

/// What the test's server threads heard, in order (a value per event), read from the test's
/// thread.
final class Heard<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var heard: [Value] = []

    func append(_ value: Value) {
        lock.lock()
        heard.append(value)
        lock.unlock()
    }

    var values: [Value] {
        lock.lock()
        defer { lock.unlock() }
        return heard
    }

    var count: Int { values.count }
}
