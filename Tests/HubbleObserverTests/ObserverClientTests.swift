import HubbleProto
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

extension ObserverClientTests {
    func testServerAddressSpellings() {
        XCTAssertEqual(ObserverClient.address("10.244.0.1:4244")?.port, 4244)
        XCTAssertEqual(ObserverClient.address("10.244.0.1")?.port, 4244, "Hubble's port when none is given")
        XCTAssertEqual(ObserverClient.address("tcp://localhost:4245")?.host, IPv4Address(127, 0, 0, 1))
        XCTAssertNil(ObserverClient.address("example.com:4244"))
        XCTAssertNil(ObserverClient.address("10.0.0.1:x"))
    }

    func testFlowsDecodesEachResponse() throws {
        let server = try TestServer()
        defer { server.stop() }
        server.ingest([TestServer.flow(1), TestServer.flow(2)])
        var times: [Int64] = []
        try server.client().flows(GetFlowsRequest()) {
            if case .flow(let f) = $0 { times.append(f.time.seconds) }
            return true
        }
        XCTAssertEqual(times, [1, 2])
    }
}
