import SluiceJSON
import XCTest

@testable import KubeClient

/// The pure rules of cluster-wide identities: canonical keys, the hash label, probing inside
/// Cilium's cluster-local range, the object written and read back, and the garbage rule.
final class ClusterIdentitiesModelTests: XCTestCase {
    typealias Model = ClusterIdentitiesModel

    func testCanonicalKeyIgnoresOrderAndDuplicatesAndMatchesLabelPrinting() {
        XCTAssertEqual(
            Model.canonicalKey(["k8s:b=2", "k8s:a=1", "k8s:b=2"]), "k8s:a=1;k8s:b=2")
        XCTAssertEqual(
            Model.normalized(["reserved:world", "k8s:empty=", "k8s:novalue"]),
            ["k8s:empty=", "k8s:novalue=", "reserved:world"])
        XCTAssertEqual(Model.canonicalKey([]), "")
    }

    func testProbesStayInTheClusterLocalRangeAndWalkOn() {
        for i in 0..<2000 {
            let key = "k8s:app=a\(i)"
            let first = Model.probe(key, attempt: 0)
            XCTAssertTrue(Model.range.contains(first))
            let next = Model.probe(key, attempt: 1)
            XCTAssertEqual(next, first == 65535 ? 256 : first + 1)
            XCTAssertEqual(Model.probe(key, attempt: Model.range.count), first, "the walk wraps")
        }
        XCTAssertEqual(Model.probe("x", attempt: 0), Model.probe("x", attempt: 0), "deterministic")
        XCTAssertEqual(Model.labelsHash("k8s:app=web").count, 16)
        // 64-bit FNV-1a: nodes of every version agree on it (it selects one label set's objects).
        XCTAssertEqual(Model.labelsHash("k8s:app=web"), "0c3237d6541cb081")
        XCTAssertNotEqual(Model.labelsHash("k8s:app=web"), Model.labelsHash("k8s:app=db"))
    }

    func testObjectRoundTrips() throws {
        let labels = ["k8s:io.kubernetes.pod.namespace=team-a", "k8s:app=web", "reserved:init"]
        let object = Model.object(number: 4242, labels: labels, node: "n1", nowMillis: 1_700_000_000_123)
        let text = String(decoding: object.serialized(sortedKeys: true), as: UTF8.self)
        XCTAssertTrue(text.contains(#""name":"4242""#), text)
        XCTAssertTrue(text.contains(#""io.kubernetes.pod.namespace":"team-a""#), text)
        XCTAssertTrue(text.contains(#""node.sluice.io/n1":"1700000000123""#), text)
        XCTAssertTrue(text.contains(#""k8s:app":"web""#), text)
        XCTAssertTrue(text.contains(#""sluice.io/labels-hash":""#), text)
        let entry = try XCTUnwrap(Model.entry(try JSONValue.parse(object.serialized())))
        XCTAssertEqual(entry.number, 4242)
        XCTAssertEqual(entry.labels, Model.normalized(labels))
        XCTAssertEqual(entry.key, Model.canonicalKey(labels))
        XCTAssertEqual(entry.holders, ["n1": 1_700_000_000_123])
        let patch = String(decoding: Model.stampPatch(node: "n2", nowMillis: 5).serialized(), as: UTF8.self)
        XCTAssertEqual(patch, #"{"metadata":{"annotations":{"node.sluice.io/n2":"5"}}}"#)
        let options = String(decoding: Model.deleteOptions(resourceVersion: "17").serialized(), as: UTF8.self)
        XCTAssertEqual(options, #"{"apiVersion":"v1","kind":"DeleteOptions","preconditions":{"resourceVersion":"17"}}"#)
    }

    func testMalformedObjectsAreSkipped() throws {
        for text in [
            #"{"metadata":{"name":"12"},"security-labels":{}}"#,  // reserved range
            #"{"metadata":{"name":"70000"},"security-labels":{}}"#,  // above the range
            #"{"metadata":{"name":"0300"},"security-labels":{}}"#,  // not canonical decimal
            #"{"metadata":{"name":"web"},"security-labels":{}}"#,
            #"{"metadata":{"name":"300"}}"#,
            #"{"metadata":{"name":"300"},"security-labels":{"k8s:a":1}}"#,
            #"[]"#,
        ] {
            XCTAssertNil(Model.entry(try JSONValue.parse(Array(text.utf8))), text)
        }
        let odd =
            #"{"metadata":{"name":"300","annotations":{"node.sluice.io/n1":"soon","other":"1"}},"security-labels":{}}"#
        let entry = try XCTUnwrap(Model.entry(try JSONValue.parse(Array(odd.utf8))))
        XCTAssertEqual(entry.holders, [:], "an unreadable stamp is no stamp")
        XCTAssertEqual(entry.labels, [])
    }

    func testGarbageRule() {
        var entry = Model.Entry(
            number: 300, key: "", labels: [], holders: ["n1": 10_000, "n2": 4_000], resourceVersion: "1", uid: nil)
        XCTAssertFalse(Model.isGarbage(entry, firstSeenMillis: 0, nowMillis: 12_000, graceMillis: 5_000), "n1 fresh")
        XCTAssertTrue(Model.isGarbage(entry, firstSeenMillis: 0, nowMillis: 15_000, graceMillis: 5_000))
        entry.holders = [:]
        XCTAssertFalse(Model.isGarbage(entry, firstSeenMillis: 11_000, nowMillis: 15_000, graceMillis: 5_000))
        XCTAssertTrue(Model.isGarbage(entry, firstSeenMillis: 10_000, nowMillis: 15_000, graceMillis: 5_000))
    }
}
