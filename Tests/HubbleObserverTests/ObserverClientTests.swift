import SluiceModel
import XCTest

@testable import HubbleObserver

final class ObserverClientTests: XCTestCase {
    func testConnectFailureIsAnError() throws {
        let server = try TestServer()
        let port = server.port
        server.stop()
        server.service.acceptor?.close()
        XCTAssertThrowsError(try ObserverClient(host: IPv4Address(127, 0, 0, 1), port: port, timeoutMs: 1_000)) {
            XCTAssertTrue(($0 as? ObserverClient.Failure)?.description.hasPrefix("connect 127.0.0.1:") ?? false)
        }
    }

    func testUnaryNeedsAMessage() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.client()
        var messages = 0
        try client.call(path: "/grpc.health.v1.Health/Check", request: []) { _ in
            messages += 1
            return true
        }
        XCTAssertEqual(messages, 1)
    }
}
