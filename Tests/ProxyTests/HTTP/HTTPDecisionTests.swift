import Flows
import HTTP1
import HTTP2
import Policy
import SluiceModel
import SluiceTestSupport
import XCTest

@testable import Proxy

/// Request fixtures for the one HTTP decision: the same request as an HTTP/1 head and as an HTTP/2
/// header block, through the view each connection handler uses.
enum HTTPRequestFixture {
    /// `headers` are (name, value) pairs after the request line / pseudo-headers.
    static func http1<T>(
        _ method: String, _ path: String, host: String = "backend",
        headers: [(String, String)] = [], _ body: (RequestView) -> T
    ) -> T {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        return Array(text.utf8).withUnsafeBytes { raw in
            var head = RequestHead()
            precondition(HTTP1Parser.parseRequestHead(raw, into: &head) == .complete, "fixture must parse")
            return body(RequestView(bytes: raw, head: head))
        }
    }

    static func http2<T>(
        _ method: String, _ path: String, host: String = "backend",
        headers: [(String, String)] = [], _ body: (HTTP2RequestView) -> T
    ) -> T {
        let block = HTTP2HeaderBlock(
            [(":method", method), (":scheme", "http"), (":authority", host), (":path", path)]
                + headers.map { ($0.0.lowercased(), $0.1) })
        return HTTP2RequestView.with(block, body)
    }
}

/// `HTTPVerdict.evaluate`: both sides, the action, the deciding side, the reason, the policy names
/// and the header actions, for the same request arriving as HTTP/1 and as HTTP/2.
final class HTTPDecisionTests: XCTestCase {
    private let port: UInt16 = 8080

    /// Evaluates the request as HTTP/1 and as HTTP/2, asserts both give the same verdict, returns it.
    private func evaluate(
        _ snapshot: PolicySnapshot, steer: SteerInfo?, _ method: String, _ path: String,
        headers: [(String, String)] = [], file: StaticString = #filePath,
        line: UInt = #line
    ) -> HTTPVerdict {
        let v1 = HTTPRequestFixture.http1(method, path, headers: headers) {
            HTTPVerdict.evaluate($0, steer: steer, snapshot: snapshot, port: port)
        }
        let v2 = HTTPRequestFixture.http2(method, path, headers: headers) {
            HTTPVerdict.evaluate($0, steer: steer, snapshot: snapshot, port: port)
        }
        XCTAssertEqual(v1, v2, "HTTP/1 and HTTP/2 decide alike", file: file, line: line)
        return v1
    }

    private func bothSides(
        egress: [String] = ["{}"], ingress: [String] = ["{method: GET, path: \"/allowed.*\"}"],
        ingressPeer: String = "app: client"
    ) throws -> PolicySnapshot {
        try TestPolicy.snapshot(
            TestPolicy.bothSidesYAML(
                port: port, egress: egress, ingress: ingress,
                ingressPeer: ingressPeer))
    }

    func testBothSidesAllowAndTheIngressSideDecides() throws {
        let snapshot = try bothSides()
        let v = evaluate(snapshot, steer: TestPolicy.bothSidesSteer(snapshot), "GET", "/allowed/x")
        XCTAssertEqual(v.action, .forward)
        XCTAssertTrue(v.allowed)
        XCTAssertEqual(v.egress?.reason, .ruleMatched)
        XCTAssertEqual(v.ingress?.reason, .ruleMatched)
        XCTAssertEqual(v.deciding?.direction, .ingress)
        XCTAssertEqual(v.reason, .ruleMatched)
        XCTAssertEqual(v.policyNames, ["default/client-egress", "default/backend-ingress"])
        XCTAssertNotEqual(v.egress?.policyRef, 0)
        XCTAssertNotEqual(v.egress?.policyRef, v.ingress?.policyRef)
        XCTAssertTrue(v.headerEdits.isEmpty)
    }

    func testTheIngressSideDeniesWithNoRuleMatchedInItsPolicysName() throws {
        let snapshot = try bothSides()
        let v = evaluate(snapshot, steer: TestPolicy.bothSidesSteer(snapshot), "POST", "/allowed/x")
        XCTAssertEqual(v.action, .forbid)
        XCTAssertEqual(v.egress?.allowed, true)
        XCTAssertEqual(v.ingress?.allowed, false)
        XCTAssertEqual(v.deciding?.direction, .ingress)
        XCTAssertEqual(v.reason, .noRuleMatched)
        XCTAssertEqual(v.ingress?.policyName, "default/backend-ingress")
    }

