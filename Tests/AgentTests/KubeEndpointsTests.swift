import KubeClient
import Policy
import SluiceModel
import XCTest

@testable import Agent

/// Endpoints from the endpoints file and the API's namespaces and pods: the API's labels for
/// this node's pods, other nodes' pods as remote endpoints, this node's and finished,
/// host-network and address-less pods left out.
final class KubeEndpointsTests: XCTestCase {
    private let local = [
        EndpointDescriptor(
            id: 3, namespace: "team-a", podName: "web", podLabels: ["app": "old"], namespaceLabels: ["old": "x"],
            ipv4: IPv4Address("10.0.1.3")!.networkOrder)
    ]

    func testLocalEndpointsTakeTheAPIsLabelsAndOtherNodesPodsAreRemote() {
        var workloads = KubeWorkloads.State()
        workloads.namespaces = ["team-a": ["team": "a"], "team-b": ["team": "b"]]
        workloads.pods = [
            "team-a/web": PodInfo(
                namespace: "team-a", name: "web", nodeName: "n1", ipv4: ["10.0.1.3"], labels: ["app": "web"],
                serviceAccount: "web-sa"),
            "team-b/client": PodInfo(
                namespace: "team-b", name: "client", nodeName: "n2", ipv4: ["10.0.2.9"], labels: ["app": "client"]),
            "team-b/same-node": PodInfo(namespace: "team-b", name: "same-node", nodeName: "n1", ipv4: ["10.0.1.8"]),
            "team-b/host": PodInfo(
                namespace: "team-b", name: "host", nodeName: "n2", ipv4: ["192.168.0.2"], hostNetwork: true),
            "team-b/done": PodInfo(
                namespace: "team-b", name: "done", nodeName: "n2", ipv4: ["10.0.2.4"], phase: "Succeeded"),
            "team-b/pending": PodInfo(namespace: "team-b", name: "pending", nodeName: "", ipv4: []),
        ]
        let (resolved, remote) = KubeEndpoints.resolve(local: local, workloads: workloads, nodeName: "n1")
        XCTAssertEqual(resolved.count, 1)
        XCTAssertEqual(resolved[0].podLabels, ["app": "web"])
        XCTAssertEqual(resolved[0].namespaceLabels, ["team": "a"])
        XCTAssertEqual(resolved[0].serviceAccount, "web-sa")
        XCTAssertEqual(remote.map(\.podName), ["client"])
        XCTAssertEqual(remote[0].ipv4, IPv4Address("10.0.2.9")!.networkOrder)
        XCTAssertEqual(remote[0].namespaceLabels, ["team": "b"])
        XCTAssertEqual(remote[0].podLabels, ["app": "client"])
    }

    func testWithoutTheAPIsObjectsTheFileWinsAndAnAddressIsNeverTwice() {
        var workloads = KubeWorkloads.State()
        workloads.pods = [
            "x/a": PodInfo(namespace: "x", name: "a", nodeName: "n2", ipv4: ["10.0.2.1"]),
            "x/b": PodInfo(namespace: "x", name: "b", nodeName: "n3", ipv4: ["10.0.2.1"]),
            // another node's pod claiming a local endpoint's address: the local endpoint wins
            "x/c": PodInfo(namespace: "x", name: "c", nodeName: "n2", ipv4: ["10.0.1.3"]),
        ]
        let (resolved, remote) = KubeEndpoints.resolve(local: local, workloads: workloads, nodeName: "n1")
        XCTAssertEqual(resolved, local)
        XCTAssertEqual(remote.map(\.podName), ["a"])
    }
}
