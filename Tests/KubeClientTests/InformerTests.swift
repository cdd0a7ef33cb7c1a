import Foundation
import SluiceJSON
import SluiceTestSupport
import XCTest

@testable import KubeClient

/// The informer against the fake API server: list, watch of an add/modify/delete made over
/// HTTPS, a forced 410 that relists without any object leaving the store, and the server stopped
/// and started (the store unchanged meanwhile, then the watch resumes).
final class InformerTests: XCTestCase {
    private var server: FakeAPIServer!

    override func setUpWithError() throws { server = try FakeAPIServer() }
    override func tearDown() { server?.close() }

    private let base = "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies"

    private func policy(_ name: String, port: Int = 80) -> String {
        #"{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"\#(name)","namespace":"default"},"#
            + #""spec":{"podSelector":{"matchLabels":{"app":"web"}},"ingress":[{"ports":[{"port":\#(port)}]}]}}"#
    }

    private final class Recorder: @unchecked Sendable {
        let lock = NSLock()
        var deleted: [String] = []
        var synced = 0
        var logs: [String] = []
        func with<T>(_ body: () -> T) -> T {
            lock.lock()
            defer { lock.unlock() }
            return body()
        }
    }

    func testListWatchRelistAndReconnect() throws {
        XCTAssertEqual(try server.request("POST", base, body: policy("p1")), 201)
        let config = try KubeConfig.load(path: server.dir + "/kubeconfig")
        let recorder = Recorder()
        let informer = Informer(
            client: try HTTPSClient(config: config), path: "/apis/networking.k8s.io/v1/networkpolicies",
            log: { line in recorder.with { recorder.logs.append(line) } },
            onUpdate: { update in
                recorder.with {
                    switch update {
                    case .synced(_, let deltas):
                        recorder.synced += 1
                        for case .delete(let key) in deltas { recorder.deleted.append(key) }
                    case .delta(.delete(let key)): recorder.deleted.append(key)
                    case .delta: break
                    }
                }
            })
        informer.pageSize = 1  // every list is paged
        informer.backoff = Backoff(initial: 0.05, maximum: 0.4)
        informer.start()
        defer { informer.stop() }
        func keys() -> Set<String> { Set(informer.snapshot().objects.keys) }
        func port(_ key: String) -> String? {
            informer.snapshot().objects[key]?["spec"]?["ingress"]?.arrayItems?.first?["ports"]?.arrayItems?.first?[
                "port"]?.stringValue
        }

        try poll("the list") { keys() == ["default/p1"] }
        XCTAssertEqual(recorder.with { recorder.synced }, 1)

        // Add, modify, delete through the API: the watch sees each.
        XCTAssertEqual(try server.request("POST", base, body: policy("p2")), 201)
        try poll("p2 added") { keys() == ["default/p1", "default/p2"] }
        let patch = #"{"spec":{"ingress":[{"ports":[{"port":8080}]}]}}"#
        XCTAssertEqual(
            try server.request("PATCH", base + "/p1", body: patch, contentType: "application/merge-patch+json"), 200)
        try poll("p1 modified") { port("default/p1") == "8080" }
        XCTAssertEqual(try server.request("DELETE", base + "/p2"), 200)
        try poll("p2 deleted") { keys() == ["default/p1"] }
        XCTAssertEqual(recorder.with { recorder.deleted }, ["default/p2"])

        // Bookmarks move the resourceVersion while nothing changes.
        let rv = informer.snapshot().resourceVersion
        XCTAssertEqual(try server.request("POST", "/api/v1/namespaces", body: #"{"metadata":{"name":"other"}}"#), 201)
        try poll("a bookmark past the namespace's write") { informer.snapshot().resourceVersion != rv }

        // A forced 410: the informer relists; p1 never leaves the store.
        try server.controlAction("expire")
        try poll("the relist") { informer.snapshot().lists == 2 }
        XCTAssertEqual(keys(), ["default/p1"])
        XCTAssertEqual(recorder.with { recorder.deleted }, ["default/p2"], "nothing deleted by the relist")
        XCTAssertTrue(recorder.with { recorder.logs.contains { $0.contains("410 Gone, relisting") } })
        XCTAssertEqual(try server.request("POST", base, body: policy("p3")), 201)
        try poll("p3 after the relist") { keys() == ["default/p1", "default/p3"] }

        // The server goes away: the store is unchanged while the client fails and backs off.
        let before = informer.snapshot().objects
        let logged = recorder.with { recorder.logs.count }
        try server.controlAction("stop")
        try poll("connection errors") { recorder.with { recorder.logs.count } >= logged + 3 }
        XCTAssertEqual(informer.snapshot().objects, before)
        try server.controlAction("start")
        XCTAssertEqual(try server.request("POST", base, body: policy("p4")), 201)
        XCTAssertEqual(try server.request("DELETE", base + "/p3"), 200)
        try poll("the watch resumed") { keys() == ["default/p1", "default/p4"] }
        XCTAssertEqual(informer.snapshot().lists, 2, "resumed from its resourceVersion, no relist")
        XCTAssertEqual(recorder.with { recorder.deleted }, ["default/p2", "default/p3"])
    }

    /// A path with its own query (a label selector): only matching objects are in the store, and
    /// one that stops matching leaves it (the server sends DELETED).
    func testAPathWithASelector() throws {
        func labelled(_ name: String, _ team: String) -> String {
            #"{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"\#(name)","labels":{"team":"\#(team)"}},"#
                + #""spec":{"podSelector":{}}}"#
        }
        XCTAssertEqual(try server.request("POST", base, body: labelled("a1", "a")), 201)
        XCTAssertEqual(try server.request("POST", base, body: labelled("b1", "b")), 201)
        let config = try KubeConfig.load(path: server.dir + "/kubeconfig")
        let informer = Informer(
            client: try HTTPSClient(config: config),
            path: "/apis/networking.k8s.io/v1/networkpolicies?labelSelector=team%3Da")
        informer.start()
        defer { informer.stop() }
        func keys() -> Set<String> { Set(informer.snapshot().objects.keys) }
        try poll("the selected list") { keys() == ["default/a1"] }
        XCTAssertEqual(try server.request("POST", base, body: labelled("a2", "a")), 201)
        try poll("a2") { keys() == ["default/a1", "default/a2"] }
        let relabel = #"{"metadata":{"labels":{"team":"b"}}}"#
        XCTAssertEqual(
            try server.request("PATCH", base + "/a1", body: relabel, contentType: "application/merge-patch+json"), 200)
        try poll("a1 no longer selected") { keys() == ["default/a2"] }
    }
}

extension JSONValue {
    fileprivate var arrayItems: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }
}
