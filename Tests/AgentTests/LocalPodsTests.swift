import KubeClient
import SluiceJSON
import SluiceModel
import XCTest

@testable import Agent

/// This node's pods from the API (`LocalPod.select`) and the diff against the endpoints made so
/// far (`LocalEndpointTable.reconcile`): new pods looked up by route, retried with a doubling
/// delay while the route is missing, removed when deleted, moved, finished or readdressed; a
/// relist of the same pods changes nothing.
final class LocalPodsTests: XCTestCase {
    private func ip(_ text: String) -> UInt32 { IPv4Address(text)!.networkOrder }

    private func workloads(_ pods: [PodInfo]) -> KubeWorkloads.State {
        KubeWorkloads.State(
            namespaces: ["shop": ["team": "shop"]],
            pods: Dictionary(uniqueKeysWithValues: pods.map { ($0.namespace + "/" + $0.name, $0) }))
    }

    func testOnlyThisNodesRunningOrPendingPodsWithAnAddressOfTheirOwn() {
        let state = workloads([
            PodInfo(namespace: "shop", name: "web", nodeName: "n1", ipv4: ["10.244.1.11"], labels: ["app": "web"]),
            PodInfo(namespace: "shop", name: "starting", nodeName: "n1", ipv4: ["10.244.1.12"], phase: "Pending"),
            PodInfo(namespace: "shop", name: "other-node", nodeName: "n2", ipv4: ["10.244.2.10"]),
            PodInfo(namespace: "shop", name: "host", nodeName: "n1", ipv4: ["10.244.0.1"], hostNetwork: true),
            PodInfo(namespace: "shop", name: "done", nodeName: "n1", ipv4: ["10.244.1.13"], phase: "Succeeded"),
            PodInfo(namespace: "shop", name: "failed", nodeName: "n1", ipv4: ["10.244.1.14"], phase: "Failed"),
            PodInfo(namespace: "shop", name: "no-ip", nodeName: "n1", ipv4: [], phase: "Pending"),
            PodInfo(namespace: "shop", name: "bad-ip", nodeName: "n1", ipv4: ["10.244.1"]),
            PodInfo(namespace: "shop", name: "unknown-phase", nodeName: "n1", ipv4: ["10.244.1.15"], phase: ""),
            // A stale pod with the address of another: the first by key keeps it.
            PodInfo(namespace: "shop", name: "zz-stale", nodeName: "n1", ipv4: ["10.244.1.11"]),
        ])
        let pods = LocalPod.select(state, nodeName: "n1")
        XCTAssertEqual(pods.map(\.key), ["shop/starting", "shop/web"])
        XCTAssertEqual(pods[1].ipv4, ip("10.244.1.11"))
        XCTAssertEqual(pods[1].labels, ["app": "web"])
        XCTAssertEqual(pods[1].serviceAccount, "default")
    }

    func testAPodObjectsContainerPortsAreItsNamedPorts() throws {
        let object = try JSONValue.parse(
            Array(
                """
                {"metadata": {"name": "web", "namespace": "shop"},
                 "spec": {"nodeName": "n1", "containers": [
                   {"name": "a", "ports": [{"name": "HTTP", "containerPort": 8080}, {"containerPort": 9}]},
                   {"name": "b", "ports": [{"name": "metrics", "containerPort": 9090, "protocol": "TCP"},
                                           {"name": "bad", "containerPort": 70000}]}]},
                 "status": {"phase": "Running", "podIPs": [{"ip": "10.244.1.11"}]}}
                """.utf8))
        let pod = PodInfo(object)
        XCTAssertEqual(pod.namedPorts, ["http": 8080, "metrics": 9090])
        let local = LocalPod.select(workloads([pod]), nodeName: "n1")
        XCTAssertEqual(local.first?.namedPorts, ["http": 8080, "metrics": 9090])
    }

    private func pod(_ name: String, _ address: String, labels: [String: String] = [:]) -> LocalPod {
        LocalPod(
            namespace: "shop", name: name, ipv4: ip(address), labels: labels, serviceAccount: "default", namedPorts: [:]
        )
    }

