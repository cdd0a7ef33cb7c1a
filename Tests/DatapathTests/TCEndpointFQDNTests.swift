import CSluiceShared
import Policy
import PolicyYAML
import XCTest

@testable import Datapath

/// toFQDNs in bpf/tc_endpoint.c with BPF_PROG_RUN: a learned address (FQDN identity in the
/// ipcache, an egress entry on 443) is reachable; once withdrawn (TTL expiry) a new connection is
/// dropped while the one opened before keeps passing; FIN marks the connection closed for the sweep.
final class TCEndpointFQDNTests: XCTestCase {
    static let shot: UInt32 = 2
    static let ok: UInt32 = 0
    let learned = Fixture.ip4(192, 0, 2, 10)
    let identity = FQDNIdentity.base + 1

    private let yaml = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: fqdn, namespace: frontend}
        spec:
          endpointSelector: {}
          egress:
          - toFQDNs: [{matchName: api.example.com}]
            toPorts:
            - ports: [{port: "443", protocol: TCP}]
        """

    func testExpiredAddressDropsNewConnectionsButNotOpenOnes() throws {
        let t = try TestDatapath()
        defer { t.close() }
        let pod = EndpointDescriptor(
            id: 1, namespace: "frontend", podName: "a", podLabels: ["app": "a"],
            namespaceLabels: ["kubernetes.io/metadata.name": "frontend"], ipv4: Fixture.podA)
        let repository = PolicyRepository()
        try repository.apply(yamlText: yaml, fileName: "fqdn.yaml")
        var allocator = IdentityAllocator()
        let snapshot = repository.compile(endpoints: [pod], allocator: &allocator)
        try t.datapath.setEndpoint(
            ipv4: pod.ipv4,
            info: sluice_endpoint_info(
                id: 1, identity: snapshot.identity(ofIPv4: pod.ipv4), ifindex: 0, flags: 0))
        try t.datapath.syncL3L4(snapshot, hostIPv4: [])

        let syn = { (port: UInt16) in
            Fixture.packet(src: Fixture.podA, dst: self.learned, sport: port, dport: 443, proto: Fixture.tcp)
        }
        XCTAssertEqual(try t.runTC(syn(41000)).verdict, Self.shot, "not learned yet: world, default deny")

        let entries = snapshot.fqdnPolicyEntries(identity: identity, names: ["api.example.com."])
        XCTAssertEqual(entries.count, 1)
        try t.datapath.writePolicyEntries(entries)
        try t.datapath.writeIPCache(IPCacheEntry(ipv4: learned, prefixLength: 32, identity: identity))
        XCTAssertEqual(try t.runTC(syn(41001)).verdict, Self.ok, "learned: allowed")
        XCTAssert(try t.datapath.openConnectionDestinations().contains(learned))

        // TTL expiry: the address leaves the ipcache, then its entries.
        try t.datapath.deleteIPCache(ipv4: learned, prefixLength: 32)
        try t.datapath.deletePolicyEntries(Array(entries.keys))
        XCTAssertEqual(try t.runTC(syn(41002)).verdict, Self.shot, "a new connection after expiry is dropped")
        let ack = Fixture.packet(
            src: Fixture.podA, dst: learned, sport: 41001, dport: 443, proto: Fixture.tcp,
            tcpFlags: UInt8(SLUICE_TCP_ACK))
        XCTAssertEqual(try t.runTC(ack).verdict, Self.ok, "the connection opened while allowed continues")

        let fin = Fixture.packet(
            src: Fixture.podA, dst: learned, sport: 41001, dport: 443, proto: Fixture.tcp,
            tcpFlags: UInt8(SLUICE_TCP_FIN | SLUICE_TCP_ACK))
        XCTAssertEqual(try t.runTC(fin).verdict, Self.ok)
        XCTAssert(try !t.datapath.openConnectionDestinations().contains(learned), "FIN: no longer open")
    }
}
