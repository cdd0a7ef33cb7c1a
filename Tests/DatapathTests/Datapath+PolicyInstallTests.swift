import CSluiceShared
import Glibc
import Policy
import PolicyYAML
import XCTest

@testable import Datapath

/// `Datapath.installPolicy` against real maps in a test pin directory, some created small (the
/// agent's `--map-max-entries` knob) so that an install fails with the kernel's own error: the
/// maps must then hold exactly what they held before, and tc must keep the old verdicts.
final class DatapathPolicyInstallTests: XCTestCase {
    static let shot: UInt32 = 2  // TC_ACT_SHOT
    static let ok: UInt32 = 0  // TC_ACT_OK

    static let endpoints = [
        EndpointDescriptor(
            id: 1, namespace: "frontend", podName: "a", podLabels: ["app": "a"],
            namespaceLabels: ["kubernetes.io/metadata.name": "frontend"], ipv4: Fixture.podA),
        EndpointDescriptor(
            id: 2, namespace: "backend", podName: "b", podLabels: ["app": "b"],
            namespaceLabels: ["kubernetes.io/metadata.name": "backend"], ipv4: Fixture.podB),
    ]

    /// B admits A on `ports` (a NetworkPolicy port or range).
    static func admitA(_ ports: String) -> String {
        """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: b, namespace: backend}
        spec:
          podSelector: {}
          ingress:
          - from:
            - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: frontend}}
            ports: [\(ports)]
        """
    }

