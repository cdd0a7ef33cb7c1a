import Foundation
import SluiceJSON
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

    /// endpoints.json crosses codecs in production: the agent writes it with SluiceJSON (sorted,
    /// pretty: Agent.writeEndpointDirectory), `sluice observe` reads it with Foundation's
    /// JSONDecoder (Observe.loadDirectory). Labels carry what each codec escapes differently.
    func testEndpointsFileWrittenByTheAgentIsReadByTheCLI() throws {
        let odd = [
            "k8s:app=wéb", "k8s:io.kubernetes.pod.namespace=a/b", "x=quote\"back\\slash", "e=😀",
            "t=tab\there", "u=\u{7F}\u{2028}",
        ]
        let file = EndpointDirectory.File(
            nodeName: "sluice-node",
            endpoints: [
                FlowFixtures.client, FlowFixtures.server,
                .init(
                    id: UInt32.max, namespace: "ns/é", pod: "p\"q", ipv4: "10.244.255.254",
                    identity: UInt32.max, labels: odd),
            ],
            identities: [
                .init(identity: 5, labels: ["reserved:init"]), .init(identity: 0x0100_0001, labels: odd),
                .init(identity: 7, labels: []),
            ])
        let written = try JSON.encode(file, sortedKeys: true, pretty: true)
        XCTAssertEqual(try JSONDecoder().decode(EndpointDirectory.File.self, from: Data(written)), file)
        // And what observe does with it: the same names and labels.
        let directory = EndpointDirectory(
            file: try JSONDecoder().decode(EndpointDirectory.File.self, from: Data(written)))
        XCTAssertEqual(directory.endpoint(id: UInt32.max)?.pod, "p\"q")
        XCTAssertEqual(directory.labels(identity: 0x0100_0001), odd)
    }
}
