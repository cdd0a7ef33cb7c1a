import Foundation
import KubeClient
import SluiceTestSupport
import XCTest

@testable import Agent

/// The API source on its own: status lines before and after the lists, the last error while the
/// server is away, and the reconcile thread handing over the complete state.
final class KubeSourceTests: XCTestCase {
    final class Calls: @unchecked Sendable {
        private let lock = NSLock()
        private var snapshots: [KubeSource.Snapshot] = []
        func add(_ s: KubeSource.Snapshot) {
            lock.lock()
            snapshots.append(s)
            lock.unlock()
        }
        var count: Int {
            lock.lock()
            defer { lock.unlock() }
            return snapshots.count
        }
        var last: KubeSource.Snapshot? {
            lock.lock()
            defer { lock.unlock() }
            return snapshots.last
        }
    }

    func testStatusAndTheReconcileThread() throws {
        let server = try FakeAPIServer(["--load", FakeAPIServer.root + "/deploy/cilium-crds/policies.yaml"])
        defer { server.close() }
        XCTAssertEqual(
            try server.request(
                "POST", "/apis/cilium.io/v2/namespaces/default/ciliumnetworkpolicies",
                body: KubePolicySyncTests.cnp("a")),
            201)
        try server.controlAction("stop")
        let calls = Calls()
        let config = try KubeConfig.load(path: server.dir + "/kubeconfig")
        let source = try KubeSource(
            source: .kubeconfig(server.dir + "/kubeconfig"), config: config,
            backoff: Backoff(initial: 0.05, maximum: 0.2)
        ) { snapshot in
            calls.add(snapshot)
            return true
        }
        source.start()
        defer { source.stop() }
        // The server is away: nothing listed, the error shown, nothing handed over.
        try poll("the error") { source.status().lastError != nil }
        var status = source.status()
        XCTAssertEqual(status.server, server.url)
        XCTAssertEqual(status.source, "kubeconfig \(server.dir)/kubeconfig")
        XCTAssertFalse(status.synced)
        XCTAssertEqual(status.resources.first, .init(name: "ciliumnetworkpolicies", resourceVersion: nil, lists: 0))
        XCTAssertTrue(status.lastError!.contains("s ago)"), status.lastError!)
        XCTAssertEqual(
            status.lines[0], "Kubernetes:       Not synced   \(server.url) (kubeconfig \(server.dir)/kubeconfig)")
        XCTAssertNil(calls.last)

        try server.controlAction("start")
        try poll("the complete state handed over") {
            guard let last = calls.last else { return false }
            return last.policiesSynced && last.workloadsSynced
        }
        XCTAssertEqual(Array(calls.last!.policies.documents.keys), ["ciliumnetworkpolicies/default/a"])
        XCTAssertNotNil(calls.last!.workloads.namespaces["default"])
        status = source.status()
        XCTAssertTrue(status.synced)
        XCTAssertEqual(status.resources.map(\.lists), [1, 1, 1, 1, 1])
        XCTAssertNotNil(status.resources.last?.resourceVersion)
    }

    /// With a periodic interval (`--endpoints-from=kubernetes` re-reads the node's addresses) the
    /// reconcile runs again without any event or retry.
    func testAPeriodicReconcileRunsWithoutEvents() throws {
        let server = try FakeAPIServer(["--load", FakeAPIServer.root + "/deploy/cilium-crds/policies.yaml"])
        defer { server.close() }
        let calls = Calls()
        let config = try KubeConfig.load(path: server.dir + "/kubeconfig")
        let source = try KubeSource(
            source: .kubeconfig(server.dir + "/kubeconfig"), config: config,
            backoff: Backoff(initial: 0.05, maximum: 0.2)
        ) { snapshot in
            calls.add(snapshot)
            return true
        }
        source.periodicInterval = 0.05
        source.start()
        defer { source.stop() }
        try poll("the complete state handed over") {
            calls.last.map { $0.policiesSynced && $0.workloadsSynced } ?? false
        }
        let synced = calls.count
        try poll("three more reconciles, no event") { calls.count >= synced + 3 }
    }
}
