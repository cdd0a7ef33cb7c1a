import PolicyYAML
import XCTest

@testable import Policy

/// FQDNSelectorSet: the toFQDNs selectors the DNS proxy checks answers against.
final class FQDNSelectorSetTests: XCTestCase {
    private func set(_ patterns: [String]) throws -> FQDNSelectorSet {
        FQDNSelectorSet(patterns: try patterns.map { try XCTUnwrap(FQDNPattern(matchPattern: $0)) })
    }

    func testDuplicatesAreDroppedInOrder() throws {
        let selectors = try set(["*.example.com", "api.test", "*.example.com"])
        XCTAssertEqual(
            selectors.patterns.map(\.description), try set(["*.example.com", "api.test"]).patterns.map(\.description))
        let merged = FQDNSelectorSet(merging: [try set(["a.test"]), try set(["b.test", "a.test"])])
        XCTAssertEqual(merged.patterns.count, 2)
        XCTAssertTrue(FQDNSelectorSet.empty.isEmpty)
        XCTAssertFalse(merged.isEmpty)
    }

    func testMatchesByTextAndBytes() throws {
        let selectors = try set(["*.example.com", "api.test"])
        XCTAssertTrue(selectors.matches("www.example.com."))
        XCTAssertTrue(selectors.matches("api.test."))
        XCTAssertFalse(selectors.matches("example.org."))
        XCTAssertTrue(Array("www.example.com.".utf8).withUnsafeBytes { selectors.matches($0) })
        XCTAssertFalse(Array("www.example.org.".utf8).withUnsafeBytes { selectors.matches($0) })
        XCTAssertFalse(FQDNSelectorSet.empty.matches("api.test."))
    }

    func testParseCollectsEachDocumentsEgressFQDNs() throws {
        let yaml = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: one, namespace: backend}
            spec:
              endpointSelector: {}
              egress:
              - toFQDNs: [{matchName: api.test}, {matchPattern: "*.example.com"}]
            ---
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: two, namespace: backend}
            spec:
              endpointSelector: {}
              ingress: [{}]
            """
        let sets = try FQDNSelectorSet.parse(
            documents: PolicyYAML.documents(yaml, fileName: "f.yaml"), fileName: "f.yaml")
        let one = try XCTUnwrap(sets[PolicyKey(kind: .ciliumNetworkPolicy, namespace: "backend", name: "one")])
        XCTAssertTrue(one.matches("api.test."))
        XCTAssertTrue(one.matches("x.example.com."))
        XCTAssertFalse(one.matches("api.test.org."))
        XCTAssertEqual(sets[PolicyKey(kind: .ciliumNetworkPolicy, namespace: "backend", name: "two")]?.isEmpty, true)
        XCTAssertEqual(sets.count, 2)
        // from the documents a change already parsed: the same sets
        let change = try PolicyRepository().prepareApply(
            documents: PolicyYAML.documents(yaml, fileName: "f.yaml"), fileName: "f.yaml")
        let fromChange = FQDNSelectorSet.selectors(of: change.upserts)
        XCTAssertEqual(fromChange.keys.sorted(), sets.keys.sorted())
        for (key, set) in sets {
            for name in ["api.test.", "x.example.com.", "api.test.org."] {
                XCTAssertEqual(fromChange[key]?.matches(name), set.matches(name), "\(key) \(name)")
            }
            XCTAssertEqual(fromChange[key]?.isEmpty, set.isEmpty, "\(key)")
        }
    }
}
