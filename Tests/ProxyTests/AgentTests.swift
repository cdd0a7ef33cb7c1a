import CSluiceShared
import Policy
@testable import Proxy
import XCTest

/// The pure parts of `Agent`: the L7 port map it hands the datapath, and IPv4 text.
final class AgentTests: XCTestCase {
    func testL7EntriesMapDirectionAndKind() throws {
        let yaml = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: mixed, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: backend}}
          ingress:
          - fromEndpoints: [{matchLabels: {app: client}}]
            toPorts:
            - ports: [{port: "80", protocol: TCP}]
              rules: {http: [{method: GET}]}
          egress:
          - toEndpoints: [{matchLabels: {app: client}}]
            toPorts:
            - ports: [{port: "53", protocol: UDP}, {port: "53", protocol: TCP}]
              rules: {dns: [{matchPattern: "*"}]}
            - ports: [{port: "8080", protocol: TCP}]
              rules: {http: [{path: "/x"}]}
        """
        let snapshot = try TestPolicy.snapshot(yaml)
        let entries = Agent.l7Entries(snapshot)
        let ingress = UInt8(SLUICE_DIR_INGRESS.rawValue)
        let egress = UInt8(SLUICE_DIR_EGRESS.rawValue)
        func kind(_ port: UInt16, _ proto: UInt8, _ direction: UInt8) -> UInt32? {
            entries[sluice_l7_key(endpoint_id: TestPolicy.backendID, port: port, proto: proto, direction: direction)]
                .map { UInt32($0.kind) }
        }
        XCTAssertEqual(entries.count, 4)
        XCTAssertEqual(kind(80, 6, ingress), SLUICE_PROXY_HTTP.rawValue)
        XCTAssertEqual(kind(8080, 6, egress), SLUICE_PROXY_HTTP.rawValue)
        XCTAssertEqual(kind(53, 17, egress), SLUICE_PROXY_DNS_UDP.rawValue)
        XCTAssertEqual(kind(53, 6, egress), SLUICE_PROXY_DNS_TCP.rawValue)
        XCTAssertNil(kind(80, 6, egress))
        XCTAssertEqual(entries.count, snapshot.l7Ports.count)
    }

    func testL7EntriesOfAnEmptySnapshotAreEmpty() throws {
        let repository = PolicyRepository()
        var allocator = IdentityAllocator()
        XCTAssertTrue(Agent.l7Entries(repository.compile(endpoints: TestPolicy.endpoints, allocator: &allocator)).isEmpty)
    }

    func testIPv4TextParsesToNetworkOrder() {
        XCTAssertEqual(IPv4Text.parse("10.244.0.1"), UInt32(bigEndian: 0x0AF4_0001))
        XCTAssertEqual(IPv4Text.parse("127.0.0.1"), 0x0100_007F)
        XCTAssertEqual(IPv4Text.parse("0.0.0.0"), 0)
        XCTAssertEqual(IPv4Text.parse("255.255.255.255"), 0xFFFF_FFFF)
    }

    func testIPv4TextRejectsMalformedText() {
        for text in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-4", "a.b.c.d", "1..2.3", "1.2.3.4 ", " 1.2.3.4"] {
            XCTAssertNil(IPv4Text.parse(text), text)
        }
    }

    func testIPv4TextRoundTrips() {
        for ip: UInt32 in [0, 0x0100_007F, 0x0100_F40A, 0xFFFF_FFFF, 0x0403_0201] {
            XCTAssertEqual(IPv4Text.parse(IPv4Text.format(ip)), ip)
        }
        XCTAssertEqual(IPv4Text.format(UInt32(bigEndian: 0x0A00_0003)), "10.0.0.3")
    }
}
