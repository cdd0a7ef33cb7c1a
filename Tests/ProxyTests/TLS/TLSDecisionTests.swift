import Policy
import SluiceTestSupport
import XCTest

@testable import Proxy

/// `TLSDecision`: which connections are judged by SNI, and the per-side verdict.
final class TLSDecisionTests: XCTestCase {
    func testAppliesOnlyToTheSideWithServerNames() throws {
        let snapshot = try TLSTestWorld.snapshot(serverNames: ["a.example"])
        let steer = TLSTestWorld.egressSteer(snapshot)
        XCTAssertTrue(TLSDecision.appliesTo(steer: steer, snapshot: snapshot, port: TLSTestWorld.port))
        XCTAssertFalse(TLSDecision.appliesTo(steer: steer, snapshot: snapshot, port: 8080))
        XCTAssertFalse(TLSDecision.appliesTo(steer: nil, snapshot: snapshot, port: TLSTestWorld.port))
        var ingressOnly = steer
        ingressOnly.sides = [.ingress]
        XCTAssertFalse(TLSDecision.appliesTo(steer: ingressOnly, snapshot: snapshot, port: TLSTestWorld.port))
    }

    func testVerdicts() throws {
        let snapshot = try TLSTestWorld.snapshot(serverNames: ["a.example"])
        let steer = TLSTestWorld.egressSteer(snapshot)
        let allowed = TLSDecision.evaluate(
            serverName: "a.example", steer: steer, snapshot: snapshot, port: TLSTestWorld.port)
        XCTAssertEqual(allowed.action, .forward)
        XCTAssertEqual(
            snapshot.policies.first { $0.ref == allowed.egress?.policyRef }?.policyName, "default/client-sni")
        let denied = TLSDecision.evaluate(
            serverName: "b.example", steer: steer, snapshot: snapshot, port: TLSTestWorld.port)
        XCTAssertEqual(denied.action, .forbid)
        XCTAssertEqual(denied.egress?.reason, .noRuleMatched)
        XCTAssertEqual(
            TLSDecision.evaluate(serverName: "a.example", steer: nil, snapshot: snapshot, port: TLSTestWorld.port)
                .action, .reset)
    }

    func testASideWithHTTPRulesFailsClosed() throws {
        let snapshot = try TestPolicy.snapshot(TestPolicy.yaml(port: 8080))
        let steer = TestPolicy.ingressSteer(snapshot)
        let verdict = TLSDecision.evaluate(serverName: "a.example", steer: steer, snapshot: snapshot, port: 8080)
        XCTAssertEqual(verdict.ingress?.reason, .parserMismatch)
        XCTAssertFalse(verdict.allowed)
    }

    /// The other way round: an HTTP request on a port whose rules are `serverNames` (the policy
    /// changed after the connection was steered as HTTP) fails closed.
    func testAnHTTPRequestOnAServerNamesPortFailsClosed() throws {
        let snapshot = try TLSTestWorld.snapshot(serverNames: ["a.example"])
        let steer = TLSTestWorld.egressSteer(snapshot)
        var edits = HTTPHeaderEdits()
        let verdict = HTTPRequestFixture.http1("GET", "/", headers: []) {
            HTTPVerdict.evaluate($0, steer: steer, snapshot: snapshot, port: TLSTestWorld.port, edits: &edits)
        }
        XCTAssertEqual(verdict.reason, .parserMismatch)
        XCTAssertEqual(verdict.action, .forbid)
    }
}
