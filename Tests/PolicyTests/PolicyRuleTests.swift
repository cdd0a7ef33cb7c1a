import XCTest

@testable import Policy

/// Which peer selections apply to every identity (an L4-only rule) and which to none.
final class PolicyRuleTests: XCTestCase {
    func testWildcardTruthTable() {
        XCTAssertTrue(PeerSelection().isWildcard, "no L3 field: every peer")
        XCTAssertTrue(PeerSelection(explicitlyEveryone: true).isWildcard)
        XCTAssertFalse(PeerSelection(endpoints: [.init()]).isWildcard)
        XCTAssertFalse(PeerSelection(entities: ["world"]).isWildcard)
        XCTAssertFalse(PeerSelection(cidrs: [CIDRRule(cidr: "10.0.0.0/8", except: [])]).isWildcard)
        XCTAssertFalse(PeerSelection(fqdns: [FQDNSelector(pattern: FQDNPattern(matchName: "a.com"))]).isWildcard)
        XCTAssertFalse(PeerSelection(services: 1).isWildcard)
        XCTAssertTrue(
            PeerSelection(entities: ["world"], explicitlyEveryone: true).isWildcard,
            "an explicit everyone wins over named peers")
        XCTAssertFalse(PeerSelection(selectsNothing: true).isWildcard)
        XCTAssertFalse(PeerSelection(explicitlyEveryone: true, selectsNothing: true).isWildcard)
    }
}