    func testAnEgressDenialIsFinalAndTheIngressSideIsNotAsked() throws {
        let snapshot = try bothSides(egress: ["{method: GET, path: \"/only\"}"])
        let v = evaluate(snapshot, steer: TestPolicy.bothSidesSteer(snapshot), "GET", "/allowed/x")
        XCTAssertEqual(v.action, .forbid)
        XCTAssertEqual(v.deciding?.direction, .egress)
        XCTAssertEqual(v.reason, .noRuleMatched)
        XCTAssertEqual(v.egress?.policyName, "default/client-egress")
        XCTAssertNil(v.ingress)
        XCTAssertEqual(v.policyNames, ["default/client-egress"])
    }

    func testAnL4OnlyRuleAllowsEverythingInItsPolicysName() throws {
        let yaml =
            TestPolicy.bothSidesYAML(port: port, egress: ["{}"], ingress: ["{method: GET}"]) + """
                ---
                apiVersion: cilium.io/v2
                kind: CiliumNetworkPolicy
                metadata: {name: backend-l4, namespace: default}
                spec:
                  endpointSelector: {matchLabels: {app: backend}}
                  ingress:
                  - fromEndpoints: [{matchLabels: {app: client}}]
                    toPorts:
                    - ports: [{port: "\(port)", protocol: TCP}]

                """
        let snapshot = try TestPolicy.snapshot(yaml)
        let v = evaluate(snapshot, steer: TestPolicy.bothSidesSteer(snapshot), "DELETE", "/x")
        XCTAssertEqual(v.ingress?.reason, .l4OnlyAllow)
        XCTAssertEqual(v.ingress?.policyName, "default/backend-l4")
        XCTAssertEqual(v.action, .forward)
    }

    func testASideWithoutL7RulesOnThePortDoesNotEnforce() throws {
        let snapshot = try bothSides(egress: [])
        let v = evaluate(snapshot, steer: TestPolicy.bothSidesSteer(snapshot), "GET", "/allowed/x")
        XCTAssertEqual(v.egress?.reason, .notEnforced)
        XCTAssertNil(v.egress?.policyName)
        XCTAssertEqual(v.action, .forward)
    }

    func testAPeerNoRuleAdmitsIsResetNotAnswered() throws {
        let snapshot = try bothSides(ingressPeer: "app: nobody")
        let v = evaluate(snapshot, steer: TestPolicy.bothSidesSteer(snapshot), "GET", "/allowed/x")
        XCTAssertEqual(v.action, .reset)
        XCTAssertEqual(v.reason, .peerNotAllowed)
        XCTAssertEqual(v.deciding?.direction, .ingress)
        XCTAssertNil(v.ingress?.policyName)
    }

    func testAnUnsteeredConnectionIsReset() throws {
        let snapshot = try bothSides()
        let v = evaluate(snapshot, steer: nil, "GET", "/allowed/x")
        XCTAssertTrue(v.unsteered)
        XCTAssertEqual(v.action, .reset)
        XCTAssertEqual(v.reason, .notSteered)
        XCTAssertNil(v.deciding)
        XCTAssertEqual(v.policyNames, [])
    }

    func testADenyRuleWinsAndIsNamed() throws {
        let yaml =
            TestPolicy.bothSidesYAML(port: port, egress: ["{}"], ingress: ["{}"]) + """
                ---
                apiVersion: cilium.io/v2
                kind: CiliumNetworkPolicy
                metadata: {name: backend-deny, namespace: default}
                spec:
                  endpointSelector: {matchLabels: {app: backend}}
                  ingressDeny:
                  - fromEndpoints: [{matchLabels: {app: client}}]
                    toPorts:
                    - ports: [{port: "\(port)", protocol: TCP}]

                """
        let snapshot = try TestPolicy.snapshot(yaml)
        let v = evaluate(snapshot, steer: TestPolicy.bothSidesSteer(snapshot), "GET", "/allowed/x")
        XCTAssertEqual(v.action, .forbid)
        XCTAssertEqual(v.reason, .deniedByPolicy)
        XCTAssertEqual(v.ingress?.policyName, "default/backend-deny")
    }

    func testDNSRulesOnTheEgressPortAreAParserMismatch() throws {
        let yaml = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: client-dns, namespace: default}
            spec:
              endpointSelector: {matchLabels: {app: client}}
              egress:
              - toEndpoints: [{matchLabels: {app: backend}}]
                toPorts:
                - ports: [{port: "\(port)", protocol: TCP}]
                  rules:
                    dns: [{matchPattern: "*"}]