    func testNewPodsAreLookedUpAndGoneOnesRemovedAndARelistChangesNothing() {
        var table = LocalEndpointTable()
        var routes: [UInt32: Int32] = [ip("10.244.1.11"): 7, ip("10.244.1.12"): 8]
        var asked: [UInt32] = []
        let lookup: (UInt32) -> PodRoute.Answer = { address in
            asked.append(address)
            return routes[address].map { .podRoute(ifindex: $0) } ?? .notPodRoute("no route")
        }
        let web = pod("web", "10.244.1.11", labels: ["app": "web"])
        let api = pod("api", "10.244.1.12")
        var changes = table.reconcile(desired: [api, web], nowNs: 0, lookup: lookup)
        XCTAssertEqual(changes.added.map(\.pod.key), ["shop/api", "shop/web"])
        XCTAssertEqual(changes.added.map(\.id), [1, 2])
        XCTAssertEqual(changes.added.map(\.ifindex), [8, 7])
        XCTAssertTrue(changes.removed.isEmpty)
        XCTAssertEqual(table.descriptors.map(\.podName), ["api", "web"])
        XCTAssertEqual(table.descriptors[1].podLabels, ["app": "web"])

        // A relist hands over the same pods: no lookup, no change.
        asked = []
        changes = table.reconcile(desired: [api, web], nowNs: 1, lookup: lookup)
        XCTAssertTrue(changes.isEmpty)
        XCTAssertEqual(asked, [])

        // New labels: the same endpoint, relabelled.
        var relabelled = web
        relabelled.labels = ["app": "web", "tier": "front"]
        changes = table.reconcile(desired: [api, relabelled], nowNs: 2, lookup: lookup)
        XCTAssertEqual(changes, LocalEndpointTable.Changes(removed: [], added: [], relabelled: true))
        XCTAssertEqual(table.descriptors.map(\.id), [1, 2])
        XCTAssertEqual(table.descriptors[1].podLabels, ["app": "web", "tier": "front"])

        // Deleted (or moved off the node, or finished: no longer selected): removed.
        changes = table.reconcile(desired: [relabelled], nowNs: 3, lookup: lookup)
        XCTAssertEqual(changes.removed.map(\.pod.key), ["shop/api"])
        XCTAssertEqual(changes.removed.first?.ifindex, 8)
        XCTAssertEqual(table.descriptors.map(\.podName), ["web"])

        // A new address: the old endpoint goes, a new one (new ID, its own interface) comes.
        routes[ip("10.244.1.20")] = 9
        let moved = pod("web", "10.244.1.20", labels: ["app": "web", "tier": "front"])
        changes = table.reconcile(desired: [moved], nowNs: 4, lookup: lookup)
        XCTAssertEqual(changes.removed.map(\.id), [2])
        XCTAssertEqual(changes.added.map(\.id), [3])
        XCTAssertEqual(changes.added.map(\.ifindex), [9])
        XCTAssertEqual(table.descriptors.map(\.ipv4), [ip("10.244.1.20")])
    }

    func testAPodWithoutItsRouteYetWaitsWithADoublingDelay() {
        var table = LocalEndpointTable()
        table.initialDelayNs = 100
        table.maximumDelayNs = 350
        var route: Int32?
        var lookups = 0
        let lookup: (UInt32) -> PodRoute.Answer = { _ in
            lookups += 1
            return route.map { .podRoute(ifindex: $0) } ?? .notPodRoute("a route via a gateway, not a pod's")
        }
        let web = pod("web", "10.244.1.11")
        XCTAssertTrue(table.reconcile(desired: [web], nowNs: 1000, lookup: lookup).isEmpty)
        XCTAssertEqual(lookups, 1)
        XCTAssertEqual(table.nextRetryNs, 1100)
        XCTAssertEqual(
            table.waitingLines,
            ["shop/web 10.244.1.11: no host interface yet (a route via a gateway, not a pod's; 1 lookups)"])
        // Not due yet: not asked.
        _ = table.reconcile(desired: [web], nowNs: 1099, lookup: lookup)
        XCTAssertEqual(lookups, 1)
        _ = table.reconcile(desired: [web], nowNs: 1100, lookup: lookup)
        XCTAssertEqual(lookups, 2)
        XCTAssertEqual(table.nextRetryNs, 1300)
        _ = table.reconcile(desired: [web], nowNs: 1300, lookup: lookup)
        XCTAssertEqual(table.nextRetryNs, 1650)  // capped at 350
        // The CNI added the route.
        route = 4
        let changes = table.reconcile(desired: [web], nowNs: 1650, lookup: lookup)
        XCTAssertEqual(changes.added.map(\.ifindex), [4])
        XCTAssertNil(table.nextRetryNs)
        XCTAssertEqual(table.waitingLines, [])
    }

    func testAWaitingPodThatGoesAwayOrChangesAddressStartsOver() {
        var table = LocalEndpointTable()
        let lookup: (UInt32) -> PodRoute.Answer = { _ in .notPodRoute("no route") }
        _ = table.reconcile(desired: [pod("web", "10.244.1.11")], nowNs: 0, lookup: lookup)
        XCTAssertEqual(table.waiting.count, 1)
        // A new address is asked at once.
        var asked: [UInt32] = []
        _ = table.reconcile(desired: [pod("web", "10.244.1.30")], nowNs: 1) {
            asked.append($0); return .notPodRoute("no route")
        }
        XCTAssertEqual(asked, [ip("10.244.1.30")])
        _ = table.reconcile(desired: [], nowNs: 2, lookup: lookup)
        XCTAssertTrue(table.waiting.isEmpty)
        XCTAssertNil(table.nextRetryNs)
    }
}
