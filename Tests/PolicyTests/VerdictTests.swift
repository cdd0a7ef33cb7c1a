import SluiceModel
import XCTest

@testable import Policy

final class VerdictTests: XCTestCase {
    func testDescription() {
        XCTAssertEqual(
            Verdict(allowed: true, reason: .ruleMatched, policyName: "default/allow-get").description,
            "allow rule-matched default/allow-get")
        XCTAssertEqual(Verdict.peerNotAllowed.description, "deny peer-not-allowed")
        XCTAssertEqual(Verdict.noRuleMatched.description, "deny no-rule-matched")
        XCTAssertEqual(Verdict.notEnforced.description, "allow l4-only-allow")
        XCTAssertEqual(Verdict.Reason.deniedByPolicy.description, "denied-by-policy")
        XCTAssertFalse(Verdict.peerNotAllowed.allowed)
        XCTAssertTrue(Verdict.notEnforced.allowed)
    }

    func testReasonNamesAreDistinct() {
        let reasons: [Verdict.Reason] = [.ruleMatched, .l4OnlyAllow, .noRuleMatched, .peerNotAllowed, .deniedByPolicy]
        XCTAssertEqual(Set(reasons.map(\.description)).count, reasons.count)
    }

    func testPeerSetSearchesTheSortedIdentities() {
        let set = PeerSet.of([300, 7, 1000, 42])
        XCTAssertEqual(set, .some([7, 42, 300, 1000]))
        for identity: UInt32 in [7, 42, 300, 1000] { XCTAssertTrue(set.contains(identity), "\(identity)") }
        for identity: UInt32 in [0, 8, 299, 301, 1001] { XCTAssertFalse(set.contains(identity), "\(identity)") }
        XCTAssertFalse(PeerSet.of([]).contains(1))
        XCTAssertTrue(PeerSet.all.contains(123_456))
        XCTAssertEqual(set.canonical, "[7, 42, 300, 1000]")
        XCTAssertEqual(PeerSet.all.canonical, "*")
    }

    func testWorldCoversLocallyScopedCIDRIdentities() {
        let cidr = CIDRIdentityTable.localScope + 5
        XCTAssertTrue(PeerSet.of([ReservedIdentity.world]).contains(cidr))
        XCTAssertFalse(PeerSet.of([ReservedIdentity.world]).contains(CIDRIdentityTable.localScope - 1))
        XCTAssertFalse(PeerSet.of([42]).contains(cidr))
    }
}
