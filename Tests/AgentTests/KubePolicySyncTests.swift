import Flows
import KubeClient
import Policy
import SluiceIO
import SluiceJSON
import SluiceTestSupport
import XCTest

@testable import Agent

/// The API's policy state reconciled into a `NodePolicy` (no datapath: the repository, the
/// compiled snapshot and the store are what is checked): one transaction per change, the last
/// good version of an object that stops validating kept, a conflicting object kept out alone,
/// nothing stored, and API objects owned.
final class KubePolicySyncTests: XCTestCase {
    private var stateDirectory = ""
    var stateDirectoryForExtensions: String { stateDirectory }

    override func setUpWithError() throws { stateDirectory = try NodePolicyTests.temporaryDirectory() }
    override func tearDown() { NodePolicyTests.removeTree(stateDirectory) }

    private func makePolicy() -> NodePolicy {
        let policy = NodePolicy(stateDirectory: stateDirectory)
        policy.endpoints = TestPolicy.endpoints
        return policy
    }

    /// A CNP selecting app=backend, ingress from app=client on `port` with HTTP `path`.
    static func cnp(_ name: String, port: Int = 80, path: String = "/a", rules: String? = nil) -> String {
        let l7 = rules ?? #"{"http":[{"method":"GET","path":"\#(path)"}]}"#
        return
            #"{"apiVersion":"cilium.io/v2","kind":"CiliumNetworkPolicy","metadata":{"name":"\#(name)","namespace":"default","resourceVersion":"9"},"#
            + #""spec":{"endpointSelector":{"matchLabels":{"app":"backend"}},"ingress":[{"fromEndpoints":[{"matchLabels":{"app":"client"}}],"#
            + #""toPorts":[{"ports":[{"port":"\#(port)","protocol":"TCP"}],"rules":\#(l7)}]}]}}"#
    }

    /// A CNP selecting app=client, egress to port 80/TCP with `rules`.
    static func egress(_ name: String, rules: String) -> String {
        #"{"apiVersion":"cilium.io/v2","kind":"CiliumNetworkPolicy","metadata":{"name":"\#(name)","namespace":"default"},"#
            + #""spec":{"endpointSelector":{"matchLabels":{"app":"client"}},"egress":[{"toPorts":[{"ports":[{"port":"80","protocol":"TCP"}],"rules":\#(rules)}]}]}}"#
    }

    private func state(_ objects: [String: String], errors: [String: String] = [:]) throws -> KubePolicyWatcher.State {
        var state = KubePolicyWatcher.State()
        for (key, json) in objects {
            state.documents[key] = PolicyObjects.document(try JSONValue.parse(Array(json.utf8)))
        }
        state.errors = errors
        return state
    }

    private func key(_ name: String) -> PolicyKey {
        PolicyKey(kind: .ciliumNetworkPolicy, namespace: "default", name: name)
    }

    func testAddModifyDeleteAreEachOneCommitAndNothingIsStored() throws {
        let policy = makePolicy()
        let sync = KubePolicySync()
        let a = "ciliumnetworkpolicies/default/a"
        let b = "ciliumnetworkpolicies/default/b"
        XCTAssertTrue(
            sync.reconcile(
                try state([a: Self.cnp("a"), b: Self.cnp("b", port: 8080)]), endpoints: policy.endpoints, remote: [],
                policy: policy))
        XCTAssertEqual(sync.commits, 1, "both objects in one transaction")
        XCTAssertEqual(policy.repository.keys, [key("a"), key("b")])
        XCTAssertEqual(policy.snapshot.l7Ports.count, 2)
        XCTAssertTrue(sync.owns(key("a")))

        // The same state again changes nothing.
        XCTAssertFalse(
            sync.reconcile(
                try state([a: Self.cnp("a"), b: Self.cnp("b", port: 8080)]), endpoints: policy.endpoints, remote: [],
                policy: policy))
        XCTAssertEqual(sync.commits, 1)

        // a modified and b deleted: one commit.
        XCTAssertTrue(
            sync.reconcile(
                try state([a: Self.cnp("a", port: 81)]), endpoints: policy.endpoints, remote: [], policy: policy))
        XCTAssertEqual(sync.commits, 2)
        XCTAssertEqual(policy.repository.keys, [key("a")])
        XCTAssertEqual(policy.snapshot.l7Ports.map(\.port), [81])
        XCTAssertFalse(sync.owns(key("b")))
        XCTAssertTrue(Files.list(stateDirectory + "/policies").isEmpty, "the API's objects are not stored")
    }

