import PolicyYAML
import XCTest

@testable import Policy

/// A change is computed, compiled and committed in separate steps: until `commit`, the
/// repository keeps the objects in force (the agent installs the candidate everywhere first).
/// Conflicts the compiler finds are diagnostics naming the files and objects.
final class PolicyRepositoryTests: XCTestCase {
    static func cnp(_ name: String, port: String, rules: String? = nil, egress: Bool = false) -> String {
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: \(name), namespace: backend}
        spec:
          endpointSelector: {matchLabels: {app: backend}}
          \(egress ? "egress" : "ingress"):
          - \(egress ? "toEndpoints" : "fromEndpoints"): [{matchLabels: {k8s:io.kubernetes.pod.namespace: frontend}}]
            toPorts:
            - ports: [{port: "\(port)", protocol: TCP}]
        \(rules.map { "      rules: \($0)" } ?? "")
        """
    }

    private func documents(_ yaml: String, _ file: String) throws -> [PolicyNode] {
        try PolicyYAML.documents(yaml, fileName: file)
    }

    /// `policies` CNPs of `rules` HTTP rules each on backend port 80, CNP i admitting its own peer
    /// labels (the bench's policy-scale shape); `changed` gives CNP 7's first rule another path.
    static func scaleFile(policies: Int, rules: Int, changed: Bool = false) -> String {
        (0..<policies).map { i in
            let peer = i == 0 ? "k8s:io.kubernetes.pod.namespace: frontend" : "app: scale-peer-\(i)"
            let http = (0..<rules).map { k in
                let path = i == 7 && k == 0 && changed ? "/changed/.*" : "/svc-\(i)/v\(k)/items/[0-9]+"
                return "        - {method: \(["GET", "POST", "PUT"][(i + k) % 3]), path: \"\(path)\"}"
            }
            return """
                apiVersion: cilium.io/v2
                kind: CiliumNetworkPolicy
                metadata: {name: scale-\(i), namespace: backend}
                spec:
                  endpointSelector: {matchLabels: {app: backend}}
                  ingress:
                  - fromEndpoints: [{matchLabels: {\(peer)}}]
                    toPorts:
                    - ports: [{port: "80", protocol: TCP}]
                      rules:
                        http:

