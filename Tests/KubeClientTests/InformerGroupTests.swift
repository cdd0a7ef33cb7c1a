import Foundation
import SluiceJSON
import SluiceTestSupport
import XCTest

@testable import KubeClient

/// Two informers folded into one state by `InformerGroup`, against the fake API server:
/// `onChange` never sees the state before both paths are listed, deltas of each path arrive
/// through `apply` with their path, and the transform decides what the stores keep.
final class InformerGroupTests: XCTestCase {
    /// Every state `onChange` was given.
    private final class Seen: @unchecked Sendable {
        private let lock = NSLock()
        private var states: [Set<String>] = []
        func add(_ state: Set<String>) {
            lock.lock()
            states.append(state)
            lock.unlock()
        }
        var all: [Set<String>] {
            lock.lock()
            defer { lock.unlock() }
            return states
        }
    }

    func testOnChangeOnlyOnceEveryPathIsListedThenEveryDelta() throws {
        let server = try FakeAPIServer()
        defer { server.close() }
        let configMaps = "/api/v1/namespaces/default/configmaps"
        XCTAssertEqual(
            try server.request("POST", configMaps, body: #"{"metadata":{"name":"first"},"data":{"a":"1"}}"#), 201)

        let seen = Seen()
        let group = InformerGroup<Set<String>>(
            client: try HTTPSClient(config: try KubeConfig.load(path: server.dir + "/kubeconfig")),
            paths: ["/api/v1/namespaces", "/api/v1/configmaps"], initial: [],
            backoff: Backoff(initial: 0.05, maximum: 0.4), log: { _ in },
            // The config maps' store keeps their names only.
            transform: { path in
                path.hasSuffix("configmaps")
                    ? { object in .object([("metadata", object["metadata"] ?? .null)]) } : nil
            },
            apply: { state, path, delta in
                let kind = path.hasSuffix("configmaps") ? "cm" : "ns"
                switch delta {
                case .upsert(let key, _): state.insert(kind + ":" + key)
                case .delete(let key): state.remove(kind + ":" + key)
                }
            },
            onChange: { seen.add($0) })
        group.start()
        defer { group.stop() }

        try poll("both paths listed") { group.current().isSynced }
        XCTAssertTrue(group.current().state.isSuperset(of: ["ns:default", "cm:default/first"]))
        XCTAssertFalse(seen.all.isEmpty)
        for state in seen.all {
            XCTAssertTrue(
                state.contains("ns:default") && state.contains("cm:default/first"), "a partial state: \(state)")
        }
        XCTAssertNil(group.informers[1].snapshot().objects["default/first"]?["data"], "the transform dropped data")
        XCTAssertNotNil(group.informers[0].snapshot().objects["default"]?["status"], "no transform: whole object")

        XCTAssertEqual(try server.request("POST", configMaps, body: #"{"metadata":{"name":"second"}}"#), 201)
        try poll("the create") { seen.all.last?.contains("cm:default/second") == true }
        XCTAssertEqual(try server.request("DELETE", configMaps + "/first"), 200)
        try poll("the delete") { group.current().state.contains("cm:default/first") == false }
        XCTAssertEqual(seen.all.last?.contains("cm:default/first"), false)
    }
}
