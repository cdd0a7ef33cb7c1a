import Foundation
import SluiceModel
import XCTest

@testable import Sandbox

/// The sandbox CA and certificates made for real with the openssl command line, checked with
/// `openssl verify` and `x509 -checkhost`; the secrets' layout and modes; what `down` removes.
final class SandboxManagerTLSTests: XCTestCase {
    private var root = ""

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "sandbox-tls-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: root)
    }

    private func manager() -> SandboxManager {
        SandboxManager(stateDirectory: root + "/sandbox", secretsDirectory: root + "/secrets")
    }

    private func tls() throws -> SandboxTLS {
        let topology = Topology(
            namespaces: [NamespaceSpec(name: "backend")],
            pods: [PodSpec(name: "web", namespace: "backend", servers: [ServerSpec(kind: .https, port: 443)])],
            world: [
                WorldSpec(
                    name: "api.example.com", addresses: [IPv4Address(192, 0, 2, 10)],
                    servers: [ServerSpec(kind: .https, port: 8443)])
            ])
        return SandboxTLS(plan: try SandboxPlan(topology: topology))
    }

    private func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return try XCTUnwrap(attributes[.posixPermissions] as? Int) & 0o777
    }

    func testCertificatesVerifyAgainstTheCAForTheirNames() throws {
        let manager = manager()
        try manager.makeCertificates(try tls())
        let ca = manager.tlsDirectory + "/ca.crt"
        let web = manager.secretsDirectory + "/backend/web-tls/tls.crt"
        let api = manager.secretsDirectory + "/world/api.example.com-tls/tls.crt"
        for certificate in [web, api] {
            let output = try CommandRunner.run(["openssl", "verify", "-CAfile", ca, certificate])
            XCTAssertEqual(output, "\(certificate): OK\n")
        }
        let webHost = try CommandRunner.run([
            "openssl", "x509", "-in", web, "-noout", "-checkhost", "web.backend.svc.cluster.local",
        ])
        XCTAssertTrue(webHost.contains("does match"), webHost)
        let wrongHost = try CommandRunner.run([
            "openssl", "x509", "-in", web, "-noout", "-checkhost", "api.example.com",
        ])
        XCTAssertTrue(wrongHost.contains("does NOT match"), wrongHost)
        let apiIP = try CommandRunner.run(["openssl", "x509", "-in", api, "-noout", "-checkip", "192.0.2.10"])
        XCTAssertTrue(apiIP.contains("does match"), apiIP)
        let curve = try CommandRunner.run(["openssl", "x509", "-in", ca, "-noout", "-text"])
        XCTAssertTrue(curve.contains("prime256v1") && curve.contains("CA:TRUE"), curve)
    }

    func testSecretsLayoutAndModes() throws {
        let manager = manager()
        try manager.makeCertificates(try tls())
        let secrets = manager.secretsDirectory
        XCTAssertEqual(
            FileManager.default.contents(atPath: secrets + "/kube-system/sandbox-ca/ca.crt"),
            FileManager.default.contents(atPath: manager.tlsDirectory + "/ca.crt"))
        XCTAssertEqual(
            FileManager.default.contents(atPath: secrets + "/backend/web-tls/tls.key"),
            FileManager.default.contents(atPath: manager.tlsDirectory + "/backend/web-tls/tls.key"))
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: secrets + "/backend/web-tls").sorted(),
            ["tls.crt", "tls.key"])
        XCTAssertEqual(try mode(secrets), 0o700)
        XCTAssertEqual(try mode(secrets + "/backend/web-tls/tls.key"), 0o600)
        XCTAssertEqual(try mode(secrets + "/backend/web-tls/tls.crt"), 0o644)
        XCTAssertEqual(try mode(manager.tlsDirectory + "/ca.key"), 0o600)
        XCTAssertEqual(try mode(manager.tlsDirectory + "/backend/web-tls/tls.key"), 0o600)
        let files = try XCTUnwrap(manager.tlsFiles(try tls().identity(owner: "backend/web")))
        XCTAssertEqual(files.certificate, manager.tlsDirectory + "/backend/web-tls/tls.crt")
        XCTAssertNil(manager.tlsFiles(nil))
    }

    func testDownRemovesASecretsDirectoryTheSandboxCreated() throws {
        let manager = manager()
        try manager.makeCertificates(try tls())
        // A test's own secret added while the sandbox was up goes too.
        try FileManager.default.createDirectory(
            atPath: manager.secretsDirectory + "/backend/extra", withIntermediateDirectories: true)
        var problems: [String] = []
        manager.removeSecrets(problems: &problems)
        XCTAssertEqual(problems, [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: manager.secretsDirectory))
    }

    func testDownKeepsWhatWasInAnExistingSecretsDirectory() throws {
        let manager = manager()
        let own = manager.secretsDirectory + "/backend/operator-tls"
        try FileManager.default.createDirectory(atPath: own, withIntermediateDirectories: true)
        try manager.makeCertificates(try tls())
        var problems: [String] = []
        manager.removeSecrets(problems: &problems)
        XCTAssertEqual(problems, [])
        XCTAssertTrue(FileManager.default.fileExists(atPath: own))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: manager.secretsDirectory), ["backend"])
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: manager.secretsDirectory + "/backend"),
            ["operator-tls"])
    }

    func testDownWithoutManifestTouchesNothing() throws {
        let manager = manager()
        let own = manager.secretsDirectory + "/backend/web-tls"
        try FileManager.default.createDirectory(atPath: own, withIntermediateDirectories: true)
        var problems: [String] = []
        manager.removeSecrets(problems: &problems)
        XCTAssertEqual(problems, [])
        XCTAssertTrue(FileManager.default.fileExists(atPath: own))
    }

    func testOpenSSLFailureNamesTheCommand() throws {
        let manager = SandboxManager(stateDirectory: "/proc/no-such-dir/sandbox", secretsDirectory: root + "/s")
        XCTAssertThrowsError(try manager.makeCertificates(try tls())) { error in
            XCTAssertTrue("\(error)".contains("/proc/no-such-dir/sandbox/tls"), "\(error)")
        }
    }
}
