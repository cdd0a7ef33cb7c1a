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
            return RequestView.with(bytes: raw, head: &head, body)
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

    /// A verdict with the header edits its evaluation left (`evaluate`'s `edits`).
    @dynamicMemberLookup
    private struct Decided: Equatable {
        var verdict: HTTPVerdict
        var headerEdits: HTTPHeaderEdits

        subscript<T>(dynamicMember path: KeyPath<HTTPVerdict, T>) -> T { verdict[keyPath: path] }
    }

    /// Evaluates the request as HTTP/1 and as HTTP/2, asserts both give the same verdict, returns it.
    /// `edits` is what an earlier request on the connection left (default: none).
    private func evaluate(
        _ snapshot: PolicySnapshot, steer: SteerInfo?, _ method: String, _ path: String,
        headers: [(String, String)] = [], edits earlier: HTTPHeaderEdits = HTTPHeaderEdits(),
        file: StaticString = #filePath, line: UInt = #line
    ) -> Decided {
        func decided<R: HTTPRequestFields>(_ request: R) -> Decided {
            var edits = earlier
            let verdict = HTTPVerdict.evaluate(request, steer: steer, snapshot: snapshot, port: port, edits: &edits)
            return Decided(verdict: verdict, headerEdits: edits)
        }
        let v1 = HTTPRequestFixture.http1(method, path, headers: headers) { decided($0) }
        let v2 = HTTPRequestFixture.http2(method, path, headers: headers) { decided($0) }
        XCTAssertEqual(v1, v2, "HTTP/1 and HTTP/2 decide alike", file: file, line: line)
        return v1
    }

    /// The `ns/name` of the policy of `snapshot` whose reference is `ref`; nil for none (0).
    private func name(_ ref: UInt32?, _ snapshot: PolicySnapshot) -> String? {
        guard let ref, ref != 0 else { return nil }
        return snapshot.policies.first { $0.ref == ref }?.policyName ?? "<no policy with ref \(ref)>"
    }

    /// The names of the policies that decided, egress side first.
    private func names(_ v: Decided, _ snapshot: PolicySnapshot) -> [String] {
        v.policyRefs.compactMap { name($0, snapshot) }
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
        XCTAssertEqual(names(v, snapshot), ["default/client-egress", "default/backend-ingress"])
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
        XCTAssertEqual(name(v.ingress?.policyRef, snapshot), "default/backend-ingress")
    }

    func testAnEgressDenialIsFinalAndTheIngressSideIsNotAsked() throws {
        let snapshot = try bothSides(egress: ["{method: GET, path: \"/only\"}"])
        let v = evaluate(snapshot, steer: TestPolicy.bothSidesSteer(snapshot), "GET", "/allowed/x")
        XCTAssertEqual(v.action, .forbid)
        XCTAssertEqual(v.deciding?.direction, .egress)
        XCTAssertEqual(v.reason, .noRuleMatched)
        XCTAssertEqual(name(v.egress?.policyRef, snapshot), "default/client-egress")
        XCTAssertNil(v.ingress)
        XCTAssertEqual(names(v, snapshot), ["default/client-egress"])
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
        XCTAssertEqual(name(v.ingress?.policyRef, snapshot), "default/backend-l4")
        XCTAssertEqual(v.action, .forward)
    }

    func testASideWithoutL7RulesOnThePortDoesNotEnforce() throws {
        let snapshot = try bothSides(egress: [])
        let v = evaluate(snapshot, steer: TestPolicy.bothSidesSteer(snapshot), "GET", "/allowed/x")
        XCTAssertEqual(v.egress?.reason, .notEnforced)
        XCTAssertNil(name(v.egress?.policyRef, snapshot))
        XCTAssertEqual(v.action, .forward)
    }

    func testAPeerNoRuleAdmitsIsResetNotAnswered() throws {
        let snapshot = try bothSides(ingressPeer: "app: nobody")
        let v = evaluate(snapshot, steer: TestPolicy.bothSidesSteer(snapshot), "GET", "/allowed/x")
        XCTAssertEqual(v.action, .reset)
        XCTAssertEqual(v.reason, .peerNotAllowed)
        XCTAssertEqual(v.deciding?.direction, .ingress)
        XCTAssertNil(name(v.ingress?.policyRef, snapshot))
    }

    func testAnUnsteeredConnectionIsReset() throws {
        let snapshot = try bothSides()
        let v = evaluate(snapshot, steer: nil, "GET", "/allowed/x")
        XCTAssertTrue(v.unsteered)
        XCTAssertEqual(v.action, .reset)
        XCTAssertEqual(v.reason, .notSteered)
        XCTAssertNil(v.deciding)
        XCTAssertEqual(names(v, snapshot), [])
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
        XCTAssertEqual(name(v.ingress?.policyRef, snapshot), "default/backend-deny")
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
        XCTAssertNil(name(v.egress?.policyRef, snapshot))
    }

    func testASideWithoutHTTPRulesOnThePortDoesNotEnforce() throws {
        let snapshot = try TestPolicy.snapshot(TestPolicy.yaml(port: port + 1))
        let v = evaluate(snapshot, steer: TestPolicy.ingressSteer(snapshot), "DELETE", "/anything")
        XCTAssertEqual(v.action, .forward)
        XCTAssertEqual(v.reason, .notEnforced)
        XCTAssertEqual(names(v, snapshot), [])
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
        XCTAssertNil(name(v.ingress?.policyRef, snapshot))
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
    private func edits(_ v: Decided) -> [String] {
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

    /// A connection keeps one `HTTPHeaderEdits` for its requests: what one request's actions did
    /// is gone when the next is decided, allowed or denied, on a port with actions or without.
    func testTheEditsOfAnEarlierRequestAreEmptiedByTheNextDecision() throws {
        let snapshot = try headerActionPolicy()
        let steer = TestPolicy.ingressSteer(snapshot)
        let first = evaluate(snapshot, steer: steer, "GET", "/")
        XCTAssertFalse(first.headerEdits.isEmpty)
        let matching = evaluate(
            snapshot, steer: steer, "GET", "/",
            headers: [("X-Token", "abc"), ("X-Trace", "1"), ("X-Mode", "safe")], edits: first.headerEdits)
        XCTAssertEqual(edits(matching), [], "every header matches: nothing to edit")
        XCTAssertTrue(evaluate(snapshot, steer: steer, "POST", "/", edits: first.headerEdits).headerEdits.isEmpty)
        let plain = try bothSides()
        let other = evaluate(
            plain, steer: TestPolicy.bothSidesSteer(plain), "GET", "/allowed/x", edits: first.headerEdits)
        XCTAssertEqual(other.action, .forward)
        XCTAssertTrue(other.headerEdits.isEmpty)
        XCTAssertEqual(other.headerEdits, HTTPHeaderEdits())
    }

    func testADeniedRequestHasNoHeaderActionsToApply() throws {
        let snapshot = try headerActionPolicy()
        let v = evaluate(snapshot, steer: TestPolicy.ingressSteer(snapshot), "POST", "/")
        XCTAssertEqual(v.action, .forbid)
        XCTAssertTrue(v.headerEdits.isEmpty)
        XCTAssertEqual(v.ingress?.headerActions, [])
    }
}
