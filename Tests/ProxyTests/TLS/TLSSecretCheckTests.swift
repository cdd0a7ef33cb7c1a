import Foundation
import Policy
import SluiceTestSupport
import XCTest

@testable import Proxy

/// `TLSSecretCheck`: the secrets of the policies in force that are missing or do not load are
/// named, each once, with the file and what the proxy does about it; usable ones say nothing.
final class TLSSecretCheckTests: XCTestCase {
    private func documents(_ yaml: String) throws -> [PolicyDocument] {
        let repository = PolicyRepository()
        try repository.apply(yamlText: yaml, fileName: "test.yaml")
        return repository.documentsInForce
    }

    func testUsableSecretsSayNothing() throws {
        let pki = try TLSTestPKI()
        XCTAssertEqual(
            TLSSecretCheck.problems(try documents(TLSTestPKI.policy(port: 8443)), directory: pki.secrets), [])
    }

    func testMissingAndBrokenSecretsAreNamed() throws {
        let pki = try TLSTestPKI()
        let docs = try documents(
            TLSTestPKI.policy(port: 8443) + "---\n"
                + TLSTestPKI.policy(port: 9443)
                .replacingOccurrences(of: "name: client-tls", with: "name: client-tls-2"))
        let files = FileManager.default
        try files.removeItem(atPath: pki.secrets + "/default/web/tls.key")
        try "not a certificate\n".write(toFile: pki.secrets + "/default/ca/ca.crt", atomically: true, encoding: .utf8)
        let lines = TLSSecretCheck.problems(docs, directory: pki.secrets)
        XCTAssertEqual(lines.count, 2, "each secret once, though two policies name them: \(lines)")
        XCTAssertEqual(
            lines.first,
            "TLS secret \"default/web\" (terminatingTLS of ciliumnetworkpolicy.cilium.io/default/client-tls): "
                + pki.secrets + "/default/web/tls.key is missing; "
                + "its intercepted connections are reset (ERROR flow, downstream ENOENT)")
        XCTAssertTrue(
            lines.last?.hasPrefix(
                "TLS secret \"default/ca\" (originatingTLS of ciliumnetworkpolicy.cilium.io/default/client-tls): cannot load "
                    + pki.secrets + "/default/ca/ca.crt") == true, lines.last ?? "")
        XCTAssertTrue(lines.last?.hasSuffix("its requests are answered 503 (upstream ENOENT)") == true)
    }
}
