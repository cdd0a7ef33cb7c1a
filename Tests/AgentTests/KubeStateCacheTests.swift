import Policy
import SluiceIO
import XCTest

@testable import Agent

/// The cache of the API's last state: it round-trips, a file that cannot be read is reported and
/// not used, and cached labels go only to the same endpoints.
final class KubeStateCacheTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws { directory = try NodePolicyTests.temporaryDirectory() }
    override func tearDown() { NodePolicyTests.removeTree(directory) }

    private let web = EndpointDescriptor(
        id: 3, namespace: "a", podName: "web", podLabels: ["app": "web"], namespaceLabels: ["team": "a"],
        ipv4: 0x0301_000A, serviceAccount: "sa", namedPorts: ["http": 80])

    func testRoundTripAndNoFile() throws {
        XCTAssertNil(KubeStateCache.load(stateDirectory: directory).cache)
        XCTAssertNil(KubeStateCache.load(stateDirectory: directory).error)
        let cache = KubeStateCache(
            policies: ["ciliumnetworkpolicies/a/x": .mapping([(.scalar("kind"), .scalar("CiliumNetworkPolicy"))])],
            local: [web], remote: [web])
        try cache.save(stateDirectory: directory)
        XCTAssertEqual(KubeStateCache.load(stateDirectory: directory).cache, cache)
        XCTAssertEqual(cache.remote[0], web)
    }

    func testAnUnreadableFileIsReportedAndNotUsed() throws {
        try Files.writeAtomically(KubeStateCache.path(stateDirectory: directory), Array("{".utf8))
        let (cache, error) = KubeStateCache.load(stateDirectory: directory)
        XCTAssertNil(cache)
        XCTAssertTrue(error?.contains("kubernetes.json cannot be read") ?? false, error ?? "")
    }

    func testCachedLabelsGoOnlyToTheSameEndpoints() {
        var fileWeb = web
        fileWeb.podLabels = [:]
        fileWeb.namespaceLabels = [:]
        var moved = fileWeb
        moved.ipv4 = 0x0401_000A
        let cache = KubeStateCache(policies: [:], local: [web], remote: [])
        XCTAssertEqual(cache.localEndpoints([fileWeb]), [web])
        XCTAssertEqual(cache.localEndpoints([moved]), [moved], "another address: the file's labels")
    }
}