    func testAnInvalidUpdateKeepsTheLastGoodVersionAndANewInvalidObjectIsOut() throws {
        let policy = makePolicy()
        let sync = KubePolicySync()
        let a = "ciliumnetworkpolicies/default/a"
        sync.reconcile(try state([a: Self.cnp("a", port: 80)]), endpoints: policy.endpoints, remote: [], policy: policy)
        // a's new version fails validation (the watcher reports it and drops its document); a new
        // object c is invalid too.
        let errors = [
            a: "k8s:CiliumNetworkPolicy/default/a: bad regex", "ciliumnetworkpolicies/default/c": "k8s:…/c: bad",
        ]
        sync.reconcile(try state([:], errors: errors), endpoints: policy.endpoints, remote: [], policy: policy)
        XCTAssertEqual(policy.repository.keys, [key("a")], "the last good version of a stays in force")
        XCTAssertEqual(policy.snapshot.l7Ports.map(\.port), [80])
        XCTAssertEqual(
            sync.errorLines,
            [
                "ciliumnetworkpolicies/default/a: k8s:CiliumNetworkPolicy/default/a: bad regex",
                "ciliumnetworkpolicies/default/c: k8s:…/c: bad",
            ])
        // Deleted from the API: gone, error and all.
        sync.reconcile(try state([:]), endpoints: policy.endpoints, remote: [], policy: policy)
        XCTAssertEqual(policy.repository.keys, [])
        XCTAssertEqual(sync.errorLines, [])
    }

