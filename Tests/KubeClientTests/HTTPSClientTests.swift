import Foundation
import SluiceJSON
import SluiceTestSupport
import XCTest

@testable import KubeClient

/// The HTTPS client against the fake API server on loopback: the CA and host check, the token,
/// the in-cluster files, chunked and sized bodies, a refused connection and a stop request.
final class HTTPSClientTests: XCTestCase {
    private var server: FakeAPIServer!

    override func setUpWithError() throws { server = try FakeAPIServer() }
    override func tearDown() { server?.close() }

    func testGetWithTheKubeconfigAndTheServiceAccount() throws {
        let config = try KubeConfig.load(path: server.dir + "/kubeconfig")
        XCTAssertEqual(config.server, server.url)
        let client = try HTTPSClient(config: config)
        let (status, body) = try client.getAll("/api/v1/namespaces/default", shouldStop: { false })
        XCTAssertEqual(status, 200)
        XCTAssertEqual(try JSONValue.parse(body)["metadata"]?["name"], .string("default"))

        let port = String(try config.hostAndPort().port)
        let inCluster = try KubeConfig.inCluster(
            environment: ["KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": port],
            directory: server.dir + "/serviceaccount")
        XCTAssertEqual(try HTTPSClient(config: inCluster).getAll("/api", shouldStop: { false }).0, 200)

        var noToken = config
        noToken.token = nil
        XCTAssertEqual(try HTTPSClient(config: noToken).getAll("/api", shouldStop: { false }).0, 401)
    }

    func testRefusesAServerTheCADoesNotSign() throws {
        var config = try KubeConfig.load(path: server.dir + "/kubeconfig")
        let other = try FakeAPIServer()
        defer { other.close() }
        config.caPEM = try String(contentsOfFile: other.dir + "/ca.crt", encoding: .utf8)
        XCTAssertThrowsError(try HTTPSClient(config: config).getAll("/api", shouldStop: { false })) { error in
            XCTAssertTrue("\(error)".hasPrefix("TLS handshake with 127.0.0.1:"), "\(error)")
        }
        config.caPEM = "not a certificate"
        XCTAssertThrowsError(try HTTPSClient(config: config)) {
            XCTAssertEqual("\($0)", "the CA data holds no PEM certificate")
        }
    }

    func testConnectionRefusedAndStop() throws {
        let config = try KubeConfig.load(path: server.dir + "/kubeconfig")
        let client = try HTTPSClient(config: config)
        try server.controlAction("stop")
        XCTAssertThrowsError(try client.getAll("/api", shouldStop: { false })) { error in
            XCTAssertTrue("\(error)".contains("Connection refused"), "\(error)")
        }
        try server.controlAction("start")
        // A watch that never ends by itself returns once shouldStop says so.
        let start = Date()
        var stop = false
        var bytes = 0
        XCTAssertThrowsError(
            try client.get(
                "/api/v1/namespaces?watch=true&allowWatchBookmarks=true", shouldStop: { stop },
                onHead: { XCTAssertEqual($0.status, 200) },
                onBody: { piece in
                    bytes += piece.count
                    stop = Date().timeIntervalSince(start) > 1
                    return true
                })
        ) { XCTAssertEqual("\($0)", "stopped") }
        XCTAssertGreaterThan(bytes, 0)
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
    }
}
