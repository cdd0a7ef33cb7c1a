import CSluiceShared
import Foundation
import SluiceModel
import XCTest

@testable import Flows

/// `source_names` / `destination_names` from the agent's toFQDNs cache file, as Hubble fills them
/// from its DNS cache: decoded, printed (JSON and compact) and filtered (`--fqdn`, `--from-fqdn`,
/// `--to-fqdn`).
final class FlowNamesTests: XCTestCase {
    /// The agent's `fqdn.json` (FQDNCache.encoded()): two names share 93.184.216.34.
    static let cacheFile = Array(
        """
        {"names":{"API.Example.com.":{"93.184.216.34":{"expiresNs":1,"lastSeenNs":1}},\
        "cdn.example.com.":{"93.184.216.34":{"expiresNs":2,"lastSeenNs":2},"93.184.216.35":{"expiresNs":2,"lastSeenNs":2}},\
        "bad.example.com.":{"not-an-ip":{"expiresNs":2,"lastSeenNs":2}}},"version":1}
        """.utf8)

    private let world = EndpointDirectory.Endpoint(
        id: 0, namespace: "", pod: "", ipv4: "93.184.216.34",
        identity: 0x0180_0001, labels: [])

    private func egressFlow(to address: String) throws -> Flow {
        let names = try XCTUnwrap(EndpointDirectory.namesFromFQDNCache(json: Self.cacheFile))
        let directory = FlowFixtures.directory.withNames(names)
        var target = world
        target.ipv4 = address
        let common = FlowFixtures.common(
            .forwarded, from: FlowFixtures.client, 40000, to: target, 443,
            time: FlowFixtures.mono(millis: 5), direction: .egress, local: false)
        var rec = sluice_flow()
        withUnsafeMutablePointer(to: &rec) { FlowRecordWriter.writeL3L4($0, common: common) }
        return Flow.decode(rec, directory: directory, monotonicToWallOffsetNs: FlowFixtures.offsetNs)
    }

    func testTheCacheFileGivesEachAddressItsNamesLowerCasedWithoutTheDot() throws {
        let names = try XCTUnwrap(EndpointDirectory.namesFromFQDNCache(json: Self.cacheFile))
        XCTAssertEqual(names[FlowFixtures.ip("93.184.216.34")], ["api.example.com", "cdn.example.com"])
        XCTAssertEqual(names[FlowFixtures.ip("93.184.216.35")], ["cdn.example.com"])
        XCTAssertEqual(names.count, 2, "an unparsable address is skipped")
        XCTAssertNil(EndpointDirectory.namesFromFQDNCache(json: Array("{not json".utf8)))
    }

    func testDecodedFlowsCarryTheNamesOfNonEndpointPeersOnly() throws {
        let f = try egressFlow(to: "93.184.216.34")
        XCTAssertEqual(f.destinationNames, ["api.example.com", "cdn.example.com"])
        XCTAssertEqual(f.sourceNames, [], "the client is a local endpoint: it has its pod name instead")
        XCTAssertEqual(try egressFlow(to: "93.184.216.99").destinationNames, [])
    }

    func testJSONAndCompactShowTheNames() throws {
        let f = try egressFlow(to: "93.184.216.34")
        let json = FlowPrinter.json(f)
        XCTAssertTrue(
            json.contains(#""node_name":"kind-worker","destination_names":["api.example.com","cdn.example.com"]"#),
            json)
        XCTAssertFalse(json.contains("source_names"))
        let line = FlowPrinter.compact(f, timeZone: PrintTimeZone.utc)
        XCTAssertTrue(
            line.contains("default/client-7d9f:40000 (ID:11231) <> api.example.com,cdn.example.com:443 (ID:25165825)"),
            line)
    }

    func testFQDNFiltersUseHubblesPatterns() throws {
        let f = try egressFlow(to: "93.184.216.34")
        func passes(_ option: FlowFilter.Option, _ value: String) throws -> Bool {
            var filter = FlowFilter()
            try filter.add(option, value)
            return filter.matches(f)
        }
        XCTAssertTrue(try passes(.toFQDN, "api.example.com"))
        XCTAssertTrue(try passes(.toFQDN, "API.EXAMPLE.COM."), "lower-cased, trailing dot dropped")
        XCTAssertTrue(try passes(.toFQDN, "*.example.com"))
        XCTAssertTrue(try passes(.toFQDN, "*"), "a star crosses dots")
        XCTAssertTrue(try passes(.toFQDN, "cdn.*"))
        XCTAssertFalse(try passes(.toFQDN, "example.com"), "the whole name must match")
        XCTAssertFalse(try passes(.toFQDN, "*.example.org"))
        XCTAssertFalse(try passes(.fromFQDN, "*"), "the source has no names")
        XCTAssertTrue(try passes(.fqdn, "api.example.com"), "either side")
        var filter = FlowFilter()
        XCTAssertThrowsError(try filter.add(.toFQDN, "api.example.com/x"))
        XCTAssertThrowsError(try filter.add(.toFQDN, ""))
    }

    func testGlobMatching() {
        func m(_ p: String, _ s: String) -> Bool { FQDNGlob(p)!.matches(s) }
        XCTAssertTrue(m("a*b*c", "axxbyyc"))
        XCTAssertTrue(m("a*c", "ac"))
        XCTAssertFalse(m("a*c", "acb"))
        XCTAssertTrue(m("**.x", "a.b.x"))
        XCTAssertFalse(m("a*", "b"))
    }
}
