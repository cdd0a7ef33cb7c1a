import COpenSSL
import Glibc
import Policy
import XCTest

@testable import Proxy

/// `TLSOrigination`: the upstream SSL sends the client's SNI and checks that name (else the
/// destination address), a missing CA secret is ENOENT, the session key names the upstream.
final class TLSOriginationTests: XCTestCase {
    private let addresses = ConnectionAddresses(
        clientAddress: 0, clientPort: 1, originalDestinationAddress: UInt32(bigEndian: 0x0A00_0003),
        originalDestinationPort: 443)

    func testSessionKeyAndServerName() throws {
        let pki = try TLSTestPKI()
        let store = TLSContextStore(directory: pki.secrets)
        let o = TLSOrigination(
            context: TLSContext(namespace: "default", name: "ca"), serverName: "api.test", addresses: addresses)
        XCTAssertEqual(o.sessionKey, "10.0.0.3:443/api.test")
        guard case .success(let ssl) = o.makeSSL(fd: -1, store: store, now: 0, alpn: "h2") else {
            return XCTFail("no SSL")
        }
        defer { SSL_free(ssl) }
        XCTAssertEqual(sluice_SSL_get_servername(ssl).map { String(cString: $0) }, "api.test")
        XCTAssertEqual(
            X509_VERIFY_PARAM_get0_host(SSL_get0_param(ssl), 0).map { String(cString: $0) }, "api.test",
            "the certificate must name the SNI")
        XCTAssertEqual(o.address, "10.0.0.3")
    }

    func testMissingCAIsENOENT() throws {
        let pki = try TLSTestPKI()
        let store = TLSContextStore(directory: pki.secrets)
        let o = TLSOrigination(
            context: TLSContext(namespace: "default", name: "nope"), serverName: nil, addresses: addresses)
        guard case .failure(let error) = o.makeSSL(fd: -1, store: store, now: 0, alpn: "http/1.1") else {
            return XCTFail("a missing CA must not give an SSL")
        }
        XCTAssertEqual(error.errno, ENOENT)
    }
}
