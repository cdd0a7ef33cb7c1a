import CSluiceShared
import Glibc
import Policy
import PolicyYAML
import Proxy
import SluiceAPI
import SluiceIO
import SluiceJSON
import SluiceTestSupport
import XCTest

@testable import Agent

/// `Agent`: the L7 port map it hands the datapath, IPv4 text, the answers `sluice apply` gets,
/// and a start that refuses stored policies it cannot use (before it touches a namespace or the
/// datapath: the tests give it a network namespace that does not exist, so getting past the
/// policies would fail differently).
final class AgentTests: XCTestCase {
    func testL7EntriesMapDirectionAndKind() throws {
        let yaml = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: mixed, namespace: default}
            spec:
              endpointSelector: {matchLabels: {app: backend}}
              ingress:
              - fromEndpoints: [{matchLabels: {app: client}}]
                toPorts:
                - ports: [{port: "80", protocol: TCP}]
                  rules: {http: [{method: GET}]}
              egress:
              - toEndpoints: [{matchLabels: {app: client}}]
                toPorts:
                - ports: [{port: "53", protocol: UDP}, {port: "53", protocol: TCP}]
                  rules: {dns: [{matchPattern: "*"}]}
                - ports: [{port: "8080", protocol: TCP}]
                  rules: {http: [{path: "/x"}]}
            """
        let snapshot = try TestPolicy.snapshot(yaml)
        let entries = Agent.l7Entries(snapshot)
        let ingress = UInt8(SLUICE_DIR_INGRESS.rawValue)
        let egress = UInt8(SLUICE_DIR_EGRESS.rawValue)
        func kind(_ port: UInt16, _ proto: UInt8, _ direction: UInt8) -> UInt32? {
            entries[sluice_l7_key(endpoint_id: TestPolicy.backendID, port: port, proto: proto, direction: direction)]
                .map { UInt32($0.kind) }
        }
        XCTAssertEqual(entries.count, 4)
        XCTAssertEqual(kind(80, 6, ingress), SLUICE_PROXY_HTTP.rawValue)
        XCTAssertEqual(kind(8080, 6, egress), SLUICE_PROXY_HTTP.rawValue)
        XCTAssertEqual(kind(53, 17, egress), SLUICE_PROXY_DNS_UDP.rawValue)
        XCTAssertEqual(kind(53, 6, egress), SLUICE_PROXY_DNS_TCP.rawValue)
        XCTAssertNil(kind(80, 6, egress))
        XCTAssertEqual(entries.count, snapshot.l7Ports.count)
    }

    func testL7EntriesOfAnEmptySnapshotAreEmpty() throws {
        let repository = PolicyRepository()
        var allocator = IdentityAllocator()
        XCTAssertTrue(
            Agent.l7Entries(repository.compile(endpoints: TestPolicy.endpoints, allocator: &allocator)).isEmpty)
    }

    // MARK: apply answers

    private var stateDirectory = ""

    override func setUpWithError() throws {
        stateDirectory = try NodePolicyTests.temporaryDirectory()
    }

    override func tearDown() {
        NodePolicyTests.removeTree(stateDirectory)
    }

    private func agent() -> Agent {
        let agent = NodePolicyTests.agentWithoutDatapath(in: stateDirectory)
        agent.policy.endpoints = TestPolicy.endpoints
        return agent
    }

    private func apply(_ agent: Agent, _ yaml: String, file: String) throws -> ControlResponse {
        agent.handle(ControlRequest(op: .apply, file: file, documents: try PolicyYAML.documents(yaml, fileName: file)))
    }

    /// client -> backend on TCP 53 with `rules` (egress of client), as object `name`.
    static func port53(_ name: String, _ rules: String) -> String {
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: \(name), namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: client}}
          egress:
          - toEndpoints: [{matchLabels: {app: backend}}]
            toPorts:
            - ports: [{port: "53", protocol: TCP}]
              rules: \(rules)
        """
    }

    func testACompileDiagnosticIsAnErrorToTheClient() throws {
        let agent = agent()
        let first = try apply(agent, Self.port53("web", "{http: [{method: GET}]}"), file: "http.yaml")
        XCTAssertTrue(first.ok, first.message)
        XCTAssertEqual(first.message, "ciliumnetworkpolicy.cilium.io/web created")
        let listing = agent.policy.repository.listing()

        let second = try apply(agent, Self.port53("dns", "{dns: [{matchName: a.example}]}"), file: "dns.yaml")
        XCTAssertFalse(second.ok)
        XCTAssertEqual(
            second.message,
            "dns.yaml: not applied, the policy in force is unchanged: dns.yaml:1: ciliumnetworkpolicy.cilium.io/default/dns: "
                + "egress toPorts 53/TCP of default/client: rules.http and rules.dns on the same port (Cilium refuses this policy) "
                + "(also http.yaml:1: ciliumnetworkpolicy.cilium.io/default/web)")
        XCTAssertEqual(agent.policy.repository.listing(), listing)
        // The refused file was written under a temporary name before the compile; it is gone.
        XCTAssertEqual(Files.list(stateDirectory + "/state/policies").count, 1)
        XCTAssertEqual(Files.list(stateDirectory + "/state/policies").filter { $0.hasSuffix(".json") }.count, 1)
    }

    func testAParseErrorNamesFileLineAndFieldAndChangesNothing() throws {
        let agent = agent()
        let response = try apply(
            agent,
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: bad, namespace: default}
            spec:
              endpointSelector: {}
              ingress:
              - toPorts:
                - ports: [{port: "80", protocol: TCP}]
                  rules: {http: [{method: "("}]}
            """, file: "bad.yaml")
        XCTAssertFalse(response.ok)
        XCTAssertTrue(response.message.hasPrefix("bad.yaml:9:"), response.message)
        XCTAssertTrue(response.message.contains("rules.http[0].method"), response.message)
        XCTAssertTrue(agent.policy.repository.keys.isEmpty)
    }

    func testWarningsFollowTheResultLines() throws {
        let response = try apply(
            agent(),
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: ns, namespace: default}
            spec:
              endpointSelector: {matchLabels: {k8s:io.kubernetes.pod.namespace: other}}
              ingress: [{}]
            """, file: "ns.yaml")
        XCTAssertTrue(response.ok, response.message)
        let lines = response.message.split(separator: "\n")
        XCTAssertEqual(lines.first, "ciliumnetworkpolicy.cilium.io/ns created")
        XCTAssertTrue(lines.dropFirst().first?.hasPrefix("Warning: ") ?? false, response.message)
    }

    // MARK: start

    private func writeEndpoints(nodeIP: String = "10.0.0.1", backendIP: String = "10.0.0.3") throws {
        let text = """
            {"nodeIP": "\(nodeIP)", "endpoints": [
              {"id": 3, "namespace": "default", "pod": "backend", "podLabels": {"app": "backend"}, "ipv4": "\(backendIP)"},
              {"id": 7, "namespace": "default", "pod": "client", "podLabels": {"app": "client"}, "ipv4": "10.0.0.7"}]}
            """
        try Files.writeAtomically(stateDirectory + "/endpoints.json", Array(text.utf8))
    }

    private func store(_ name: String, _ bytes: [UInt8]) throws {
        try Files.createDirectories(stateDirectory + "/state/policies")
        try Files.writeAtomically(stateDirectory + "/state/policies/" + name, bytes)
    }

    private func store(_ name: String, yaml: String, file: String) throws {
        try store(name, JSON.encode(StoredPolicy(file: file, documents: PolicyYAML.documents(yaml, fileName: file))))
    }

    /// Runs the agent's start and returns the error it stops with.
    private func startError() -> String {
        do {
            try Agent(options: agent().options).run()
            return "started"
        } catch {
            return String(describing: error)
        }
    }

    func testAStoredPolicyThatIsNotJSONStopsTheStart() throws {
        try writeEndpoints()
        try store("000001.json", yaml: TestPolicy.yaml(port: 80), file: "good.yaml")
        try store("000002.json", Array("{\"file\": \"a.yaml\", \"documents\": [".utf8))
        let error = startError()
        XCTAssertTrue(
            error.hasPrefix("stored policy \(stateDirectory)/state/policies/000002.json is not a stored policy ("),
            error)
        XCTAssertTrue(
            error.hasSuffix(
                "the agent does not start without the policies it was given "
                    + "(fix or remove the file, then start it again)"), error)
    }

    func testAStoredPolicyOfAnotherShapeStopsTheStart() throws {
        try writeEndpoints()
        try store("000001.json", Array("{\"policies\": []}".utf8))
        let error = startError()
        XCTAssertTrue(
            error.hasPrefix("stored policy \(stateDirectory)/state/policies/000001.json is not a stored policy"), error)
    }

    func testAStoredPolicyThatNoLongerValidatesStopsTheStart() throws {
        try writeEndpoints()
        try store(
            "000001.json",
            yaml: TestPolicy.yaml(port: 80).replacingOccurrences(
                of: "CiliumNetworkPolicy", with: "CiliumNetworkPolicyX"),
            file: "old.yaml")
        let error = startError()
        XCTAssertTrue(
            error.hasPrefix(
                "stored policy \(stateDirectory)/state/policies/000001.json (applied from old.yaml) "
                    + "no longer applies: old.yaml:2:"), error)
    }

    func testStoredPoliciesThatConflictStopTheStart() throws {
        try writeEndpoints()
        try store("000001.json", yaml: Self.port53("web", "{http: [{method: GET}]}"), file: "http.yaml")
        try store("000002.json", yaml: Self.port53("dns", "{dns: [{matchName: a.example}]}"), file: "dns.yaml")
        let error = startError()
        XCTAssertTrue(
            error.hasPrefix("the stored policies in \(stateDirectory)/state/policies conflict: dns.yaml:1: "), error)
        XCTAssertTrue(error.contains("http.yaml:1:"), error)
    }

    func testAYAMLFileOfAnEarlierVersionStopsTheStart() throws {
        try writeEndpoints()
        try store("000001.yaml", Array(TestPolicy.yaml(port: 80).utf8))
        let error = startError()
        XCTAssertTrue(
            error.hasPrefix("stored policy \(stateDirectory)/state/policies/000001.yaml is YAML stored by an earlier"),
            error)
    }

    func testAnUnreadableIdentitiesFileStopsTheStart() throws {
        try writeEndpoints()
        try Files.createDirectories(stateDirectory + "/state")
        try Files.writeAtomically(stateDirectory + "/state/identities.json", Array("[1, 2".utf8))
        let error = startError()
        XCTAssertTrue(error.hasPrefix("\(stateDirectory)/state/identities.json cannot be read: "), error)
    }

    func testAnEndpointWithoutAnAddressStopsTheStart() throws {
        try writeEndpoints(backendIP: "10.0.0")
        XCTAssertEqual(
            startError(),
            "\(stateDirectory)/endpoints.json: endpoint 3 (default/backend) has no IPv4 address but '10.0.0'")
    }

    /// Good stored policies get past the policy step: the start then fails at the namespace,
    /// which proves the tests above stopped at the policies.
    func testGoodStoredPoliciesGetPastThePolicyStep() throws {
        try writeEndpoints()
        try store("000001.json", yaml: TestPolicy.yaml(port: 80), file: "good.yaml")
        let error = startError()
        XCTAssertTrue(error.contains("sluice-test-no-such-namespace"), error)
    }
}
