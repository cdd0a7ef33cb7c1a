import Foundation
import XCTest
@testable import Flows

final class EndpointDirectoryTests: XCTestCase {
    func testDecodesTheAgentFileAndLooksUp() throws {
        let json = """
        {"nodeName":"sluice-node","endpoints":[{"id":7,"namespace":"ns","pod":"p","ipv4":"10.244.1.5",
        "identity":1000,"labels":["k8s:app=p"]}],"identities":[{"identity":2000,"labels":["k8s:app=q"]}]}
        """
        let d = try EndpointDirectory(json: Array(json.utf8))
        XCTAssertEqual(d.nodeName, "sluice-node")
        XCTAssertEqual(d.endpoint(id: 7)?.pod, "p")
        XCTAssertEqual(d.endpoint(ipv4NetworkOrder: FlowFixtures.ip("10.244.1.5"))?.id, 7)
        XCTAssertNil(d.endpoint(id: 8))
        XCTAssertEqual(d.labels(identity: 1000), ["k8s:app=p"])
        XCTAssertEqual(d.labels(identity: 2000), ["k8s:app=q"])
        XCTAssertEqual(d.labels(identity: 2), ["reserved:world"])
        XCTAssertEqual(d.labels(identity: 3000), [])
        XCTAssertEqual(d.labels(identity: 0x0180_0005), ["reserved:world"], "a learned toFQDNs IP is world")
        XCTAssertEqual(d.labels(identity: 0x0100_0005), [], "CIDR identities come from the document")
        XCTAssertThrowsError(try EndpointDirectory(json: Array("{}".utf8)))
    }

    func testFileRoundTripsThroughJSON() throws {
        let file = EndpointDirectory.File(nodeName: "n", endpoints: [FlowFixtures.client],
                                          identities: [.init(identity: 5, labels: ["reserved:init"])])
        let data = try JSONEncoder().encode(file)
        XCTAssertEqual(try JSONDecoder().decode(EndpointDirectory.File.self, from: data), file)
    }
}
