import Foundation
import SluiceJSON
import SluiceTestSupport
import XCTest

@testable import KubeClient

/// Kubeconfig parsing (the fake API server's form, JSON, quoting, files) and the in-cluster
/// service account.
final class KubeConfigTests: XCTestCase {
    private let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

    private var pemBase64: String { Data(pem.utf8).base64EncodedString() }

    func testParsesTheFakeServersKubeconfig() throws {
        let text = """
            apiVersion: v1
            kind: Config
            clusters:
            - name: other
              cluster:
                server: https://10.0.0.1:6443
            - name: sluice-fake
              cluster:
                server: https://127.0.0.1:40123/
                certificate-authority-data: \(pemBase64)
            users:
            - name: sluice-fake-admin
              user:
                token: abc.DEF-123  # comment
            contexts:
            - name: sluice-fake
              context:
                cluster: sluice-fake
                user: sluice-fake-admin
                namespace: team-a
            current-context: "sluice-fake"
            preferences: {}

            """
        let config = try KubeConfig.parse(text)
        XCTAssertEqual(
            config, KubeConfig(server: "https://127.0.0.1:40123", caPEM: pem, token: "abc.DEF-123", namespace: "team-a")
        )
        let hp = try config.hostAndPort()
        XCTAssertEqual(hp.host, "127.0.0.1")
        XCTAssertEqual(hp.port, 40123)
    }

    func testSequenceItemsAtTheKeysIndentationAndQuotedScalars() throws {
        let text = """
            clusters:
              - cluster:
                  server: 'https://[::1]:6443'
                name: c
            users:
            - name: u
              user:
                token: "t\\u0041"
            contexts:
            - context: {}
              name: x
            - context:
                cluster: c
                user: u
              name: ctx
            current-context: ctx
            """
        let config = try KubeConfig.parse(text)
        XCTAssertEqual(config.server, "https://[::1]:6443")
        XCTAssertEqual(config.token, "tA")
        XCTAssertNil(config.caPEM)
        XCTAssertEqual(config.namespace, "default")
        let hp = try config.hostAndPort()
        XCTAssertEqual(hp.host, "::1")
        XCTAssertEqual(hp.port, 6443)
    }

    func testJSONKubeconfigAndFilesRelativeToTheKubeconfig() throws {
        let dir = NSTemporaryDirectory() + "kubeconfig-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try pem.write(toFile: dir + "/ca.pem", atomically: true, encoding: .utf8)
        try "secret\n".write(toFile: dir + "/tok", atomically: true, encoding: .utf8)
        let json = """
            {"clusters":[{"name":"c","cluster":{"server":"https://k.example:443","certificate-authority":"ca.pem"}}],
             "users":[{"name":"u","user":{"tokenFile":"tok"}}],
             "contexts":[{"name":"x","context":{"cluster":"c","user":"u"}}],"current-context":"x"}
            """
        try json.write(toFile: dir + "/config", atomically: true, encoding: .utf8)
        let config = try KubeConfig.load(path: dir + "/config")
        XCTAssertEqual(config, KubeConfig(server: "https://k.example:443", caPEM: pem, token: "secret"))
    }

    func testRefusesWhatItCannotUse() {
        func message(_ text: String) -> String? {
            do {
                _ = try KubeConfig.parse(text)
                return nil
            } catch { return error.message }
        }
        let cluster = "clusters:\n- name: c\n  cluster:\n    server: https://h:1\n"
        let context = "contexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n"
        XCTAssertEqual(
            message(cluster + "users:\n- name: u\n  user:\n    client-certificate-data: AAAA\n" + context),
            "kubeconfig: only token authentication is supported (not client certificates or exec plugins)")
        XCTAssertEqual(
            message("clusters:\n- name: c\n  cluster:\n    server: http://h:1\n" + context),
            "server http://h:1 is not an https:// URL")
        XCTAssertEqual(
            message(
                cluster
                    + "contexts:\n- name: y\n  context:\n    cluster: c\n- name: z\n  context: {}\ncurrent-context: x\n"
            ),
            "kubeconfig: contexts has no entry x")
        XCTAssertEqual(message("clusters:\n  - name: c\n   bad: 1\n"), "kubeconfig line 3: unexpected indentation")
        XCTAssertEqual(
            message(cluster + "users:\n- name: u\n  user:\n    token: |\n      x\n" + context),
            "kubeconfig line 8: flow collections, block scalars and anchors are not supported")
        XCTAssertEqual(
            message(
                "clusters:\n- name: c\n  cluster:\n    server: https://h:1\n    certificate-authority-data: '%%'\n"
                    + context),
            "kubeconfig: certificate-authority-data is not base64")
        XCTAssertEqual(
            message("clusters:\n- name: c\n  cluster:\n    server: https://h:99999\n" + context),
            "server https://h:99999: bad port 99999")
    }

    func testInCluster() throws {
        let dir = NSTemporaryDirectory() + "sa-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "tok\n".write(toFile: dir + "/token", atomically: true, encoding: .utf8)
        try pem.write(toFile: dir + "/ca.crt", atomically: true, encoding: .utf8)
        try "kube-system".write(toFile: dir + "/namespace", atomically: true, encoding: .utf8)
        let config = try KubeConfig.inCluster(
            environment: ["KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"], directory: dir)
        XCTAssertEqual(
            config, KubeConfig(server: "https://[fd00::1]:443", caPEM: pem, token: "tok", namespace: "kube-system"))
        XCTAssertThrowsError(try KubeConfig.inCluster(environment: [:], directory: dir))
        XCTAssertThrowsError(
            try KubeConfig.inCluster(
                environment: ["KUBERNETES_SERVICE_HOST": "h", "KUBERNETES_SERVICE_PORT": "1"],
                directory: dir + "/missing"))
    }

    func testBase64MatchesFoundation() {
        var random = SystemRandomNumberGenerator()
        for length in 0..<70 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            XCTAssertEqual(Base64.decode(Data(bytes).base64EncodedString()), bytes)
        }
        XCTAssertNil(Base64.decode("ab$c"))
    }

    /// Any text, including valid kubeconfigs with characters changed, gives a config or an error,
    /// never a trap.
    func testMutatedKubeconfigsNeverTrap() throws {
        var random = SeededRandom(seed: 0x5EED_C0F1)
        let valid =
            Array(
                "clusters:\n- name: c\n  cluster:\n    server: https://h:1\n    certificate-authority-data: QUJD\n"
                    .utf8)
            + Array("users:\n- name: u\n  user:\n    token: 't'\ncontexts:\n- name: x\n  context:\n".utf8)
            + Array("    cluster: c\n    user: u\ncurrent-context: \"x\"\n".utf8)
        XCTAssertEqual(try KubeConfig.parse(String(decoding: valid, as: UTF8.self)).server, "https://h:1")
        let alphabet = Array(" -:\n\t'\"#{}[]|>&*~abcx0".utf8)
        var parsed = 0
        for _ in 0..<3000 {
            var text = valid
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                text[Int.random(in: 0..<text.count, using: &random)] = alphabet.randomElement(using: &random)!
            }
            if (try? KubeConfig.parse(String(decoding: text, as: UTF8.self))) != nil { parsed += 1 }
        }
        XCTAssertGreaterThan(parsed, 100, "some mutations still parse")
        XCTAssertLessThan(parsed, 3000, "some mutations are refused")
    }
}
