import XCTest

@testable import Flows

/// The per-field matchers of one filter clause (FlowFilter+Clause): node globs, pod prefixes and
/// namespace/name parsing as hubble's filters do them.
final class FlowFilterClauseTests: XCTestCase {
    private typealias Clause = FlowFilter.Clause

    func testNodeGlob() {
        XCTAssertTrue(Clause.node("kind-worker", matches: "kind-worker"))
        XCTAssertTrue(Clause.node("kind-*", matches: "kind-worker2"))
        XCTAssertTrue(
            Clause.node("kind-worker", matches: "default/kind-worker"), "no cluster in the pattern: node part only")
        XCTAssertTrue(Clause.node("kind-*", matches: "default/kind-worker-3"))
        XCTAssertTrue(Clause.node("default/kind-*", matches: "default/kind-worker"))
        XCTAssertFalse(Clause.node("other/kind-*", matches: "default/kind-worker"))
        XCTAssertFalse(Clause.node("kind-*", matches: "node-1"))
        XCTAssertFalse(Clause.node("kind", matches: "kind-worker"), "the whole name must match")
        XCTAssertTrue(Clause.node("*", matches: ""))
        XCTAssertTrue(Clause.node("a**b", matches: "ab"))
    }

    func testNamespacedNames() {
        XCTAssertTrue(Clause.parseNamespacedName("kube-system/coredns") == ("kube-system", "coredns"))
        XCTAssertTrue(Clause.parseNamespacedName("web") == ("default", "web"))
        XCTAssertTrue(Clause.parseNamespacedName("prod/") == ("prod", ""))
        XCTAssertTrue(Clause.parseNamespacedName("") == ("", ""))
        XCTAssertTrue(Clause.parseNamespacedName("a/b/c") == ("a", "b/c"))
    }

    func testPodPrefixInItsNamespace() {
        let web = FlowEndpoint(id: 1, identity: 300, namespace: "prod", podName: "web-5d8f")
        XCTAssertTrue(Clause.pod("prod/web", matches: web))
        XCTAssertTrue(Clause.pod("prod/", matches: web))
        XCTAssertFalse(Clause.pod("web", matches: web), "no namespace means default")
        XCTAssertFalse(Clause.pod("prod/api", matches: web))
        XCTAssertFalse(Clause.pod("prod/web", matches: nil))
        XCTAssertFalse(
            Clause.pod("/", matches: FlowEndpoint()), "an endpoint without namespace and pod matches nothing")
        XCTAssertTrue(Clause.pod("default/c", matches: FlowEndpoint(namespace: "default", podName: "client")))
    }
}
