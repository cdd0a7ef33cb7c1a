import Foundation
import SluiceJSON
import SluiceTestSupport
import XCTest

@testable import KubeClient

/// The three policy kinds watched together from the fake API server (with Cilium's CRDs from
/// deploy/): the state once all are listed, an invalid object reported beside the valid ones,
/// a change and a delete, and a forced 410 that loses nothing.
final class KubePolicyWatcherTests: XCTestCase {
    private var server: FakeAPIServer!

    override func setUpWithError() throws {
        server = try FakeAPIServer(["--load", FakeAPIServer.root + "/deploy/cilium-crds/policies.yaml"])
    }
    override func tearDown() { server?.close() }

    private func cnp(_ name: String, path: String) -> String {
        #"{"apiVersion":"cilium.io/v2","kind":"CiliumNetworkPolicy","metadata":{"name":"\#(name)","namespace":"default"},"#
            + #""spec":{"endpointSelector":{"matchLabels":{"app":"web"}},"ingress":[{"toPorts":[{"ports":[{"port":"80","protocol":"TCP"}],"#
            + #""rules":{"http":[{"method":"GET","path":"\#(path)"}]}}]}]}}"#
    }

    func testPoliciesOfTheThreeKinds() throws {
        let cnpPath = "/apis/cilium.io/v2/namespaces/default/ciliumnetworkpolicies"
        XCTAssertEqual(try server.request("POST", cnpPath, body: cnp("web", path: "/a")), 201)
        XCTAssertEqual(try server.request("POST", cnpPath, body: cnp("bad", path: "(")), 201)
        let ccnp =
            #"{"apiVersion":"cilium.io/v2","kind":"CiliumClusterwideNetworkPolicy","metadata":{"name":"dns"},"spec":{"endpointSelector":{},"egress":[{"toPorts":[{"ports":[{"port":"53","protocol":"ANY"}]}]}]}}"#
        XCTAssertEqual(
            try server.request("POST", "/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies", body: ccnp), 201)

        let config = try KubeConfig.load(path: server.dir + "/kubeconfig")
        let changes = Counter()
        let watcher = KubePolicyWatcher(
            client: try HTTPSClient(config: config), backoff: Backoff(initial: 0.05, maximum: 0.4)
        ) {
            _ in changes.add()
        }
        watcher.start()
        defer { watcher.stop() }
        func documents() -> Set<String> { Set(watcher.current().state.documents.keys) }

        try poll("the three kinds listed") { watcher.current().isSynced }
        XCTAssertEqual(documents(), ["ciliumnetworkpolicies/default/web", "ciliumclusterwidenetworkpolicies/dns"])
        let errors = watcher.current().state.errors
        XCTAssertEqual(Array(errors.keys), ["ciliumnetworkpolicies/default/bad"])
        XCTAssertTrue(errors.values.first!.hasPrefix("k8s:CiliumNetworkPolicy/default/bad"), errors.values.first!)
        XCTAssertGreaterThan(changes.value, 0)

        // A NetworkPolicy arrives; the bad CNP is fixed; the CCNP is deleted.
        let np =
            #"{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"db"},"spec":{"podSelector":{},"ingress":[{"ports":[{"port":5432}]}]}}"#
        XCTAssertEqual(
            try server.request("POST", "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies", body: np), 201)
        let fix =
            #"{"spec":{"ingress":[{"toPorts":[{"ports":[{"port":"80","protocol":"TCP"}],"rules":{"http":[{"path":"/ok"}]}}]}]}}"#
        XCTAssertEqual(
            try server.request("PATCH", cnpPath + "/bad", body: fix, contentType: "application/merge-patch+json"), 200)
        XCTAssertEqual(try server.request("DELETE", "/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies/dns"), 200)
        let expected: Set<String> = [
            "ciliumnetworkpolicies/default/web", "ciliumnetworkpolicies/default/bad", "networkpolicies/default/db",
        ]
        try poll("the changes") { documents() == expected }
        XCTAssertEqual(watcher.current().state.errors.count, 0)

        // Every watch ends with 410: the relists keep every policy in force throughout.
        XCTAssertEqual(watcher.listCounts(), [1, 1, 1])
        try server.controlAction("expire")
        try poll("the three relists") {
            XCTAssertEqual(documents(), expected)
            return watcher.listCounts() == [2, 2, 2]
        }
        XCTAssertEqual(try server.request("DELETE", cnpPath + "/web"), 200)
        try poll("the delete after the relist") {
            documents() == ["ciliumnetworkpolicies/default/bad", "networkpolicies/default/db"]
        }
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() {
        lock.lock()
        count += 1
        lock.unlock()
    }
    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}
