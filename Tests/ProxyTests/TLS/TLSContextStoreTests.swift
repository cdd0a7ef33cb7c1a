import COpenSSL
import Foundation
import Policy
import XCTest

@testable import Proxy

/// `TLSContextStore`: contexts from the secrets directory, the missing file named, a context
/// rebuilt when its files change and kept while they do not, the last good one kept while a
/// rewrite is half done.
final class TLSContextStoreTests: XCTestCase {
    private let web = TLSContext(namespace: "default", name: "web")
    private let ca = TLSContext(namespace: "default", name: "ca")

    func testMissingFilesAreNamed() throws {
        let pki = try TLSTestPKI()
        XCTAssertNil(TLSContextStore.missingFile(web, terminating: true, directory: pki.secrets))
        XCTAssertNil(TLSContextStore.missingFile(ca, terminating: false, directory: pki.secrets))
        XCTAssertEqual(
            TLSContextStore.missingFile(ca, terminating: true, directory: pki.secrets),
            pki.secrets + "/default/ca/tls.crt", "a CA-only secret cannot terminate")
        XCTAssertEqual(
            TLSContextStore.missingFile(
                TLSContext(namespace: "x", name: "y"), terminating: false, directory: pki.secrets),
            pki.secrets + "/x/y/ca.crt")
        let store = TLSContextStore(directory: pki.secrets)
        guard case .failure(let error) = store.serverContext(TLSContext(namespace: "x", name: "y"), now: 0) else {
            return XCTFail("a missing secret has no context")
        }
        XCTAssertEqual(error.secret, "x/y")
        XCTAssertTrue(error.message.contains("/x/y/tls.crt"), error.message)
    }

    func testContextIsRebuiltWhenItsFilesChange() throws {
        let pki = try TLSTestPKI()
        let store = TLSContextStore(directory: pki.secrets, recheckNs: 10)
        guard case .success(let first) = store.serverContext(web, now: 100) else { return XCTFail("no context") }
        guard case .success(let again) = store.serverContext(web, now: 200) else { return XCTFail("no context") }
        XCTAssertEqual(first, again, "unchanged files: the same context")
        let dir = pki.secrets + "/default/web/"
        let files = FileManager.default
        try files.removeItem(atPath: dir + "tls.crt")
        try files.removeItem(atPath: dir + "tls.key")
        try files.copyItem(atPath: pki.untrustedCert, toPath: dir + "tls.crt")
        guard case .success(let halfway) = store.serverContext(web, now: 300) else {
            return XCTFail("the last good context is kept while the key is missing")
        }
        XCTAssertEqual(halfway, first)
        try files.copyItem(atPath: pki.untrustedKey, toPath: dir + "tls.key")
        guard case .success(let renewed) = store.serverContext(web, now: 400) else { return XCTFail("no context") }
        XCTAssertNotEqual(renewed, first, "a renewed certificate gives a new context")
        let ssl = SSL_new(renewed)!
        defer { SSL_free(ssl) }
        let cert = SSL_get_certificate(ssl)!
        let issuer = X509_NAME_oneline(X509_get_issuer_name(cert), nil, 0)!
        defer { free(issuer) }
        XCTAssertEqual(String(cString: issuer), "/CN=other-ca")
    }

    func testTerminatingContextRequestsNoClientCertificateEvenWithACA() throws {
        let pki = try TLSTestPKI()
        // The secret has a ca.crt beside tls.crt and tls.key (as cert-manager writes them).
        try FileManager.default.copyItem(atPath: pki.caFile, toPath: pki.secrets + "/default/web/ca.crt")
        let store = TLSContextStore(directory: pki.secrets)
        guard case .success(let ctx) = store.serverContext(web, now: 0) else { return XCTFail("no context") }
        XCTAssertEqual(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_NONE, "no CertificateRequest is sent")
        XCTAssertEqual(
            SSL_CTX_get_client_CA_list(ctx).map { OPENSSL_sk_num($0) } ?? 0, 0, "no client CA names from ca.crt")
        XCTAssertEqual(
            OPENSSL_sk_num(X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx))), 0,
            "the ca.crt is not loaded as a trust anchor for clients")
    }

    func testClientContextTrustsOnlyTheSecretsCA() throws {
        let pki = try TLSTestPKI()
        let store = TLSContextStore(directory: pki.secrets)
        guard case .success(let ctx) = store.clientContext(ca, now: 0) else { return XCTFail("no context") }
        XCTAssertEqual(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_PEER)
        let roots = X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx))
        XCTAssertEqual(OPENSSL_sk_num(roots), 1, "the secret's CA and nothing else")
    }

    func testKernelOffloadOptionIsSetOnlyWhenAsked() throws {
        let pki = try TLSTestPKI()
        for offload in [false, true] {
            let store = TLSContextStore(directory: pki.secrets, kernelOffload: offload)
            guard case .success(let ctx) = store.serverContext(web, now: 0) else { return XCTFail("no context") }
            XCTAssertEqual(SSL_CTX_get_options(ctx) & sluice_SSL_OP_ENABLE_KTLS() != 0, offload)
            XCTAssertNotEqual(
                SSL_CTX_get_options(ctx) & sluice_SSL_OP_IGNORE_UNEXPECTED_EOF(), 0,
                "an EOF without close_notify ends a body that runs to the connection's end")
        }
    }
}
