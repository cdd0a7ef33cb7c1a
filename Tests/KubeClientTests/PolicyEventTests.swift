import Policy
import SluiceJSON
import XCTest

@testable import KubeClient

/// The Event body of a rejected policy, built from a real rejection (the policy parser's error
/// for a CNP object as the API serves it), against a JSON fixture; names, namespaces, the
/// message cut and the timestamps.
final class PolicyEventTests: XCTestCase {
    private let brokenCNP = #"""
        {"apiVersion":"cilium.io/v2","kind":"CiliumNetworkPolicy",
         "metadata":{"name":"broken-regex","namespace":"shop","uid":"6f1c2d9e-0000-4000-8000-000000000001",
                     "resourceVersion":"1234","generation":1,"creationTimestamp":"2026-12-05T04:00:00Z"},
         "spec":{"endpointSelector":{"matchLabels":{"app":"backend"}},
                 "ingress":[{"toPorts":[{"ports":[{"port":"6379","protocol":"TCP"}],
                                         "rules":{"http":[{"method":"GET","path":"/(unclosed"}]}}]}]}}
        """#

    /// The rejection of `json` by the policy parser, as the watcher meets it.
    private func rejection(_ json: String) throws -> (PolicyEvent.ObjectReference, String) {
        let object = try JSONValue.parse(Array(json.utf8))
        do {
            _ = try PolicyFileParser.parse(
                documents: [PolicyObjects.document(object)], fileName: PolicyObjects.sourceName(object))
        } catch {
            return (PolicyEvent.ObjectReference(object), PolicyEvent.message(of: error))
        }
        XCTFail("the policy parser accepted \(json)")
        throw KubeError("the object is valid")
    }

    func testEventOfARejectedCNPMatchesTheFixture() throws {
        let (object, message) = try rejection(brokenCNP)
        XCTAssertTrue(message.hasPrefix("spec.ingress[0].toPorts[0].rules.http[0].path: "), message)
        XCTAssertFalse(message.contains("k8s:"), "no file name in the event: \(message)")
        let event = PolicyEvent.event(about: object, message: message, node: "n1", time: "2026-12-05T04:30:00Z")
        let name = PolicyEvent.name(of: object, message: message, node: "n1")
        let fixture = #"""
            {"apiVersion":"v1","count":1,"firstTimestamp":"2026-12-05T04:30:00Z",
             "involvedObject":{"apiVersion":"cilium.io/v2","kind":"CiliumNetworkPolicy","name":"broken-regex",
                               "namespace":"shop","resourceVersion":"1234","uid":"6f1c2d9e-0000-4000-8000-000000000001"},
             "kind":"Event","lastTimestamp":"2026-12-05T04:30:00Z","message":"MESSAGE",
             "metadata":{"name":"NAME","namespace":"shop"},"reason":"PolicyInvalid",
             "reportingComponent":"sluice-agent","reportingInstance":"n1",
             "source":{"component":"sluice-agent","host":"n1"},"type":"Warning"}
            """#
            .replacingOccurrences(
                of: #""MESSAGE""#, with: String(decoding: JSONValue.string(message).serialized(), as: UTF8.self)
            )
            .replacingOccurrences(of: "NAME", with: name)
        let expected = try JSONValue.parse(Array(fixture.utf8))
        XCTAssertEqual(
            String(decoding: event.serialized(sortedKeys: true), as: UTF8.self),
            String(decoding: expected.serialized(sortedKeys: true), as: UTF8.self))
        XCTAssertEqual(PolicyEvent.path(of: object), "/api/v1/namespaces/shop/events")
    }

    func testNameIsOnePerNodeObjectVersionAndMessage() throws {
        let (object, message) = try rejection(brokenCNP)
        let name = PolicyEvent.name(of: object, message: message, node: "n1")
        XCTAssertTrue(name.hasPrefix("broken-regex."), name)
        XCTAssertEqual(name.count, "broken-regex.".count + 16)
        XCTAssertEqual(name, PolicyEvent.name(of: object, message: message, node: "n1"), "stable across runs")
        var next = object
        next.resourceVersion = "1240"
        XCTAssertNotEqual(name, PolicyEvent.name(of: next, message: message, node: "n1"))
        XCTAssertNotEqual(name, PolicyEvent.name(of: object, message: message, node: "n2"))
        XCTAssertNotEqual(name, PolicyEvent.name(of: object, message: message + "!", node: "n1"))
        var long = object
        long.name = String(repeating: "a", count: 253)
        XCTAssertEqual(PolicyEvent.name(of: long, message: message, node: "n1").count, 253)
        // The digits are the 64-bit FNV-1a of node, kind, namespace, name, uid, resourceVersion
        // and message, each ended by a 0 byte: an agent of another version names it the same.
        let pinned = PolicyEvent.ObjectReference(
            apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", namespace: "shop", name: "web", uid: "uid-1",
            resourceVersion: "42")
        XCTAssertEqual(PolicyEvent.name(of: pinned, message: "bad", node: "n1"), "web.aef1807726d0b990")
    }

    func testClusterWideObjectsReportInDefaultWithoutNamespace() throws {
        let ccnp = #"""
            {"apiVersion":"cilium.io/v2","kind":"CiliumClusterwideNetworkPolicy",
             "metadata":{"name":"dns","uid":"u-2","resourceVersion":"9"},
             "spec":{"endpointSelector":{},"egress":[{"toPorts":[{"ports":[{"port":"53","protocol":"ANY"}],
                                                             "rules":{"http":[{"path":"/"}]}}]}]}}
            """#
        let (object, message) = try rejection(ccnp)
        XCTAssertEqual(object.namespace, "")
        let event = PolicyEvent.event(about: object, message: message, node: "n2", time: "t")
        XCTAssertEqual(event["metadata"]?["namespace"]?.stringValue, "default")
        XCTAssertNil(event["involvedObject"]?["namespace"], "a cluster-scoped object's reference has no namespace")
        XCTAssertEqual(PolicyEvent.path(of: object), "/api/v1/namespaces/default/events")
    }

    func testRepeatPatchMessageCutAndTimestamp() {
        XCTAssertEqual(
            String(
                decoding: PolicyEvent.repeatPatch(count: 3, time: "2026-12-05T04:31:00Z").serialized(), as: UTF8.self),
            #"{"count":3,"lastTimestamp":"2026-12-05T04:31:00Z"}"#)
        let long = String(repeating: "é", count: 600)
        let cut = PolicyEvent.truncated(long)
        XCTAssertLessThanOrEqual(cut.utf8.count, PolicyEvent.messageLimit)
        XCTAssertTrue(cut.hasSuffix("..."))
        XCTAssertEqual(PolicyEvent.truncated("short"), "short")
        XCTAssertEqual(PolicyEvent.timestamp(unixSeconds: 0), "1970-01-01T00:00:00Z")
        XCTAssertEqual(PolicyEvent.timestamp(unixSeconds: 1_796_445_000), "2026-12-05T04:30:00Z")
        XCTAssertEqual(PolicyEvent.message(of: KubeError("plain")), "plain")
    }
}
