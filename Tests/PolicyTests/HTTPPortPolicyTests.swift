import PolicyYAML
import SluiceModel
import XCTest

@testable import Policy

/// Truth tables: (policy YAML, endpoints) -> rows of (peer, port, request) -> verdict and policy.
final class HTTPPortPolicyTests: XCTestCase {
    private struct Row {
        var peer: UInt32
        var method: String
        var path: String
        var host = "backend"
        var headers: [(String, String)] = []
        var allowed: Bool
        var reason: Verdict.Reason
        var policy: String?
    }

    private func snapshot(
        _ files: [String], endpoints: [EndpointDescriptor] = Fixtures.tutorialEndpoints,
        allowLocalhost: AllowLocalhost = .always
    ) throws -> (PolicySnapshot, [UInt32]) {
        let repository = PolicyRepository()
        repository.allowLocalhost = allowLocalhost
        for (index, text) in files.enumerated() {
            try repository.apply(yamlText: text, fileName: "p\(index).yaml")
        }
        var allocator = IdentityAllocator()
        let snapshot = repository.compile(endpoints: endpoints, allocator: &allocator)
        return (snapshot, endpoints.map { snapshot.identity(ofEndpoint: $0.id) ?? 0 })
    }

    private func check(_ policy: HTTPPortPolicy?, _ rows: [Row], file: StaticString = #filePath, line: UInt = #line) {
        guard let policy else { return XCTFail("no HTTP policy", file: file, line: line) }
        for row in rows {
            let request = TestRequest(row.method, row.path, host: row.host, headers: row.headers)
            let verdict = policy.decide(peerIdentity: row.peer, request: request)
            let got = "\(verdict.allowed) \(verdict.reason) \(verdict.policyName ?? "-")"
            // The number flow records carry names the same policy.
            XCTAssertEqual(
                verdict.policyRef == 0, verdict.policyName == nil, "\(row.method) \(row.path)",
                file: file, line: line)
            // What the proxy reads without header actions: the same decision, field for field.
            XCTAssertEqual(
                policy.briefDecide(peerIdentity: row.peer, request: request), BriefVerdict(verdict),
                "\(row.peer) \(row.method) \(row.path)", file: file, line: line)
            let want = "\(row.allowed) \(row.reason) \(row.policy ?? "-")"
            XCTAssertEqual(got, want, "\(row.peer) \(row.method) \(row.path) \(row.host)", file: file, line: line)
        }
    }

