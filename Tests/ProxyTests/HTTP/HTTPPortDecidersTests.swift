import Policy
import SluiceIO
import SluiceModel
import SluiceTestSupport
import XCTest

@testable import Proxy

/// `HTTPPortDeciders`: what each side asks is found once per snapshot, found again when the worker
/// installs another, and keeps the policies it calls alive. (The decisions themselves are
/// `HTTPDecisionTests`', which go through the same deciders.)
final class HTTPPortDecidersTests: XCTestCase {
    private let port: UInt16 = 8080

    private final class NoSteering: SteeringTable {
        func lookup(
            sourceAddress: UInt32, sourcePort: UInt16, destinationAddress: UInt32, destinationPort: UInt16,
            protocol: UInt8
        ) -> SteerInfo? { nil }
    }

    private func snapshot(_ rules: [String]) throws -> PolicySnapshot {
        try TestPolicy.snapshot(TestPolicy.bothSidesYAML(port: port, egress: ["{}"], ingress: rules))
    }

    /// The action on GET /a and GET /b, through `deciders` with `ctx`'s snapshot.
    private func actions(_ deciders: inout HTTPPortDeciders, _ ctx: WorkerContext, _ steer: SteerInfo)
        -> [HTTPVerdict.Action]
    {
        ["/a", "/b"].map { path in
            HTTPRequestFixture.http1("GET", path) { view in
                var edits = HTTPHeaderEdits()
                return deciders.evaluate(view, steer: steer, ctx: ctx, port: port, edits: &edits).action
            }
        }
    }

    func testTheDecidersFollowTheSnapshotTheWorkerInstalls() throws {
        let onlyA = try snapshot(["{method: GET, path: \"/a\"}"])
        let onlyB = try snapshot(["{method: GET, path: \"/b\"}"])
        let steer = TestPolicy.bothSidesSteer(onlyA)
        let ctx = WorkerContext(
            loop: try EventLoop(clock: ManualClock()), config: ProxyConfig(), steering: NoSteering(), flows: nil,
            snapshot: onlyA)
        var deciders = HTTPPortDeciders()
        XCTAssertEqual(actions(&deciders, ctx, steer), [.forward, .forbid])
        XCTAssertEqual(actions(&deciders, ctx, steer), [.forward, .forbid], "the same deciders, reused")
        ctx.install(onlyB)
        XCTAssertEqual(actions(&deciders, ctx, steer), [.forbid, .forward], "found again in the new snapshot")
        ctx.install(onlyA)
        XCTAssertEqual(actions(&deciders, ctx, steer), [.forward, .forbid])
        // A snapshot without HTTP rules on the port: nothing to enforce at L7 on either side.
        ctx.install(try TestPolicy.snapshot(TestPolicy.yaml(port: port &+ 1)))
        XCTAssertEqual(actions(&deciders, ctx, steer), [.forward, .forward])
        XCTAssertEqual(deciders.ingress, .fixed(HTTPVerdict.Side(allowed: true, reason: .notEnforced, policyRef: 0)))
    }

    func testEachSideIsFoundOnceAndAnUnsteeredConnectionAsksNone() throws {
        let snapshot = try snapshot(["{method: GET, path: \"/a\"}"])
        let both = HTTPPortDeciders(steer: TestPolicy.bothSidesSteer(snapshot), snapshot: snapshot, port: port)
        XCTAssertFalse(both.unsteered)
        guard case .rules(_, let egressPeer, false) = both.egress, case .rules(_, let ingressPeer, false) = both.ingress
        else { return XCTFail("\(both.egress) \(both.ingress)") }
        XCTAssertEqual(egressPeer, snapshot.identity(ofEndpoint: TestPolicy.backendID))
        XCTAssertEqual(ingressPeer, snapshot.identity(ofEndpoint: TestPolicy.clientID))
        var ingressOnly = TestPolicy.bothSidesSteer(snapshot)
        ingressOnly.sides = .ingress
        let one = HTTPPortDeciders(steer: ingressOnly, snapshot: snapshot, port: port)
        XCTAssertEqual(one.egress, .notAsked)
        XCTAssertEqual(one.ingress, both.ingress)
        let noSides = SteerInfo(
            sourceEndpoint: 0, destinationEndpoint: 0, sourceIdentity: 0, destinationIdentity: 0, sides: [])
        for steer in [nil, noSides] {
            let none = HTTPPortDeciders(steer: steer, snapshot: snapshot, port: port)
            XCTAssertTrue(none.unsteered)
            let verdict = HTTPRequestFixture.http1("GET", "/a") { view in
                var edits = HTTPHeaderEdits()
                return none.evaluate(view, edits: &edits)
            }
            XCTAssertEqual(verdict, HTTPVerdict(unsteered: true))
        }
    }

    func testTheDecidersKeepTheirSnapshotAndItsPoliciesAlive() throws {
        weak var weakSnapshot: PolicySnapshot?
        var deciders: HTTPPortDeciders
        do {
            let snapshot = try snapshot(["{method: GET, path: \"/a\"}"])
            weakSnapshot = snapshot
            deciders = HTTPPortDeciders(steer: TestPolicy.bothSidesSteer(snapshot), snapshot: snapshot, port: port)
        }
        XCTAssertNotNil(weakSnapshot, "the deciders hold the snapshot their policies belong to")
        let actions = ["/a", "/b"].map { path in
            HTTPRequestFixture.http1("GET", path) { view in
                var edits = HTTPHeaderEdits()
                return deciders.evaluate(view, edits: &edits).action
            }
        }
        XCTAssertEqual(actions, [.forward, .forbid])
        deciders = HTTPPortDeciders()
        XCTAssertNil(weakSnapshot, "and let it go with them")
    }
}