                """ + http.joined(separator: "\n")
        }.joined(separator: "\n---\n")
    }

    /// A change of one rule in a 10,000-rule policy (1,000 objects) compiles that one object;
    /// applying the same file again compiles none and keeps the rules in force; the snapshot is
    /// the one a fresh repository compiles from the same file. A change of the endpoints
    /// compiles everything again.
    func testAChangeOfOneRuleAmongTenThousandCompilesOnlyItsObject() throws {
        let base = Self.scaleFile(policies: 1000, rules: 10)
        let changed = Self.scaleFile(policies: 1000, rules: 10, changed: true)
        let repository = PolicyRepository()
        var allocator = IdentityAllocator()
        func apply(_ text: String) throws -> PolicySnapshot {
            let change = try repository.prepareApply(documents: documents(text, "scale.yaml"), fileName: "scale.yaml")
            let snapshot = repository.compile(change, endpoints: Fixtures.tutorialEndpoints, allocator: &allocator)
            XCTAssertEqual(snapshot.diagnostics.map(\.description), [])
            repository.commit(change)
            return snapshot
        }
        func fresh(_ text: String) throws -> String {
            let other = PolicyRepository()
            try other.apply(documents: documents(text, "scale.yaml"), fileName: "scale.yaml")
            var allocator = IdentityAllocator()
            return other.compile(endpoints: Fixtures.tutorialEndpoints, allocator: &allocator).canonicalDump()
        }

        let first = try apply(base)
        XCTAssertEqual(repository.lastCompiledDocuments, 1000)
        XCTAssertTrue(first.canonicalDump().contains("path: /svc-999/v9/items/[0-9]+"))
        let rulesInForce = repository.documentsInForce.map { $0.rules.withUnsafeBufferPointer { $0.baseAddress } }

        let again = try apply(base)
        XCTAssertEqual(repository.lastCompiledDocuments, 0, "the same file again compiles nothing")
        XCTAssertEqual(again.canonicalDump(), first.canonicalDump())
        XCTAssertEqual(
            repository.documentsInForce.map { $0.rules.withUnsafeBufferPointer { $0.baseAddress } }, rulesInForce,
            "unchanged objects keep the rules in force, not the copies parsed again")

        let oneRule = try apply(changed)
        XCTAssertEqual(repository.lastCompiledDocuments, 1, "one changed object is compiled, 999 reused")
        XCTAssertEqual(oneRule.canonicalDump(), try fresh(changed))
        XCTAssertTrue(oneRule.canonicalDump().contains("path: /changed/.*"))
        XCTAssertFalse(oneRule.canonicalDump().contains("path: /svc-7/v0/items/[0-9]+"))

        let back = try apply(base)
        XCTAssertEqual(repository.lastCompiledDocuments, 1)
        XCTAssertEqual(back.canonicalDump(), first.canonicalDump())

        // another endpoint: every object's entries may differ, all are compiled again
        let more =
            Fixtures.tutorialEndpoints + [
                Fixtures.endpoint(90, "backend", "backend-2", ["app": "backend"])
            ]
        let change = try repository.prepareApply(documents: documents(base, "scale.yaml"), fileName: "scale.yaml")
        _ = repository.compile(change, endpoints: more, allocator: &allocator)
        XCTAssertEqual(repository.lastCompiledDocuments, 1000)
    }

    /// An object applied again, with the same rules or other ones, keeps the key in force: the
    /// names' storage is the one allocated when it was first applied, not the parse's new copy
    /// (made among the apply's transient blocks, where each kept one held a heap page resident).
    /// A new object gets the parsed key.
    func testAnObjectAppliedAgainKeepsTheKeyInForce() throws {
        let repository = PolicyRepository()
        let same = "an-object-name-longer-than-fifteen-bytes", changed = "another-object-name-of-many-bytes"
        func file(_ changedPath: String, extra: Bool = false) -> String {
            [
                Self.cnp(same, port: "80", rules: "{http: [{path: /same}]}"),
                Self.cnp(changed, port: "80", rules: "{http: [{path: \(changedPath)}]}"),
            ].joined(separator: "\n---\n")
                + (extra ? "\n---\n" + Self.cnp("a-third-object-name-of-many-bytes", port: "81") : "")
        }
        func storage(_ name: String) -> UInt? {
            repository.documentsInForce.first { $0.key.name == name }.flatMap { document in
                document.key.name.utf8.withContiguousStorageIfAvailable { UInt(bitPattern: $0.baseAddress) }
            }
        }
        try repository.apply(documents: documents(file("/one"), "a.yaml"), fileName: "a.yaml")
        let before = (storage(same), storage(changed))
        XCTAssertNotNil(before.0)
        XCTAssertNotNil(before.1)

        let result = try repository.apply(documents: documents(file("/two", extra: true), "a.yaml"), fileName: "a.yaml")
        XCTAssertEqual(result.changes.map(\.action), [.unchanged, .configured, .created])
        XCTAssertEqual(storage(same), before.0, "unchanged: the key in force")
        XCTAssertEqual(storage(changed), before.1, "other rules: still the key in force")
        XCTAssertEqual(repository.keys.map(\.name), ["a-third-object-name-of-many-bytes", same, changed])
        XCTAssertTrue(repository.listing().contains("path: /two"))
    }

    /// A deleted object's entries are gone from the next compile, and a prepared change that is
    /// never committed leaves the objects in force compiling as before.
    /// A commit frees the compiled patterns of the objects it replaced or removed (the intern
    /// table holds them strongly until a sweep), and keeps those still in force or held.
    func testACommitFreesThePatternsOfReplacedObjects() throws {
        let repository = PolicyRepository()
        let old = "/commit-sweep-old/.*", kept = "/commit-sweep-kept/[0-9]+", new = "/commit-sweep-new"
        func file(_ paths: [String]) -> String {
            let rules = paths.map { "{path: \"\($0)\"}" }.joined(separator: ", ")
            return Self.cnp("sweep", port: "80", rules: "{http: [" + rules + "]}")
        }
        try repository.apply(documents: documents(file([old, kept]), "a.yaml"), fileName: "a.yaml")
        XCTAssertTrue(Regex.isInterned(old))
        var change: PolicyRepository.Change? = try repository.prepareApply(
            documents: documents(file([kept, new]), "a.yaml"), fileName: "a.yaml")
        XCTAssertTrue(Regex.isInterned(old), "in force until the commit")
        repository.commit(change!)
        XCTAssertFalse(Regex.isInterned(old))
        XCTAssertTrue(Regex.isInterned(kept))
        XCTAssertTrue(Regex.isInterned(new))
        // removed, but still held by the change: kept until the sweep after its last use
        repository.commit(PolicyRepository.Change(removing: repository.keys))
        XCTAssertTrue(Regex.isInterned(new))
        change = nil
        XCTAssertGreaterThanOrEqual(PolicyRepository.freeUnusedPatterns(), 2)
        XCTAssertFalse(Regex.isInterned(new))
        XCTAssertFalse(Regex.isInterned(kept))
    }

    func testCachedEntriesFollowDeletesAndUncommittedChanges() throws {
        let repository = PolicyRepository()
        var allocator = IdentityAllocator()
        try repository.apply(documents: documents(Self.scaleFile(policies: 20, rules: 2), "a.yaml"), fileName: "a.yaml")
        let before = repository.compile(endpoints: Fixtures.tutorialEndpoints, allocator: &allocator).canonicalDump()
        let candidate = try repository.prepareApply(
            documents: documents(Self.scaleFile(policies: 20, rules: 2, changed: true), "b.yaml"), fileName: "b.yaml")
        let candidateDump = repository.compile(candidate, endpoints: Fixtures.tutorialEndpoints, allocator: &allocator)
            .canonicalDump()
        XCTAssertNotEqual(candidateDump, before)
        XCTAssertEqual(
            repository.compile(endpoints: Fixtures.tutorialEndpoints, allocator: &allocator).canonicalDump(), before)
        XCTAssertEqual(repository.lastCompiledDocuments, 1, "the object in force again, compiled again")

        XCTAssertTrue(repository.delete(kind: .ciliumNetworkPolicy, namespace: "backend", name: "scale-7"))
        let deleted = repository.compile(endpoints: Fixtures.tutorialEndpoints, allocator: &allocator).canonicalDump()
        XCTAssertEqual(repository.lastCompiledDocuments, 0)
        XCTAssertFalse(deleted.contains("/svc-7/"))
        XCTAssertTrue(deleted.contains("/svc-8/"))
    }

    func testAPreparedChangeChangesNothingUntilCommitted() throws {
        let repository = PolicyRepository()
        try repository.apply(yamlText: Self.cnp("web", port: "80"), fileName: "a.yaml")
        let before = repository.listing()
        let change = try repository.prepareApply(
            documents: documents(Self.cnp("api", port: "8080"), "b.yaml"), fileName: "b.yaml")
        XCTAssertEqual(change.result.description, "ciliumnetworkpolicy.cilium.io/api created")
        XCTAssertEqual(repository.listing(), before, "prepareApply changed the objects in force")
        var allocator = IdentityAllocator()
        let candidate = repository.compile(change, endpoints: Fixtures.tutorialEndpoints, allocator: &allocator)
        XCTAssertEqual(
            candidate.decision(endpoint: 2, .ingress, peer: candidate.endpointIdentity(1), port: 8080), "allow")
        XCTAssertEqual(repository.listing(), before, "compiling a change changed the objects in force")
        let inForce = repository.compile(endpoints: Fixtures.tutorialEndpoints, allocator: &allocator)
        XCTAssertEqual(
            inForce.decision(endpoint: 2, .ingress, peer: inForce.endpointIdentity(1), port: 8080), "denied-133")

        repository.commit(change)
        XCTAssertEqual(repository.keys.map(\.name), ["api", "web"])
        let removal = PolicyRepository.Change(removing: [
            PolicyKey(kind: .ciliumNetworkPolicy, namespace: "backend", name: "web")
        ])
        let without = repository.compile(removal, endpoints: Fixtures.tutorialEndpoints, allocator: &allocator)
        XCTAssertEqual(
            without.decision(endpoint: 2, .ingress, peer: without.endpointIdentity(1), port: 80), "denied-133")
        XCTAssertEqual(repository.keys.map(\.name), ["api", "web"])
        repository.commit(removal)
        XCTAssertEqual(repository.keys.map(\.name), ["api"])
    }

    func testTheSameObjectTwiceInOneFileIsCreatedThenConfigured() throws {
        let repository = PolicyRepository()
        let text = Self.cnp("web", port: "80") + "\n---\n" + Self.cnp("web", port: "81")
        let change = try repository.prepareApply(documents: documents(text, "a.yaml"), fileName: "a.yaml")
        XCTAssertEqual(
            change.result.description,
            "ciliumnetworkpolicy.cilium.io/web created\nciliumnetworkpolicy.cilium.io/web configured")
        repository.commit(change)
        var allocator = IdentityAllocator()
        let snapshot = repository.compile(endpoints: Fixtures.tutorialEndpoints, allocator: &allocator)
        XCTAssertEqual(snapshot.decision(endpoint: 2, .ingress, peer: snapshot.endpointIdentity(1), port: 81), "allow")
        XCTAssertEqual(
            snapshot.decision(endpoint: 2, .ingress, peer: snapshot.endpointIdentity(1), port: 80), "denied-133")
    }

    /// HTTP and DNS rules on one port (Cilium refuses the policy): a diagnostic naming the
    /// endpoint, the port and each object with the file and line it came from.
    func testHTTPAndDNSRulesOnOnePortAreADiagnosticNamingBothFiles() throws {
        let repository = PolicyRepository()
        try repository.apply(
            yamlText: Self.cnp("web", port: "53", rules: "{http: [{method: GET}]}", egress: true),
            fileName: "http.yaml")
        let change = try repository.prepareApply(
            documents: documents(
                "# a comment\n"
                    + Self.cnp(
                        "dns", port: "53", rules: "{dns: [{matchName: a.example}]}",
                        egress: true), "dns.yaml"),
            fileName: "dns.yaml")
        var allocator = IdentityAllocator()
        let snapshot = repository.compile(change, endpoints: Fixtures.tutorialEndpoints, allocator: &allocator)
        XCTAssertEqual(snapshot.diagnostics.count, 1)
        let diagnostic = try XCTUnwrap(snapshot.diagnostics.first)
        XCTAssertEqual(diagnostic.sources.map(\.file), ["dns.yaml", "http.yaml"])
        XCTAssertEqual(diagnostic.sources.map(\.line), [2, 1])
        XCTAssertEqual(
            diagnostic.description,
            "dns.yaml:2: ciliumnetworkpolicy.cilium.io/backend/dns: egress toPorts 53/TCP of backend/backend-7f8b: "
                + "rules.http and rules.dns on the same port (Cilium refuses this policy) "
                + "(also http.yaml:1: ciliumnetworkpolicy.cilium.io/backend/web)")
        var again = IdentityAllocator()
        XCTAssertTrue(repository.compile(endpoints: Fixtures.tutorialEndpoints, allocator: &again).diagnostics.isEmpty)
    }

    func testTooManyPolicyMapEntriesIsADiagnostic() throws {
        let repository = PolicyRepository()
        try repository.apply(
            yamlText: """
                apiVersion: cilium.io/v2
                kind: CiliumNetworkPolicy
                metadata: {name: wide, namespace: backend}
                spec:
                  endpointSelector: {}
                  ingress:
                  - fromEntities: [cluster]
                    toPorts:
                    - ports: [{port: "1", endPort: 65535, protocol: ANY}]
                """, fileName: "wide.yaml")
        let snapshot = try Fixtures.compile([], endpoints: Fixtures.tutorialEndpoints)
        XCTAssertTrue(snapshot.diagnostics.isEmpty)
        var allocator = IdentityAllocator()
        let wide = repository.compile(endpoints: Fixtures.tutorialEndpoints, allocator: &allocator)
        XCTAssertEqual(wide.diagnostics.count, 1)
        XCTAssertTrue(
            wide.diagnostics[0].description.contains("more than the datapath's 524288 (sluice_policy)"),
            wide.diagnostics[0].description)
    }
}
