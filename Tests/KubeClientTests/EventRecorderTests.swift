import Foundation
import SluiceJSON
import SluiceTestSupport
import XCTest

@testable import KubeClient

/// The deduplication ledger alone, then the recorder against the fake API server: one event per
/// object version, a new version with the same error bumps the count by PATCH, an agent restart
/// adds nothing for a version already reported, a deleted event is made again, and a report made
/// while the API is away is written once it is back.
final class EventRecorderTests: XCTestCase {
    private func object(_ rv: String, uid: String = "u-1") -> PolicyEvent.ObjectReference {
        PolicyEvent.ObjectReference(
            apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", namespace: "shop", name: "bad", uid: uid,
            resourceVersion: rv)
    }

    func testLedger() {
        var ledger = EventRecorder.Ledger()
        XCTAssertEqual(ledger.next(object("1"), message: "m"), .create)
        ledger.created(object("1"), message: "m", name: "bad.a", count: 1)
        XCTAssertEqual(ledger.next(object("1"), message: "m"), .skip, "the same version again")
        XCTAssertEqual(ledger.next(object("2"), message: "m"), .patch(name: "bad.a", count: 2))
        ledger.patched(object("2"), message: "m", count: 2)
        XCTAssertEqual(ledger.next(object("3"), message: "other"), .create, "another error: another event")
        XCTAssertEqual(ledger.next(object("3", uid: "u-9"), message: "m"), .create, "a recreated object")
        ledger.failed(object("3"), message: "other")
        XCTAssertEqual(ledger.next(object("3"), message: "other"), .create, "a failed report is tried again")
        XCTAssertEqual(ledger.next(object("4"), message: "m"), .patch(name: "bad.a", count: 3))
        ledger.gone(object("4"), message: "m")
        ledger.failed(object("4"), message: "m")
        XCTAssertEqual(ledger.next(object("4"), message: "m"), .create, "the event was deleted: made again")
        ledger.created(object("4"), message: "m", name: "bad.b", count: nil)
        XCTAssertEqual(ledger.next(object("5"), message: "m"), .create, "an event of an earlier run: count unknown")
    }

    private struct Event {
        var name: String
        var count: Int
        var first: String
        var last: String
        var host: String
    }

    private func events(_ server: FakeAPIServer) throws -> [Event] {
        let list = try JSONValue.parse(Array(try server.get("/api/v1/namespaces/shop/events").utf8))
        guard case .array(let items)? = list["items"] else { throw KubeTestError("no items") }
        return items.map {
            Event(
                name: $0["metadata"]?["name"]?.stringValue ?? "", count: Int($0["count"]?.stringValue ?? "") ?? -1,
                first: $0["firstTimestamp"]?.stringValue ?? "", last: $0["lastTimestamp"]?.stringValue ?? "",
                host: $0["source"]?["host"]?.stringValue ?? "")
        }.sorted { $0.name < $1.name }
    }

    private func settle(_ recorder: EventRecorder, written: Int) throws {
        try poll("\(written) events written") { recorder.progress == (written, true) }
    }

    func testEventsInTheAPI() throws {
        let server = try FakeAPIServer()
        defer { server.close() }
        XCTAssertEqual(try server.request("POST", "/api/v1/namespaces", body: #"{"metadata":{"name":"shop"}}"#), 201)
        let config = try KubeConfig.load(path: server.dir + "/kubeconfig")
        final class Clock: @unchecked Sendable { var now = 1_796_445_000 }
        let clock = Clock()
        let recorder = EventRecorder(client: try HTTPSClient(config: config), nodeName: "n1") { clock.now }
        recorder.retryDelay = 0.05
        recorder.start()
        defer { recorder.stop() }

        recorder.report(object("1"), message: "spec.x: bad")
        try settle(recorder, written: 1)
        var seen = try events(server)
        XCTAssertEqual(seen.count, 1)
        XCTAssertEqual(seen[0].name, PolicyEvent.name(of: object("1"), message: "spec.x: bad", node: "n1"))
        XCTAssertEqual(seen[0].count, 1)
        XCTAssertEqual(seen[0].host, "n1")

        // The same version again (a relist): nothing. A new version, same error: count 2.
        recorder.report(object("1"), message: "spec.x: bad")
        clock.now += 60
        recorder.report(object("2"), message: "spec.x: bad")
        try settle(recorder, written: 2)
        seen = try events(server)
        XCTAssertEqual(seen.count, 1)
        XCTAssertEqual(seen[0].count, 2)
        XCTAssertEqual(seen[0].first, "2026-12-05T04:30:00Z")
        XCTAssertEqual(seen[0].last, "2026-12-05T04:31:00Z")

        // Another error of the same object: its own event.
        recorder.report(object("3"), message: "spec.y: worse")
        try settle(recorder, written: 3)
        XCTAssertEqual(try events(server).count, 2)

        // An agent restart re-reporting the first version: 409, no second event.
        let restarted = EventRecorder(client: try HTTPSClient(config: config), nodeName: "n1") { clock.now }
        restarted.start()
        defer { restarted.stop() }
        restarted.report(object("1"), message: "spec.x: bad")
        try settle(restarted, written: 0)
        XCTAssertEqual(try events(server).count, 2)

        // The event was deleted (expired): the next version of the series makes a new one.
        XCTAssertEqual(try server.request("DELETE", "/api/v1/namespaces/shop/events/" + seen[0].name), 200)
        recorder.report(object("4"), message: "spec.x: bad")
        try settle(recorder, written: 4)
        seen = try events(server)
        XCTAssertEqual(seen.count, 2)
        XCTAssertTrue(
            seen.contains { $0.name == PolicyEvent.name(of: object("4"), message: "spec.x: bad", node: "n1") })

        // Reported while the API is away: written once it is back.
        try server.controlAction("stop")
        recorder.report(object("5"), message: "spec.z: away")
        usleep(200_000)
        XCTAssertEqual(recorder.progress.written, 4)
        try server.controlAction("start")
        try settle(recorder, written: 5)
        XCTAssertEqual(try events(server).count, 3)
    }
}