    /// A may reach `cidrs` on port 80 and nothing else.
    static func egressA(_ cidrs: [String]) -> String {
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: a, namespace: frontend}
        spec:
          endpointSelector: {matchLabels: {app: a}}
          egress:
          - toCIDR: [\(cidrs.joined(separator: ", "))]
            toPorts:
            - ports: [{port: "80", protocol: TCP}]
        """
    }

    /// Compiles `yaml` with `allocator` (kept across calls, like the agent's).
    static func maps(_ yaml: String, _ allocator: inout IdentityAllocator) throws -> PolicyMaps {
        let repository = PolicyRepository()
        try repository.apply(yamlText: yaml, fileName: "test.yaml")
        return PolicyMaps(repository.compile(endpoints: endpoints, allocator: &allocator), hostIPv4: [])
    }

    static func addPods(_ t: TestDatapath, _ allocator: inout IdentityAllocator) throws {
        for endpoint in endpoints {
            try t.datapath.setEndpoint(
                ipv4: endpoint.ipv4,
                info: sluice_endpoint_info(
                    id: endpoint.id, identity: allocator.identity(of: endpoint), ifindex: 0, flags: 0))
        }
    }

    func verdict(_ t: TestDatapath, to dst: UInt32, port: UInt16, sport: UInt16) throws -> UInt32 {
        try t.runTC(Fixture.packet(src: Fixture.podA, dst: dst, sport: sport, dport: port, proto: Fixture.tcp)).verdict
    }

    func testAFullPolicyMapFailsWithE2BIGAndTheMapsKeepThePolicyInForce() throws {
        let t = try TestDatapath(mapMaxEntries: ["sluice_policy": 16])
        defer { t.close() }
        var allocator = IdentityAllocator()
        try Self.addPods(t, &allocator)
        let old = try Self.maps(Self.admitA("{port: 80}"), &allocator)
        _ = try t.datapath.installPolicy(old)
        let before = try t.datapath.policyMaps()
        XCTAssertEqual(before, old)
        XCTAssertEqual(try verdict(t, to: Fixture.podB, port: 80, sport: 40000), Self.ok)
        XCTAssertEqual(try verdict(t, to: Fixture.podB, port: 1050, sport: 40001), Self.shot)

        let big = try Self.maps(Self.admitA("{port: 1000, endPort: 1100}"), &allocator)
        XCTAssert(big.policy.count > 16)
        do {
            _ = try t.datapath.installPolicy(big)
            XCTFail("an install of \(big.policy.count) entries into a map of 16 succeeded")
        } catch {
            XCTAssert(error.isMapFull)
            XCTAssertEqual(error.failure.errno, E2BIG)
            XCTAssertEqual(error.failure.context, "sluice_policy")
            XCTAssertNil(error.rollback)
            XCTAssert(
                error.description.contains(
                    "sluice_policy is full: it holds 16 entries and the new policy needs \(big.policy.count)"))
            XCTAssert(error.description.contains("the maps were restored"))
        }
        XCTAssertEqual(try t.datapath.policyMaps(), before)
        XCTAssertEqual(try verdict(t, to: Fixture.podB, port: 80, sport: 40002), Self.ok)
        XCTAssertEqual(try verdict(t, to: Fixture.podB, port: 1050, sport: 40003), Self.shot)

        // The next install starts from the maps as they are and does not carry the failed one.
        let next = try Self.maps(Self.admitA("{port: 443}"), &allocator)
        _ = try t.datapath.installPolicy(next)
        XCTAssertEqual(try t.datapath.policyMaps(), next)
        XCTAssertEqual(try verdict(t, to: Fixture.podB, port: 443, sport: 40004), Self.ok)
        XCTAssertEqual(try verdict(t, to: Fixture.podB, port: 80, sport: 40005), Self.shot)
        XCTAssertEqual(try verdict(t, to: Fixture.podB, port: 1050, sport: 40006), Self.shot)
    }

    /// The ipcache is an LPM trie: full, it answers ENOSPC. The failing write comes after the
    /// policy entries copied for the new prefixes (step 1 of the plan); those go again.
    func testAFullIPCacheFailsWithENOSPCAndTheCopiedEntriesGoAgain() throws {
        let t = try TestDatapath(mapMaxEntries: ["sluice_ipcache": 5])
        defer { t.close() }
        var allocator = IdentityAllocator()
        try Self.addPods(t, &allocator)
        let old = try Self.maps(Self.egressA(["192.0.2.0/24"]), &allocator)
        XCTAssertEqual(old.ipcache.count, 4)  // world, two pods, one prefix
        _ = try t.datapath.installPolicy(old)
        let before = try t.datapath.policyMaps()
        XCTAssertEqual(before, old)

        let wider = try Self.maps(Self.egressA(["192.0.2.0/24", "192.0.2.0/25", "198.51.100.0/24"]), &allocator)
        do {
            _ = try t.datapath.installPolicy(wider)
            XCTFail("an install of \(wider.ipcache.count) prefixes into a trie of 5 succeeded")
        } catch {
            XCTAssertEqual(error.failure.errno, ENOSPC)
            XCTAssertEqual(error.failure.context, "sluice_ipcache")
            XCTAssertNil(error.rollback)
            XCTAssert(error.description.contains("sluice_ipcache is full"))
        }
        XCTAssertEqual(try t.datapath.policyMaps(), before)
        XCTAssertEqual(try verdict(t, to: Fixture.ip4(192, 0, 2, 9), port: 80, sport: 40010), Self.ok)
        XCTAssertEqual(try verdict(t, to: Fixture.ip4(198, 51, 100, 9), port: 80, sport: 40011), Self.shot)
    }

    /// A journal undoes an install that succeeded (a later step of the agent's transaction
    /// failed): back to exactly the maps before, L7 steering included.
    func testTheJournalOfASuccessfulInstallPutsThePreviousMapsBack() throws {
        let t = try TestDatapath()
        defer { t.close() }
        var allocator = IdentityAllocator()
        try Self.addPods(t, &allocator)
        var old = try Self.maps(Self.admitA("{port: 80}"), &allocator)
        old.l7Ports = [
            Fixture.key(endpoint: 2, port: 80, proto: Fixture.tcp, direction: SLUICE_DIR_INGRESS):
                Fixture.value(SLUICE_PROXY_HTTP)
        ]
        _ = try t.datapath.installPolicy(old)
        let new = try Self.maps(Self.egressA(["192.0.2.0/24", "10.0.0.0/8"]), &allocator)
        let journal = try t.datapath.installPolicy(new)
        XCTAssert(journal.count > 0)
        XCTAssertEqual(try t.datapath.policyMaps(), new)
        try journal.rollback()
        XCTAssertEqual(try t.datapath.policyMaps(), old)
    }
}