    func testAConflictKeepsOutOnlyTheObjectsThatConflict() throws {
        let policy = makePolicy()
        let sync = KubePolicySync()
        // HTTP rules on the client's egress port 80 from one object, DNS rules on the same port
        // from another: Cilium refuses that; the objects apart from b go in, b is reported.
        let objects = [
            "ciliumnetworkpolicies/default/a": Self.egress("a", rules: #"{"http":[{"method":"GET"}]}"#),
            "ciliumnetworkpolicies/default/b": Self.egress("b", rules: #"{"dns":[{"matchPattern":"*"}]}"#),
            "ciliumnetworkpolicies/default/c": Self.cnp("c", port: 9090),
        ]
        XCTAssertTrue(sync.reconcile(try state(objects), endpoints: policy.endpoints, remote: [], policy: policy))
        // a and b are tried alone in key order: a goes in, b then conflicts with it.
        XCTAssertEqual(policy.repository.keys, [key("a"), key("c")])
        XCTAssertEqual(sync.errorLines.count, 1)
        XCTAssertTrue(
            sync.errorLines[0].hasPrefix("ciliumnetworkpolicies/default/b: kubernetes: not applied"), sync.errorLines[0]
        )
        XCTAssertTrue(sync.errorLines[0].contains("Cilium refuses"), sync.errorLines[0])
        // b fixed: it goes in and its error goes.
        var fixed = objects
        fixed["ciliumnetworkpolicies/default/b"] = Self.egress("b", rules: #"{"http":[{"method":"POST"}]}"#)
        XCTAssertTrue(sync.reconcile(try state(fixed), endpoints: policy.endpoints, remote: [], policy: policy))
        XCTAssertEqual(policy.repository.keys, [key("a"), key("b"), key("c")])
        XCTAssertEqual(sync.errorLines, [])
    }

    func testRemotePodsBecomeSelectablePeersInTheIPCache() throws {
        let policy = makePolicy()
        let sync = KubePolicySync()
        let remote = EndpointDescriptor(
            id: 0, namespace: "default", podName: "client-n2", podLabels: ["app": "client"],
            ipv4: UInt32(bigEndian: 0x0A01_0005))
        sync.reconcile(
            try state(["ciliumnetworkpolicies/default/a": Self.cnp("a")]), endpoints: policy.endpoints,
            remote: [remote], policy: policy)
        let snapshot = policy.snapshot
        let localClient = snapshot.identity(ofEndpoint: TestPolicy.clientID)!
        let entry = snapshot.ipcacheEntries().first { $0.ipv4 == remote.ipv4 && $0.prefixLength == 32 }
        XCTAssertEqual(entry?.identity, localClient, "same labels, same identity as the local client")
        // An endpoint-only change (the remote pod gone) is a commit too.
        XCTAssertTrue(
            sync.reconcile(
                try state(["ciliumnetworkpolicies/default/a": Self.cnp("a")]), endpoints: policy.endpoints, remote: [],
                policy: policy))
        XCTAssertNil(policy.snapshot.ipcacheEntries().first { $0.ipv4 == remote.ipv4 })
    }

    func testRemoteIdentitiesOfOtherLabelsAreSelectedByIngressRules() throws {
        let policy = makePolicy()
        let sync = KubePolicySync()
        let remote = EndpointDescriptor(
            id: 0, namespace: "other", podName: "probe", podLabels: ["app": "client", "tier": "n2"],
            ipv4: UInt32(bigEndian: 0x0A01_0006))
        sync.reconcile(
            try state(["ciliumnetworkpolicies/default/a": Self.cnp("a")]), endpoints: policy.endpoints,
            remote: [remote], policy: policy)
        let snapshot = policy.snapshot
        let identity = try XCTUnwrap(snapshot.ipcacheEntries().first { $0.ipv4 == remote.ipv4 }?.identity)
        XCTAssertNotEqual(identity, snapshot.identity(ofEndpoint: TestPolicy.clientID))
        XCTAssertTrue(snapshot.identityLabels(identity).contains("k8s:tier=n2"))
        // fromEndpoints app=client in the CNP's namespace only (default): the pod in `other`
        // is not selected, so no policy entry names its identity.
        XCTAssertFalse(snapshot.policyMapEntries.contains { $0.key.identity == identity })
        // A CCNP selecting app=client anywhere does select it.
        let ccnp =
            #"{"apiVersion":"cilium.io/v2","kind":"CiliumClusterwideNetworkPolicy","metadata":{"name":"any"},"spec":{"endpointSelector":{"matchLabels":{"app":"backend"}},"ingress":[{"fromEndpoints":[{"matchLabels":{"app":"client"}}],"toPorts":[{"ports":[{"port":"9000","protocol":"TCP"}]}]}]}}"#
        sync.reconcile(
            try state(["ciliumnetworkpolicies/default/a": Self.cnp("a"), "ciliumclusterwidenetworkpolicies/any": ccnp]),
            endpoints: policy.endpoints, remote: [remote], policy: policy)
        XCTAssertTrue(policy.snapshot.policyMapEntries.contains { $0.key.identity == identity && $0.key.port == 9000 })
    }
}

extension KubePolicySyncTests {
    /// Pods of other nodes are in `endpoints.json` with ID 0 (flows name them by address).
    func testRemotePodsAreInTheEndpointDirectory() throws {
        let policy = NodePolicy(stateDirectory: stateDirectoryForExtensions)
        policy.endpoints = TestPolicy.endpoints
        let remote = EndpointDescriptor(
            id: 0, namespace: "default", podName: "client-n2", podLabels: ["app": "client"],
            ipv4: UInt32(bigEndian: 0x0A01_0005))
        KubePolicySync().reconcile(
            KubePolicyWatcher.State(), endpoints: policy.endpoints, remote: [remote], policy: policy)
        try policy.writeEndpointDirectory(nodeName: "n1")
        let directory = try EndpointDirectory(json: Files.read(stateDirectoryForExtensions + "/endpoints.json"))
        let entry = try XCTUnwrap(directory.endpoint(ipv4NetworkOrder: remote.ipv4))
        XCTAssertEqual(entry.pod, "client-n2")
        XCTAssertEqual(entry.id, 0)
        XCTAssertTrue(entry.labels.contains("k8s:app=client"))
        XCTAssertEqual(entry.identity, policy.snapshot.identity(ofEndpoint: TestPolicy.clientID))
        XCTAssertEqual(directory.endpoint(id: TestPolicy.clientID)?.pod, "client")
    }
}
