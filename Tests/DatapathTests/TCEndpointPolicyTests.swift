import CSluiceShared
import Policy
import PolicyYAML
import XCTest

@testable import Datapath

/// The L3/L4 policy of bpf/tc_endpoint.c (bpf/lib/policy.h) run with BPF_PROG_RUN: a compiled
/// snapshot written by `syncL3L4`, then packets between two pods.
final class TCEndpointPolicyTests: XCTestCase {
    static let shot: UInt32 = 2  // TC_ACT_SHOT
    static let ok: UInt32 = 0  // TC_ACT_OK

    /// Pods A (namespace frontend) and B (namespace backend) at Fixture.podA/podB, the policy
    /// `yaml` compiled for them and installed.
    private func withPolicy(_ yaml: String, _ body: (TestDatapath) throws -> Void) throws {
        let t = try TestDatapath()
        defer { t.close() }
        let endpoints = [
            EndpointDescriptor(
                id: 1, namespace: "frontend", podName: "a", podLabels: ["app": "a"],
                namespaceLabels: ["kubernetes.io/metadata.name": "frontend"], ipv4: Fixture.podA),
            EndpointDescriptor(
                id: 2, namespace: "backend", podName: "b", podLabels: ["app": "b"],
                namespaceLabels: ["kubernetes.io/metadata.name": "backend"], ipv4: Fixture.podB),
        ]
        let repository = PolicyRepository()
        try repository.apply(yamlText: yaml, fileName: "test.yaml")
        var allocator = IdentityAllocator()
        let snapshot = repository.compile(endpoints: endpoints, allocator: &allocator)
        for endpoint in endpoints {
            try t.datapath.setEndpoint(
                ipv4: endpoint.ipv4,
                info: sluice_endpoint_info(
                    id: endpoint.id, identity: snapshot.identity(ofIPv4: endpoint.ipv4), ifindex: 0, flags: 0))
        }
        try t.datapath.syncL3L4(snapshot, hostIPv4: [])
        let installed = try t.datapath.policyMapContents()
        XCTAssertEqual(installed.count, snapshot.policyMap.count)
        try body(t)
    }

    private let denyIngressB = """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: deny, namespace: backend}
        spec:
          podSelector: {}
          ingress:
          - from:
            - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: frontend}}
            ports: [{port: 80}]
        """

    func testDefaultDenyDropsAndAllowPasses() throws {
        try withPolicy(denyIngressB) { t in
            let denied = try t.runTC(
                Fixture.packet(
                    src: Fixture.podA, dst: Fixture.podB, sport: 40000, dport: 6379,
                    proto: Fixture.tcp))
            XCTAssertEqual(denied.verdict, Self.shot)
            let allowed = try t.runTC(
                Fixture.packet(
                    src: Fixture.podA, dst: Fixture.podB, sport: 40001, dport: 80,
                    proto: Fixture.tcp))
            XCTAssertEqual(allowed.verdict, Self.ok)
            let udp = try t.runTC(
                Fixture.packet(
                    src: Fixture.podA, dst: Fixture.podB, sport: 40002, dport: 80,
                    proto: Fixture.udp))
            XCTAssertEqual(udp.verdict, Self.shot)
        }
    }

    func testRepliesOfTrackedConnectionsPass() throws {
        // B's egress is not selected but A's ingress is default deny: B's reply on A's ephemeral
        // port passes only because A's connection is tracked.
        try withPolicy(
            """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: deny-a, namespace: frontend}
            spec:
              podSelector: {}
              policyTypes: [Ingress]
            """
        ) { t in
            let reply = Fixture.packet(
                src: Fixture.podB, dst: Fixture.podA, sport: 80, dport: 40000, proto: Fixture.tcp,
                tcpFlags: UInt8(SLUICE_TCP_SYN | SLUICE_TCP_ACK))
            let before = try t.runTC(reply)
            XCTAssertEqual(before.verdict, Self.shot)
            let request = Fixture.packet(
                src: Fixture.podA, dst: Fixture.podB, sport: 40000, dport: 80, proto: Fixture.tcp)
            let forward = try t.runTC(request)
            XCTAssertEqual(forward.verdict, Self.ok)
            let after = try t.runTC(reply)
            XCTAssertEqual(after.verdict, Self.ok)
        }
    }

    func testExplicitDenyBeatsAllow() throws {
        try withPolicy(
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: deny, namespace: backend}
            spec:
              endpointSelector: {}
              ingress:
              - fromEntities: [all]
              ingressDeny:
              - fromEndpoints:
                - matchLabels: {k8s:io.kubernetes.pod.namespace: frontend}
                toPorts:
                - ports: [{port: "80", protocol: TCP}]
            """
        ) { t in
            let denied = try t.runTC(
                Fixture.packet(
                    src: Fixture.podA, dst: Fixture.podB, sport: 40000, dport: 80,
                    proto: Fixture.tcp))
            XCTAssertEqual(denied.verdict, Self.shot)
            let other = try t.runTC(
                Fixture.packet(
                    src: Fixture.podA, dst: Fixture.podB, sport: 40000, dport: 81,
                    proto: Fixture.tcp))
            XCTAssertEqual(other.verdict, Self.ok)
        }
    }
}
