import Flows
import Foundation
import Policy
@testable import Proxy
import XCTest

final class HTTP1ConnectionTests: XCTestCase {
    func testSmoke() throws {
        let upstream = try XCTUnwrap(UpstreamServer(script: UpstreamServer.echoRequestLine))
        defer { upstream.stop() }
        let snapshot = try TestPolicy.snapshot(TestPolicy.yaml(port: upstream.port))
        let proxy = try ProxyHarness(snapshot: snapshot, steer: TestPolicy.ingressSteer(snapshot))
        defer { proxy.stop() }
        let client = try proxy.connect(upstreamPort: upstream.port)
        client.send("GET /allowed HTTP/1.1\r\nhost: backend\r\n\r\n")
        let response = String(decoding: client.readMessage(), as: UTF8.self)
        XCTAssertEqual(response, "HTTP/1.1 200 OK\r\ncontent-length: 24\r\n\r\nGET /allowed HTTP/1.1")
        print(proxy.sink.flows)
    }
}