    private func cnp(
        _ name: String, _ rules: String, port: String = "80",
        peers: String = "fromEndpoints:\n    - matchLabels:\n        k8s:io.kubernetes.pod.namespace: frontend"
    ) -> String {
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata:
          name: \(name)
          namespace: backend
        spec:
          endpointSelector:
            matchLabels:
              app: backend
          ingress:
          - \(peers)
            toPorts:
            - ports:
              - port: "\(port)"
                protocol: TCP
        \(rules)
        """
    }

    func testTutorialPolicy() throws {
        let (snapshot, ids) = try snapshot([try Fixtures.example("tutorial/backend-http-rules.yaml")])
        let frontend = ids[0], client = ids[3]
        let name = "backend/backend-http-rules"
        check(
            snapshot.httpPolicy(endpointID: 2, direction: .ingress, port: 80),
            [
                Row(peer: frontend, method: "GET", path: "/get", allowed: true, reason: .ruleMatched, policy: name),
                Row(
                    peer: frontend, method: "GET", path: "/anything/foo/bar", allowed: true, reason: .ruleMatched,
                    policy: name),
                Row(
                    peer: frontend, method: "GET", path: "/anything/", allowed: true, reason: .ruleMatched, policy: name
                ),
                Row(
                    peer: frontend, method: "GET", path: "/anything", allowed: false, reason: .noRuleMatched,
                    policy: name),
                Row(
                    peer: frontend, method: "GET", path: "/get?a=1", allowed: false, reason: .noRuleMatched,
                    policy: name),
                Row(
                    peer: frontend, method: "GET", path: "/get/x", allowed: false, reason: .noRuleMatched, policy: name),
                Row(
                    peer: frontend, method: "POST", path: "/post", allowed: false, reason: .noRuleMatched, policy: name),
                Row(peer: frontend, method: "HEAD", path: "/get", allowed: false, reason: .noRuleMatched, policy: name),
                Row(peer: frontend, method: "get", path: "/get", allowed: false, reason: .noRuleMatched, policy: name),
                Row(peer: client, method: "GET", path: "/get", allowed: false, reason: .peerNotAllowed),
                Row(peer: ReservedIdentity.world, method: "GET", path: "/get", allowed: false, reason: .peerNotAllowed),
            ])
        XCTAssertNil(snapshot.httpPolicy(endpointID: 2, direction: .ingress, port: 8080))
        XCTAssertNil(snapshot.httpPolicy(endpointID: 1, direction: .ingress, port: 80))
        XCTAssertNil(snapshot.httpPolicy(endpointID: 2, direction: .egress, port: 80))
    }

    /// A port with many policies is decided through its `PeerIndex`: the same verdicts and the
    /// same first-selecting policy as a scan in entry order, for named, world and CIDR peers.
    func testManyPoliciesOnOnePortDecideAsInEntryOrder() throws {
        var files = (0..<10).map { i in
            cnp("many-0\(i)", "      rules:\n        http:\n        - path: /many-0\(i)")
        }
        files.append(
            cnp("many-world", "      rules:\n        http:\n        - path: /w", peers: "fromEntities:\n    - world"))
        files.append(
            cnp("many-all", "      rules:\n        http:\n        - path: /all", peers: "fromEntities:\n    - all"))
        let (snapshot, ids) = try snapshot(files)
        let policy = try XCTUnwrap(snapshot.httpPolicy(endpointID: 2, direction: .ingress, port: 80))
        XCTAssertNotNil(policy.index)
        let frontend = ids[0], client = ids[3], cidr = CIDRIdentityTable.localScope + 5
        func row(_ peer: UInt32, _ path: String, _ allowed: Bool, _ policy: String) -> Row {
            Row(
                peer: peer, method: "GET", path: path, allowed: allowed,
                reason: allowed ? .ruleMatched : .noRuleMatched, policy: "backend/" + policy)
        }
        check(
            policy,
            [
                row(frontend, "/many-03", true, "many-03"),
                row(frontend, "/many-09", true, "many-09"),
                row(frontend, "/all", true, "many-all"),
                row(frontend, "/w", false, "many-00"),
                row(ReservedIdentity.world, "/w", true, "many-world"),
                row(ReservedIdentity.world, "/many-01", false, "many-all"),
                row(cidr, "/w", true, "many-world"),
                row(cidr, "/x", false, "many-all"),
                row(client, "/all", true, "many-all"),
                row(client, "/many-01", false, "many-all"),
                Row(peer: ReservedIdentity.host, method: "GET", path: "/x", allowed: true, reason: .l4OnlyAllow),
            ])
    }

    func testAnchoringHostAndORAcrossPolicies() throws {
        let first = cnp(
            "public",
            "      rules:\n        http:\n        - path: /public\n        - path: /public(\\?.*)?\n          method: HEAD"
        )
        let second = cnp("hosted", "      rules:\n        http:\n        - host: foo\\.com\n          path: /private")
        let (snapshot, ids) = try snapshot([first, second])
        let peer = ids[0]
        check(
            snapshot.httpPolicy(endpointID: 2, direction: .ingress, port: 80),
            [
                Row(
                    peer: peer, method: "GET", path: "/public", allowed: true, reason: .ruleMatched,
                    policy: "backend/public"),
                Row(
                    peer: peer, method: "GET", path: "/public/x", allowed: false, reason: .noRuleMatched,
                    policy: "backend/hosted"),
                Row(
                    peer: peer, method: "GET", path: "/public?a=1", allowed: false, reason: .noRuleMatched,
                    policy: "backend/hosted"),
                Row(
                    peer: peer, method: "HEAD", path: "/public?a=1", allowed: true, reason: .ruleMatched,
                    policy: "backend/public"),
                Row(
                    peer: peer, method: "GET", path: "/private", host: "foo.com", allowed: true, reason: .ruleMatched,
                    policy: "backend/hosted"),
                Row(
                    peer: peer, method: "GET", path: "/private", host: "foo.com:8080", allowed: false,
                    reason: .noRuleMatched, policy: "backend/hosted"),
                Row(
                    peer: peer, method: "GET", path: "/private", host: "fooxcom", allowed: false,
                    reason: .noRuleMatched, policy: "backend/hosted"),
            ])
    }

    func testL4OnlyRuleOnSamePortAllowsEverything() throws {
        let l7 = cnp("l7", "      rules:\n        http:\n        - method: GET")
        let l4 = cnp("l4", "")
        let (snapshot, ids) = try snapshot([l7, l4])
        check(
            snapshot.httpPolicy(endpointID: 2, direction: .ingress, port: 80),
            [
                Row(
                    peer: ids[0], method: "DELETE", path: "/admin", allowed: true, reason: .l4OnlyAllow,
                    policy: "backend/l4"),
                Row(peer: ids[3], method: "GET", path: "/", allowed: false, reason: .peerNotAllowed),
            ])
        // A wildcard L4-only rule (no fromEndpoints) from a NetworkPolicy covers every peer, world included.
        let knp = """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: open, namespace: backend}
            spec:
              podSelector: {}
              ingress:
              - ports:
                - port: 80
            """
        let (open, _) = try self.snapshot([l7, knp])
        check(
            open.httpPolicy(endpointID: 2, direction: .ingress, port: 80),
            [
                Row(
                    peer: ReservedIdentity.world, method: "POST", path: "/", allowed: true, reason: .l4OnlyAllow,
                    policy: "backend/open")
            ])
    }

    func testEmptyHTTPRuleAllowsAllAndHeaders() throws {
        let visibility = cnp("visibility", "      rules:\n        http: [{}]")
        let (snapshot, ids) = try snapshot([visibility])
        check(
            snapshot.httpPolicy(endpointID: 2, direction: .ingress, port: 80),
            [
                Row(
                    peer: ids[0], method: "PATCH", path: "/anything", allowed: true, reason: .ruleMatched,
                    policy: "backend/visibility")
            ])
        let headers = cnp(
            "headers",
            """
                  rules:
                    http:
                    - headers: ["X-Token: secret", "X-Present"]
                    - path: /match
                      headerMatches:
                      - name: X-Env
                        value: prod
                      - name: X-Audit
                        mismatch: LOG
            """)
        let (withHeaders, _) = try self.snapshot([headers])
        check(
            withHeaders.httpPolicy(endpointID: 2, direction: .ingress, port: 80),
            [
                Row(
                    peer: ids[0], method: "GET", path: "/", headers: [("x-token", "secret"), ("X-PRESENT", "")],
                    allowed: true,
                    reason: .ruleMatched, policy: "backend/headers"),
                Row(
                    peer: ids[0], method: "GET", path: "/", headers: [("X-Token", "Secret"), ("X-Present", "1")],
                    allowed: false,
                    reason: .noRuleMatched, policy: "backend/headers"),
                Row(
                    peer: ids[0], method: "GET", path: "/", headers: [("X-Token", "secret")], allowed: false,
                    reason: .noRuleMatched, policy: "backend/headers"),
                Row(
                    peer: ids[0], method: "GET", path: "/",
                    headers: [("X-Token", "secret"), ("X-Token", "b"), ("X-Present", "")],
                    allowed: false, reason: .noRuleMatched, policy: "backend/headers"),
                Row(
                    peer: ids[0], method: "GET", path: "/match", headers: [("x-env", "prod")], allowed: true,
                    reason: .ruleMatched,
                    policy: "backend/headers"),
                Row(
                    peer: ids[0], method: "GET", path: "/match", headers: [("x-env", "dev")], allowed: false,
                    reason: .noRuleMatched, policy: "backend/headers"),
            ])
        let verdict = withHeaders.httpPolicy(endpointID: 2, direction: .ingress, port: 80)?
            .decide(peerIdentity: ids[0], request: TestRequest("GET", "/match", headers: [("X-Env", "prod")]))
        XCTAssertEqual(verdict?.headerActions, [HTTPHeaderAction(name: "X-Audit", value: nil, action: .log)])
    }

    /// cilium/proxy runs every rule once any carries header actions: each matching rule's
    /// mismatch actions are collected in rule order (two policies, three rules), the first match
    /// names the verdict, and a rule that does not match contributes nothing.
    func testEveryMatchingRuleContributesItsHeaderActions() throws {
        let first = cnp(
            "a-first",
            """
                  rules:
                    http:
                    - path: /api/.*
                      headerMatches:
                      - name: X-Audit
                        mismatch: LOG
                    - path: /other
                      headerMatches:
                      - name: X-Never
                        value: "1"
                        mismatch: ADD
            """)
        let second = cnp(
            "b-second",
            """
                  rules:
                    http:
                    - method: GET
                      headerMatches:
                      - name: X-Tenant
                        value: blue
                        mismatch: REPLACE
                      - name: X-Debug
                        mismatch: DELETE
            """)
        let (snapshot, ids) = try snapshot([first, second])
        let policy = try XCTUnwrap(snapshot.httpPolicy(endpointID: 2, direction: .ingress, port: 80))
        let both = policy.decide(peerIdentity: ids[0], request: TestRequest("GET", "/api/x"))
        XCTAssertTrue(both.allowed)
        XCTAssertEqual(both.policyName, "backend/a-first", "the first match names the verdict")
        XCTAssertEqual(
            both.headerActions,
            [
                HTTPHeaderAction(name: "X-Audit", value: nil, action: .log),
                HTTPHeaderAction(name: "X-Tenant", value: "blue", action: .replace),
                HTTPHeaderAction(name: "X-Debug", value: nil, action: .delete),
            ])
        let secondOnly = policy.decide(peerIdentity: ids[0], request: TestRequest("GET", "/else"))
        XCTAssertEqual(secondOnly.policyName, "backend/b-second")
        XCTAssertEqual(secondOnly.headerActions.map(\.name), ["X-Tenant", "X-Debug"])
        let none = policy.decide(peerIdentity: ids[0], request: TestRequest("POST", "/else"))
        XCTAssertFalse(none.allowed)
        XCTAssertEqual(none.headerActions, [])
    }

    /// Cilium rule 8 (allow-localhost): the host is allowed every request on an ingress L7 port,
    /// unless `--allow-localhost policy` or an explicit deny naming the host.
    func testAllowLocalhostAllowsTheHostEveryRequest() throws {
        let l7 = cnp(
            "host-too", "      rules:\n        http:\n        - method: GET", peers: "fromEntities: [host, world]")
        let host = ReservedIdentity.host
        let (always, _) = try snapshot([l7])
        check(
            always.httpPolicy(endpointID: 2, direction: .ingress, port: 80),
            [
                Row(peer: host, method: "DELETE", path: "/x", allowed: true, reason: .l4OnlyAllow),
                Row(
                    peer: ReservedIdentity.world, method: "DELETE", path: "/x", allowed: false, reason: .noRuleMatched,
                    policy: "backend/host-too"),
            ])
        let (policyMode, _) = try snapshot([l7], allowLocalhost: .policy)
        check(
            policyMode.httpPolicy(endpointID: 2, direction: .ingress, port: 80),
            [
                Row(
                    peer: host, method: "DELETE", path: "/x", allowed: false, reason: .noRuleMatched,
                    policy: "backend/host-too"),
                Row(
                    peer: host, method: "GET", path: "/x", allowed: true, reason: .ruleMatched,
                    policy: "backend/host-too"),
            ])
        XCTAssertTrue(
            always.policyMap.keys.contains { $0.identity == host && $0.port == 0 && $0.direction == .ingress })
        XCTAssertFalse(
            policyMode.policyMap.keys.contains { $0.identity == host && $0.port == 0 },
            "no L3/L4 allow-localhost entry either")
        let deny = cnp("no-host", "", peers: "fromEntities: [host]").replacingOccurrences(
            of: "  ingress:", with: "  ingressDeny:")
        let (denied, _) = try snapshot([l7, deny])
        check(
            denied.httpPolicy(endpointID: 2, direction: .ingress, port: 80),
            [
                Row(
                    peer: host, method: "GET", path: "/x", allowed: false, reason: .deniedByPolicy,
                    policy: "backend/no-host")
            ])
    }

    func testExplicitDenyBeatsAllow() throws {
        let allow = cnp("allow", "      rules:\n        http: [{}]")
        let deny = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: default-deny, namespace: backend}
            spec:
              endpointSelector: {}
              ingressDeny:
              - fromEntities: [all]
            """
        let (snapshot, ids) = try snapshot([allow, deny])
        check(
            snapshot.httpPolicy(endpointID: 2, direction: .ingress, port: 80),
            [
                Row(
                    peer: ids[0], method: "GET", path: "/", allowed: false, reason: .deniedByPolicy,
                    policy: "backend/default-deny")
            ])
        // An empty deny rule `{}` selects no peer (Cilium): it only turns default deny on.
        let empty = deny.replacingOccurrences(of: "ingressDeny:\n  - fromEntities: [all]", with: "ingressDeny: [ {} ]")
        XCTAssertTrue(empty.contains("[ {} ]"))
        let (open, _) = try self.snapshot([allow, empty])
        check(
            open.httpPolicy(endpointID: 2, direction: .ingress, port: 80),
            [
                Row(
                    peer: ids[0], method: "GET", path: "/", allowed: true, reason: .ruleMatched, policy: "backend/allow"
                )
            ])
    }

    /// A deny beats every allow also on a port whose rules carry header actions (where every
    /// rule is run): the denied peer gets the deny, in `decide` and in `briefDecide`.
    func testExplicitDenyBeatsAllowWithHeaderActions() throws {
        let allow = cnp(
            "allow", "      rules:\n        http:\n        - headerMatches: [{name: X-A, value: '1', mismatch: ADD}]")
        let deny = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: default-deny, namespace: backend}
            spec:
              endpointSelector: {}
              ingressDeny:
              - fromEntities: [all]
            """
        let (snapshot, ids) = try snapshot([allow, deny])
        let policy = try XCTUnwrap(snapshot.httpPolicy(endpointID: 2, direction: .ingress, port: 80))
        XCTAssertTrue(policy.hasHeaderActions)
        check(
            policy,
            [
                Row(
                    peer: ids[0], method: "GET", path: "/", allowed: false, reason: .deniedByPolicy,
                    policy: "backend/default-deny")
            ])
        let (allowOnly, _) = try self.snapshot([allow])
        let open = try XCTUnwrap(allowOnly.httpPolicy(endpointID: 2, direction: .ingress, port: 80))
        check(
            open,
            [Row(peer: ids[0], method: "GET", path: "/", allowed: true, reason: .ruleMatched, policy: "backend/allow")])
        XCTAssertEqual(
            open.decide(peerIdentity: ids[0], request: TestRequest("GET", "/")).headerActions,
            [HTTPHeaderAction(name: "X-A", value: "1", action: .add)])
    }

    /// The snapshot holds each policy's HTTP rules as the document's own array (no copy of
    /// every rule with its verdict per compile), and a matching rule's verdict still names it.
    func testTheSnapshotSharesThePolicysRulesInsteadOfCopyingThem() throws {
        let repository = PolicyRepository()
        try repository.apply(
            yamlText: cnp("shared", "      rules:\n        http:\n        - path: /a\n        - path: /b"),
            fileName: "p.yaml")
        var allocator = IdentityAllocator()
        let snapshot = repository.compile(endpoints: Fixtures.tutorialEndpoints, allocator: &allocator)
        let policy = try XCTUnwrap(snapshot.httpPolicy(endpointID: 2, direction: .ingress, port: 80))
        let document = try XCTUnwrap(repository.documentsInForce.first)
        guard case .http(let written) = document.rules[0].ingress[0].toPorts[0].rules else {
            return XCTFail("no HTTP rules parsed")
        }
        let compiled = try XCTUnwrap(policy.entries.compactMap(\.rules).first)
        XCTAssertEqual(compiled, written)
        XCTAssertEqual(
            compiled.withUnsafeBufferPointer { $0.baseAddress }, written.withUnsafeBufferPointer { $0.baseAddress })
        let frontend = snapshot.identity(ofEndpoint: Fixtures.tutorialEndpoints[0].id) ?? 0
        check(
            policy,
            [
                Row(
                    peer: frontend, method: "GET", path: "/b", allowed: true, reason: .ruleMatched,
                    policy: "backend/shared"),
                Row(
                    peer: frontend, method: "GET", path: "/c", allowed: false, reason: .noRuleMatched,
                    policy: "backend/shared"),
            ])
        XCTAssertEqual(policy.canonical.filter { $0.hasPrefix("http ") }.count, 2)
    }
}
