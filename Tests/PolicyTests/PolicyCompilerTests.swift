import PolicyYAML
import SluiceModel
import XCTest

@testable import Policy

/// The compiler's L7 stage: peers resolved to identities, ports expanded (named ports per
/// direction), rules grouped per (endpoint, direction, port), and HTTP/DNS conflicts reported.
final class PolicyCompilerTests: XCTestCase {
    /// Tutorial endpoints with two named ports, so both resolution directions can be told apart.
    static let endpoints: [EndpointDescriptor] = [
        Fixtures.endpoint(1, "frontend", "frontend-6d4b", ["app": "frontend"], namedPorts: ["web": 8080]),
        Fixtures.endpoint(2, "backend", "backend-7f8b", ["app": "backend"], namedPorts: ["web": 9090]),
        Fixtures.endpoint(3, "database", "db-5c6d", ["app": "database"]),
    ]

    static func compiler(_ yaml: String) throws -> PolicyCompiler {
        let output = try PolicyFileParser.parse(
            documents: PolicyYAML.documents(yaml, fileName: "p.yaml"), fileName: "p.yaml")
        var allocator = IdentityAllocator()
        return PolicyCompiler(documents: output.documents, endpoints: endpoints, allocator: &allocator)
    }

    private func snapshot(_ yaml: String) throws -> PolicySnapshot {
        var compiler = try Self.compiler(yaml)
        return compiler.build()
    }

    /// A port entry keeps its TLS interception out of line (the compile cache keeps every
    /// entry; inline it made each 260 bytes), and gives it back as it was given.
    func testAPortEntryKeepsItsInterceptionOutOfLine() {
        XCTAssertLessThanOrEqual(MemoryLayout<PolicyCompiler.PortEntry>.size, 96)
        let interception = TLSInterception(
            terminating: TLSContext(namespace: "ns", name: "server"), originating: nil,
            serverNames: [try! ServerNamePattern("api.example.com")])
        func entry(_ interception: TLSInterception?) -> PolicyCompiler.PortEntry {
            PolicyCompiler.PortEntry(
                low: 443, high: 443, protocols: [6], peers: .all, datapathPeers: .all, rules: .none,
                interception: interception, isDeny: false, policyName: "ns/p", policyRef: 1)
        }
        XCTAssertEqual(entry(interception).interception, interception)
        XCTAssertEqual(entry(interception).l7Kind, .http)
        XCTAssertNil(entry(nil).interception)
        XCTAssertNil(entry(nil).l7Kind)
    }

    func testResolveNamesIdentities() throws {
        let compiler = try Self.compiler("")
        XCTAssertEqual(compiler.identities, [256, 257, 258])
        let frontend = LabelSelector(requirements: [.init(source: "any", key: "app", op: .in, values: ["frontend"])])
        XCTAssertEqual(compiler.resolve(PeerSelection(endpoints: [frontend])), .some([256]))
        XCTAssertEqual(compiler.resolve(PeerSelection()), .all)
        XCTAssertEqual(compiler.resolve(PeerSelection(selectsNothing: true)), .some([]))
        XCTAssertEqual(compiler.resolve(PeerSelection(entities: ["all"])), .all)
        XCTAssertEqual(
            compiler.resolve(PeerSelection(entities: ["host", "kube-apiserver"])),
            .of([ReservedIdentity.host, ReservedIdentity.kubeAPIServer]))
        XCTAssertEqual(
            compiler.resolve(PeerSelection(endpoints: [frontend], cidrs: [CIDRRule(cidr: "10.0.0.0/8", except: [])])),
            .of([256, ReservedIdentity.world, ReservedIdentity.worldIPv4, ReservedIdentity.worldIPv6]),
            "CIDR peers stand for world at L7")
    }

    func testL7PortsPerEndpointWithNamedPorts() throws {
        let snapshot = try snapshot(
            Fixtures.cnp(
                spec: """
                    ingress:
                    - toPorts:
                      - ports: [{port: web, protocol: TCP}]
                        rules: {http: [{method: GET}]}
                    egress:
                    - toEndpoints: [{matchLabels: {'k8s:io.kubernetes.pod.namespace': frontend}}]
                      toPorts:
                      - ports: [{port: web, protocol: TCP}, {port: "53", protocol: ANY}]
                        rules: {dns: [{matchName: example.com}]}
                    """))
        XCTAssertEqual(
            snapshot.l7Ports.map(\.description),
            [
                "endpoint 2 INGRESS 9090/TCP http",
                "endpoint 2 EGRESS 53/TCP dns", "endpoint 2 EGRESS 53/UDP dns", "endpoint 2 EGRESS 8080/TCP dns",
            ],
            "ingress named ports resolve on the subject, egress ones on the peers; DNS on TCP and UDP only")
        let http = try XCTUnwrap(snapshot.httpPolicy(endpointID: 2, direction: .ingress, port: 9090))
        XCTAssertTrue(http.decide(peerIdentity: 256, request: TestRequest("GET", "/")).allowed)
        XCTAssertEqual(
            http.decide(peerIdentity: 256, request: TestRequest("PUT", "/")),
            Verdict(
                allowed: false, reason: .noRuleMatched, policyName: "backend/p",
                policyRef: PolicyKey(kind: .ciliumNetworkPolicy, namespace: "backend", name: "p").ref))
        let dns = try XCTUnwrap(snapshot.dnsPolicy(endpointID: 2, port: 53, proto: IPProtocol.udp))
        XCTAssertTrue(dns.decide(peerIdentity: 256, qname: "example.com").allowed)
        XCTAssertEqual(dns.decide(peerIdentity: 258, qname: "example.com").reason, .peerNotAllowed)
        XCTAssertEqual(snapshot.diagnostics.count, 0)
    }

    func testHTTPAndDNSOnOnePortAreReported() throws {
        let snapshot = try snapshot(
            Fixtures.cnp(
                "web", namespace: "frontend", selector: "{}",
                spec: """
                    egress: [{toPorts: [{ports: [{port: "53", protocol: TCP}], rules: {http: [{}]}}]}]
                    """) + "\n---\n"
                + Fixtures.cnp(
                    "dns", namespace: "frontend", selector: "{}",
                    spec: """
                        egress: [{toPorts: [{ports: [{port: "53", protocol: ANY}], rules: {dns: [{matchPattern: "*"}]}}]}]
                        """))
        XCTAssertEqual(
            snapshot.l7Ports.map(\.description), ["endpoint 1 EGRESS 53/TCP http", "endpoint 1 EGRESS 53/UDP dns"])
        XCTAssertEqual(
            snapshot.diagnostics.map(\.message),
            [
                "egress toPorts 53/TCP of frontend/frontend-6d4b: rules.http and rules.dns on the same port (Cilium refuses this policy)"
            ])
        XCTAssertEqual(snapshot.diagnostics.first?.sources.map(\.key.name).sorted(), ["dns", "web"])
    }
}