            """
        let snapshot = try TestPolicy.snapshot(yaml)
        let steer = SteerInfo(
            endpointID: TestPolicy.clientID,
            sourceIdentity: snapshot.identity(ofEndpoint: TestPolicy.clientID) ?? 0,
            destinationIdentity: snapshot.identity(ofEndpoint: TestPolicy.backendID) ?? 0,
            direction: .egress)
        let v = evaluate(snapshot, steer: steer, "GET", "/")
        XCTAssertEqual(v.action, .forbid)
        XCTAssertEqual(v.reason, .parserMismatch)
        XCTAssertNil(v.egress?.policyName)
    }

    func testASideWithoutHTTPRulesOnThePortDoesNotEnforce() throws {
        let snapshot = try TestPolicy.snapshot(TestPolicy.yaml(port: port + 1))
        let v = evaluate(snapshot, steer: TestPolicy.ingressSteer(snapshot), "DELETE", "/anything")
        XCTAssertEqual(v.action, .forward)
        XCTAssertEqual(v.reason, .notEnforced)
        XCTAssertEqual(v.policyNames, [])
    }

    func testTheHostIsAllowedOnIngressAsLocalhost() throws {
        let snapshot = try TestPolicy.snapshot(TestPolicy.yaml(port: port))
        let steer = SteerInfo(
            endpointID: TestPolicy.backendID, sourceIdentity: ReservedIdentity.host,
            destinationIdentity: snapshot.identity(ofEndpoint: TestPolicy.backendID) ?? 0,
            direction: .ingress)
        let v = evaluate(snapshot, steer: steer, "DELETE", "/anything")
        XCTAssertEqual(v.action, .forward)
        XCTAssertEqual(v.reason, .localhost)
        XCTAssertNil(v.ingress?.policyName)
    }

    // MARK: header actions

    private func headerActionPolicy() throws -> PolicySnapshot {
        try TestPolicy.snapshot(
            TestPolicy.yaml(
                port: port,
                rules: [
                    "{method: GET, headerMatches: [{name: X-Token, value: abc, mismatch: ADD}, "
                        + "{name: X-Trace, mismatch: LOG}, {name: X-Drop, value: 'no', mismatch: DELETE}, "
                        + "{name: X-Mode, value: safe, mismatch: REPLACE}]}"
                ]))
    }

    /// `Name -` (received fields dropped) and ` +value` per added value, per edited name.
    private func edits(_ v: HTTPVerdict) -> [String] {
        v.headerEdits.edits.map { e in
            e.name + (e.removeReceived ? " -" : "") + e.added.map { " +" + $0 }.joined()
        }
    }

    func testHeaderActionsOfTheMatchingRuleApplyToTheHeadersThatDoNotMatch() throws {
        let snapshot = try headerActionPolicy()
        let steer = TestPolicy.ingressSteer(snapshot)
        let all = evaluate(snapshot, steer: steer, "GET", "/")
        XCTAssertEqual(all.action, .forward, "mismatch actions count as matching")
        XCTAssertEqual(all.reason, .ruleMatched)
        XCTAssertEqual(
            edits(all), ["X-Token +abc", "X-Mode - +safe"],
            "every header is missing: ADD adds, REPLACE sets, LOG logs, DELETE has nothing to remove")
        XCTAssertEqual(all.ingress?.recorded.headerActions, [.add, .log, .replace])

        let some = evaluate(
            snapshot, steer: steer, "GET", "/",
            headers: [
                ("x-token", "abc"), ("X-TRACE", "anything"), ("X-Drop", "yes"), ("X-Mode", "safe"),
            ])
        XCTAssertEqual(
            edits(some), ["X-Drop -"],
            "names match in any case; a presence check takes any value; values must be exact")
        XCTAssertEqual(some.ingress?.recorded, Flow.L7Verdict(reason: .ruleMatched, headerActions: [.delete]))

        let repeated = evaluate(
            snapshot, steer: steer, "GET", "/",
            headers: [
                ("X-Token", "wrong"), ("X-Token", "abc"), ("X-Trace", ""), ("X-Drop", "no"), ("X-Mode", "Safe"),
            ])
        XCTAssertEqual(edits(repeated), ["X-Mode - +safe"], "any one of repeated fields may match")
        XCTAssertEqual(repeated.ingress?.headerActions, [.replace])
    }

    func testADeniedRequestHasNoHeaderActionsToApply() throws {
        let snapshot = try headerActionPolicy()
        let v = evaluate(snapshot, steer: TestPolicy.ingressSteer(snapshot), "POST", "/")
        XCTAssertEqual(v.action, .forbid)
        XCTAssertTrue(v.headerEdits.isEmpty)
        XCTAssertEqual(v.ingress?.headerActions, [])
    }
}
