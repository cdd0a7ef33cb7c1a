import Foundation
import SluiceJSON
import SluiceTestSupport
import XCTest

@testable import KubeClient

/// Namespaces and pods from the fake API server: `PodInfo` read from API objects, the state once
/// both kinds are listed, label changes, deletes, and a forced 410 that loses nothing.
final class KubeWorkloadsTests: XCTestCase {
    func testPodInfoFromAnAPIObject() throws {
        let json = #"""
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"a","labels":{"app":"web","n":"1"}},
             "spec":{"nodeName":"n2","serviceAccountName":"sa","containers":[]},
             "status":{"phase":"Running","hostIP":"192.168.5.2","podIP":"10.0.2.5",
              "podIPs":[{"ip":"10.0.2.5"},{"ip":"fd00::5"}]}}
            """#
        let pod = PodInfo(try JSONValue.parse(Array(json.utf8)))
        XCTAssertEqual(
            pod,
            PodInfo(
                namespace: "a", name: "web", nodeName: "n2", ipv4: ["10.0.2.5"], labels: ["app": "web", "n": "1"],
                serviceAccount: "sa", hostIP: "192.168.5.2"))
        XCTAssertTrue(pod.hasOwnAddress)
        let bare = PodInfo(try JSONValue.parse(Array(#"{"metadata":{"name":"p"},"status":{"podIP":"10.0.0.1"}}"#.utf8)))
        XCTAssertEqual(bare.ipv4, ["10.0.0.1"])
        XCTAssertEqual(bare.serviceAccount, "default")
        XCTAssertEqual(bare.nodeName, "")
        XCTAssertEqual(bare.hostIP, "")
        let v6Host = PodInfo(try JSONValue.parse(Array(#"{"status":{"hostIP":"fd00::1"}}"#.utf8)))
        XCTAssertEqual(v6Host.hostIP, "", "an IPv6 host address is not kept (IPv4 only)")
        let host = PodInfo(
            try JSONValue.parse(Array(#"{"spec":{"hostNetwork":true},"status":{"podIP":"192.168.1.1"}}"#.utf8)))
        XCTAssertFalse(host.hasOwnAddress)
        XCTAssertFalse(PodInfo(try JSONValue.parse(Array("[1]".utf8))).hasOwnAddress, "not an object: nothing")
    }

    func testNamespacesAndPodsFromTheAPI() throws {
        let server = try FakeAPIServer()
        defer { server.close() }
        XCTAssertEqual(
            try server.request(
                "POST", "/api/v1/namespaces", body: #"{"metadata":{"name":"team-b","labels":{"team":"b"}}}"#), 201)
        let pod =
            #"{"metadata":{"name":"client","namespace":"team-b","labels":{"app":"client"}},"spec":{"nodeName":"n2","containers":[{"name":"c","image":"x"}]}}"#
        XCTAssertEqual(try server.request("POST", "/api/v1/namespaces/team-b/pods", body: pod), 201)
        let status = #"{"status":{"podIP":"10.0.2.9","podIPs":[{"ip":"10.0.2.9"}],"phase":"Running"}}"#
        XCTAssertEqual(
            try server.request(
                "PATCH", "/api/v1/namespaces/team-b/pods/client/status", body: status,
                contentType: "application/merge-patch+json"), 200)

        let changes = Counter()
        let workloads = KubeWorkloads(
            client: try HTTPSClient(config: try KubeConfig.load(path: server.dir + "/kubeconfig")),
            backoff: Backoff(initial: 0.05, maximum: 0.4)
        ) { changes.add() }
        workloads.start()
        defer { workloads.stop() }
        try poll("both kinds listed") { workloads.current().isSynced }
        var state = workloads.current().state
        XCTAssertEqual(state.namespaces["team-b"]?["team"], "b")
        XCTAssertEqual(state.pods["team-b/client"]?.ipv4, ["10.0.2.9"])
        XCTAssertEqual(state.pods["team-b/client"]?.nodeName, "n2")
        XCTAssertGreaterThan(changes.value, 0)

        // A label change of the namespace and of the pod, through the watch.
        XCTAssertEqual(
            try server.request(
                "PATCH", "/api/v1/namespaces/team-b", body: #"{"metadata":{"labels":{"team":"bee"}}}"#,
                contentType: "application/merge-patch+json"), 200)
        XCTAssertEqual(
            try server.request(
                "PATCH", "/api/v1/namespaces/team-b/pods/client", body: #"{"metadata":{"labels":{"app":"probe"}}}"#,
                contentType: "application/merge-patch+json"), 200)
        try poll("the label changes") {
            state = workloads.current().state
            return state.namespaces["team-b"]?["team"] == "bee" && state.pods["team-b/client"]?.labels["app"] == "probe"
        }
        // Every watch ends with 410: the relist keeps the pod throughout.
        let lists = workloads.informers.map { $0.snapshot().lists }
        XCTAssertEqual(lists, [1, 1])
        try server.controlAction("expire")
        try poll("the relists") {
            XCTAssertNotNil(workloads.current().state.pods["team-b/client"])
            return workloads.informers.map { $0.snapshot().lists } == [2, 2]
        }
        XCTAssertEqual(try server.request("DELETE", "/api/v1/namespaces/team-b/pods/client"), 200)
        try poll("the delete") { workloads.current().state.pods["team-b/client"] == nil }
    }
}
