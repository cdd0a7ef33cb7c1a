import CSluiceShared
import Policy
import PolicyYAML

@testable import Datapath

/// Two pods with a policy installed, for the BPF_PROG_RUN tests: A (namespace frontend, endpoint
/// 1) at Fixture.podA behind veth `ifindexA`, B (namespace backend, endpoint 2) at Fixture.podB
/// behind `ifindexB`; `yaml` compiled for them and written by `syncL3L4`.
struct PolicyHarness {
    let t: TestDatapath
    let snapshot: PolicySnapshot
    let ifindexA: UInt32
    let ifindexB: UInt32

    var identityA: UInt32 { snapshot.identity(ofIPv4: Fixture.podA) }
    var identityB: UInt32 { snapshot.identity(ofIPv4: Fixture.podB) }

    static let endpoints = [
        EndpointDescriptor(
            id: 1, namespace: "frontend", podName: "a", podLabels: ["app": "a"],
            namespaceLabels: ["kubernetes.io/metadata.name": "frontend"], ipv4: Fixture.podA),
        EndpointDescriptor(
            id: 2, namespace: "backend", podName: "b", podLabels: ["app": "b"],
            namespaceLabels: ["kubernetes.io/metadata.name": "backend"], ipv4: Fixture.podB),
    ]

    /// Runs `body` with the harness; the test datapath is unpinned afterwards.
    static func with(
        _ yaml: String, ifindexA: UInt32 = 11, ifindexB: UInt32 = 12,
        _ body: (PolicyHarness) throws -> Void
    ) throws {
        let t = try TestDatapath()
        defer { t.close() }
        let repository = PolicyRepository()
        if !yaml.isEmpty { try repository.apply(yamlText: yaml, fileName: "test.yaml") }
        var allocator = IdentityAllocator()
        let snapshot = repository.compile(endpoints: endpoints, allocator: &allocator)
        for (endpoint, ifindex) in zip(endpoints, [ifindexA, ifindexB]) {
            try t.datapath.setEndpoint(
                ipv4: endpoint.ipv4,
                info: sluice_endpoint_info(
                    id: endpoint.id, identity: snapshot.identity(ofIPv4: endpoint.ipv4), ifindex: ifindex, flags: 0))
        }
        try t.datapath.syncL3L4(snapshot, hostIPv4: [])
        try body(PolicyHarness(t: t, snapshot: snapshot, ifindexA: ifindexA, ifindexB: ifindexB))
    }

    /// Runs the pod-egress program for a packet A sent (on A's veth).
    func fromA(_ packet: [UInt8]) throws -> UInt32 { try t.runFromPod(packet, ingressIfindex: ifindexA) }
    /// Runs the pod-egress program for a packet B sent (on B's veth).
    func fromB(_ packet: [UInt8]) throws -> UInt32 { try t.runFromPod(packet, ingressIfindex: ifindexB) }

    /// Runs `action` and returns its verdict and the single flow it wrote (nil when none).
    func withFlow(_ action: () throws -> UInt32) throws -> (verdict: UInt32, flow: sluice_flow?) {
        let mark = try t.flowMark()
        let verdict = try action()
        let flows = try t.flows(since: mark)
        return (verdict, flows.last)
    }

    /// Default deny in both directions for both namespaces (NetworkPolicy, no peers).
    static let denyAll = """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: deny, namespace: frontend}
        spec:
          podSelector: {}
          policyTypes: [Ingress, Egress]
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: deny, namespace: backend}
        spec:
          podSelector: {}
          policyTypes: [Ingress, Egress]
        """
}

/// tc verdicts.
enum TC {
    static let ok: UInt32 = 0  // TC_ACT_OK
    static let shot: UInt32 = 2  // TC_ACT_SHOT
}
