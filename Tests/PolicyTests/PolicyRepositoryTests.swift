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
