import SluiceJSON
import XCTest

@testable import KubeClient

/// What the informers' transforms keep of API objects: the named members, in document order.
final class JSONValueKeptTests: XCTestCase {
    private func json(_ text: String) throws -> JSONValue { try JSONValue.parse(Array(text.utf8)) }
    private func text(_ value: JSONValue) -> String { String(decoding: value.serialized(), as: UTF8.self) }

    func testKeepsNamedMembersWholeOrTheirNamedChildren() throws {
        let object = try json(
            #"{"kind":"X","metadata":{"name":"a","annotations":{"big":"..."},"namespace":"n"},"spec":{"x":[1]},"status":{}}"#
        )
        XCTAssertEqual(
            text(JSONValue.kept(object, ["metadata": ["namespace", "name"], "spec": []])),
            #"{"metadata":{"name":"a","namespace":"n"},"spec":{"x":[1]}}"#)
        XCTAssertEqual(text(JSONValue.kept(try json("[1]"), ["a": []])), "[1]", "not an object: as is")
        XCTAssertEqual(
            text(JSONValue.kept(try json(#"{"metadata":"odd"}"#), ["metadata": ["name"]])), #"{"metadata":"odd"}"#)
    }

    func testPodPolicyAndNamespaceTransformsKeepWhatTheirReadersRead() throws {
        let pod = try json(
            #"""
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"a","uid":"u","resourceVersion":"7",
             "labels":{"app":"web"},"annotations":{"x":"y"},"managedFields":[{"manager":"kubectl"}]},
             "spec":{"nodeName":"n2","serviceAccountName":"sa","hostNetwork":false,"containers":[{"name":"c","image":"i"}]},
             "status":{"phase":"Running","hostIP":"192.168.5.2","podIP":"10.0.2.5","podIPs":[{"ip":"10.0.2.5"}],
              "conditions":[{"type":"Ready"}]}}
            """#)
        let kept = PodInfo.kept(pod)
        XCTAssertEqual(PodInfo(kept), PodInfo(pod))
        XCTAssertEqual(PodInfo(kept).hostIP, "192.168.5.2", "the node's address (host identity) is kept")
        XCTAssertEqual(KubeStore.key(of: kept), "a/web")
        XCTAssertEqual(kept["metadata"]?["resourceVersion"]?.stringValue, "7")
        XCTAssertNil(kept["spec"]?["containers"])
        XCTAssertNil(kept["status"]?["conditions"])
        XCTAssertNil(kept["metadata"]?["managedFields"])

        // Named ports (`--endpoints-from=kubernetes` reads them): each container keeps its ports only.
        let withPorts = try json(
            #"""
            {"metadata":{"name":"api","namespace":"a"},
             "spec":{"nodeName":"n1","containers":[{"name":"c","image":"i","env":[{"name":"E","value":"v"}],
               "ports":[{"name":"HTTP","containerPort":8080},{"containerPort":9}]},{"name":"side","image":"j"}]},
             "status":{"phase":"Running","podIP":"10.0.1.5"}}
            """#)
        let keptPorts = PodInfo.kept(withPorts)
        XCTAssertEqual(PodInfo(keptPorts), PodInfo(withPorts))
        XCTAssertEqual(PodInfo(keptPorts).namedPorts, ["http": 8080])
        guard case .array(let containers)? = keptPorts["spec"]?["containers"] else {
            return XCTFail("the containers' ports were dropped")
        }
        XCTAssertEqual(containers.count, 1, "a container without ports is not kept")
        XCTAssertNil(containers.first?["env"])
        XCTAssertNil(containers.first?["image"])

        let cnp = try json(
            #"""
            {"apiVersion":"cilium.io/v2","kind":"CiliumNetworkPolicy",
             "metadata":{"name":"p","namespace":"a","uid":"u","resourceVersion":"9","generation":2,
              "annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{...the whole object again...}"}},
             "spec":{"endpointSelector":{}},"status":{"conditions":[]}}
            """#)
        let keptCNP = PolicyObjects.kept(cnp)
        XCTAssertEqual(PolicyObjects.document(keptCNP), PolicyObjects.document(cnp))
        XCTAssertEqual(PolicyEvent.ObjectReference(keptCNP), PolicyEvent.ObjectReference(cnp))
        XCTAssertNil(keptCNP["metadata"]?["annotations"])
        XCTAssertNil(keptCNP["status"])

        let namespace = try json(
            #"{"metadata":{"name":"a","labels":{"team":"a"},"resourceVersion":"3","uid":"u"},"spec":{"finalizers":["kubernetes"]}}"#
        )
        let keptNamespace = KubeWorkloads.keptNamespace(namespace)
        XCTAssertEqual(KubeWorkloads.labels(keptNamespace), ["team": "a"])
        XCTAssertEqual(text(keptNamespace), #"{"metadata":{"name":"a","labels":{"team":"a"},"resourceVersion":"3"}}"#)
    }
}
