import CSluiceShared
import Policy
import SluiceModel
import SluiceTestSupport
import XCTest

@testable import Datapath

/// `PolicyMaps` for a snapshot, without the kernel: L7 steering by proxy kind (TLS ports share
/// the HTTP listener, DNS by protocol), and the learned extras added only where the snapshot has
/// nothing of its own.
final class PolicyMapsTests: XCTestCase {
    private func snapshot() throws -> PolicySnapshot {
        try PolicyFixtures.compile([
            PolicyFixtures.cnp(
                spec: """
                    ingress:
                    - toPorts:
                      - ports: [{port: "80", protocol: TCP}]
                        rules: {http: [{method: GET}]}
                      - ports: [{port: "443", protocol: TCP}]
                        serverNames: [api.example.com]
                    egress:
                    - toPorts:
                      - ports: [{port: "53", protocol: ANY}]
                        rules: {dns: [{matchPattern: "*"}]}
                    """)
        ])
    }

    private func l7(_ port: UInt16, _ proto: UInt8, _ direction: Direction) -> sluice_l7_key {
        sluice_l7_key(endpoint_id: 2, port: port, proto: proto, direction: Datapath.direction(direction))
    }

    func testL7PortsGoToTheListenerOfTheirKind() throws {
        let entries = PolicyMaps.l7Entries(try snapshot())
        XCTAssertEqual(
            entries.mapValues(\.kind),
            [
                l7(80, 6, .ingress): UInt8(SLUICE_PROXY_HTTP.rawValue),
                l7(443, 6, .ingress): UInt8(SLUICE_PROXY_HTTP.rawValue),
                l7(53, 17, .egress): UInt8(SLUICE_PROXY_DNS_UDP.rawValue),
                l7(53, 6, .egress): UInt8(SLUICE_PROXY_DNS_TCP.rawValue),
            ])
    }

    func testTheTargetHoldsTheSnapshotAndOnlyExtrasItHasNoEntryFor() throws {
        let snapshot = try snapshot()
        let node = UInt32(bigEndian: 0x0AF4_0001)
        let plain = PolicyMaps(snapshot, hostIPv4: [node])
        XCTAssertEqual(plain.l7Ports, PolicyMaps.l7Entries(snapshot))
        XCTAssertEqual(plain.policy, Datapath.policyEntries(snapshot.policyMap, owners: snapshot.policyMapOwners))
        XCTAssertEqual(plain.modes, Datapath.modeEntries(snapshot))
        XCTAssertEqual(plain.ipcache, Datapath.ipcacheEntries(snapshot, hostIPv4: [node]))

        let owned = try XCTUnwrap(snapshot.policyMap.first { snapshot.policyMapOwners[$0.key] != nil })
        let learned = PolicyMapKey(endpointID: 2, identity: 16_777_217, port: 443, proto: 6, direction: .egress)
        let fqdn = IPCacheEntry(ipv4: UInt32(bigEndian: 0xC000_0207), prefixLength: 32, identity: 16_777_217)
        let shadowed = IPCacheEntry(ipv4: node, prefixLength: 32, identity: 16_777_218)
        let kept = sluice_l7_key(endpoint_id: 9, port: 1, proto: 6, direction: 1)
        let maps = PolicyMaps(
            snapshot, l7Ports: [kept: sluice_l7_value()], hostIPv4: [node],
            extraPolicy: [learned: .allow, owned.key: .deny], extraIPCache: [fqdn, shadowed])
        XCTAssertEqual(Array(maps.l7Ports.keys), [kept], "given L7 ports replace the snapshot's")
        XCTAssertEqual(maps.policy.count, plain.policy.count + 1)
        let ownedKey = sluice_policy_key(
            endpoint_id: owned.key.endpointID, identity: owned.key.identity, port: owned.key.port,
            proto: owned.key.proto, direction: Datapath.direction(owned.key.direction))
        XCTAssertEqual(maps.policy[ownedKey], plain.policy[ownedKey], "the snapshot's entry and owner win")
        XCTAssertEqual(
            maps.ipcache[sluice_ipcache_key(prefixlen: 32, ip4: fqdn.ipv4)]?.identity, 16_777_217)
        XCTAssertEqual(
            maps.ipcache[sluice_ipcache_key(prefixlen: 32, ip4: node)]?.identity, ReservedIdentity.host,
            "the node's address stays host")
        XCTAssertEqual(maps.ipcache.count, plain.ipcache.count + 1)
    }
}
