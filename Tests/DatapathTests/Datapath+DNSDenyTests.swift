import CSluiceShared
import XCTest

@testable import Datapath

/// The deny cache's maps from the agent's side: an entry goes in and comes back, the generation
/// moves on every steering map write and every policy snapshot, and on every open (so no entry of
/// an earlier run is used); nothing is answered before tc answers.
final class DatapathDNSDenyTests: XCTestCase {
    func testAnEntryGoesInAndComesBack() throws {
        let t = try TestDatapath()
        defer { t.close() }
        var key = sluice_dns_deny_key()
        key.client_ip4 = Fixture.podA
        key.server_ip4 = Fixture.outside
        key.server_port = 53
        key.name_len = 1
        var value = sluice_dns_deny_value()
        value.generation = 5
        value.rcode = 5
        XCTAssertNil(t.datapath.dnsDenial(key))
        XCTAssertTrue(t.datapath.insertDNSDenial(&key, &value))
        XCTAssertEqual(t.datapath.dnsDenial(key)?.generation, 5)
        key.server_port = 5353
        XCTAssertNil(t.datapath.dnsDenial(key))
        XCTAssertEqual(t.datapath.dnsDenialsAnsweredInDatapath(), 0)
    }

    func testTheGenerationMovesOnMapWritesPoliciesAndOpens() throws {
        let t = try TestDatapath()
        defer { t.close() }
        let first = t.datapath.dnsDenyGeneration
        XCTAssertGreaterThan(first, 0, "moved when opened")
        try t.datapath.setEndpoint(
            ipv4: Fixture.podA, info: sluice_endpoint_info(id: 1, identity: 1001, ifindex: 0, flags: 0))
        let afterEndpoint = t.datapath.dnsDenyGeneration
        XCTAssertGreaterThan(afterEndpoint, first)
        t.datapath.steeringEpoch.denyPolicyChanged()
        XCTAssertEqual(t.datapath.dnsDenyGeneration, afterEndpoint + 1)
        // Another open of the same pins (an agent restart) starts past every entry of this one.
        let again = try Datapath.open(objectDirectory: TestDatapath.objectDirectory(), pinDirectory: t.pinDirectory)
        defer { again.close() }
        XCTAssertEqual(again.dnsDenyGeneration, afterEndpoint + 2)
        XCTAssertEqual(t.datapath.dnsDenyGeneration, afterEndpoint + 2, "one word, shared")
    }
}
