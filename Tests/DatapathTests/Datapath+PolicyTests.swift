import CSluiceShared
import Policy
import SluiceModel
import SluiceTestSupport
import XCTest

@testable import Datapath

/// The L3/L4 policy as kernel structs (entries with their action, proxy kind and owner; modes;
/// ipcache with the node's addresses) and `syncL3L4` on real maps: the snapshot's entries plus
/// the learned extras, the snapshot winning a key both hold, L7 steering left as it is.
final class DatapathPolicyTests: XCTestCase {
    private let ingress = Datapath.direction(.ingress), egress = Datapath.direction(.egress)

    /// The tutorial's backend (endpoint 2) admits the frontend namespace on 80 (HTTP rules) and
    /// 7000/UDP, and denies 7001/UDP.
    private let backendPolicy = PolicyFixtures.cnp(
        spec: """
            ingress:
            - fromEndpoints: [{matchLabels: {'k8s:io.kubernetes.pod.namespace': frontend}}]
              toPorts:
              - ports: [{port: "80", protocol: TCP}]
                rules: {http: [{}]}
              - ports: [{port: "7000", protocol: UDP}]
            ingressDeny:
            - fromEndpoints: [{matchLabels: {'k8s:io.kubernetes.pod.namespace': frontend}}]
              toPorts: [{ports: [{port: "7001", protocol: UDP}]}]
            """)

    func testDirectionsAreTheSharedHeadersValues() {
        XCTAssertEqual(ingress, UInt8(SLUICE_DIR_INGRESS.rawValue))
        XCTAssertEqual(egress, UInt8(SLUICE_DIR_EGRESS.rawValue))
    }

    func testPolicyEntriesCarryActionProxyKindAndOwner() {
        let http = PolicyMapKey(endpointID: 2, identity: 256, port: 80, proto: 6, direction: .ingress)
        let dnsUDP = PolicyMapKey(endpointID: 2, identity: 0, port: 53, proto: 17, direction: .egress)
        let dnsTCP = PolicyMapKey(endpointID: 2, identity: 0, port: 53, proto: 6, direction: .egress)
        let deny = PolicyMapKey(endpointID: 2, identity: 2, port: 0, proto: 0, direction: .egress)
        let entries = Datapath.policyEntries(
            [http: .redirect(.http), dnsUDP: .redirect(.dns), dnsTCP: .redirect(.dns), deny: .deny],
            owners: [http: 41, deny: 42])
        func value(_ k: PolicyMapKey) -> sluice_policy_value? {
            entries[
                sluice_policy_key(
                    endpoint_id: k.endpointID, identity: k.identity, port: k.port, proto: k.proto,
                    direction: Datapath.direction(k.direction))]
        }
        XCTAssertEqual(entries.count, 4)
        XCTAssertEqual(value(http)?.action, UInt8(SLUICE_POLICY_REDIRECT.rawValue))
        XCTAssertEqual(value(http)?.proxy_kind, UInt8(SLUICE_PROXY_HTTP.rawValue))
        XCTAssertEqual(value(http)?.policy_ref, 41)
        XCTAssertEqual(value(dnsUDP)?.proxy_kind, UInt8(SLUICE_PROXY_DNS_UDP.rawValue))
        XCTAssertEqual(value(dnsTCP)?.proxy_kind, UInt8(SLUICE_PROXY_DNS_TCP.rawValue))
        XCTAssertEqual(value(dnsTCP)?.policy_ref, 0, "no owner: 0")
        XCTAssertEqual(value(deny)?.action, UInt8(SLUICE_POLICY_DENY.rawValue))
        XCTAssertEqual(value(deny)?.proxy_kind, 0)
        XCTAssertEqual(value(deny)?.policy_ref, 42)
    }

    func testModesAndIPCacheOfACompiledSnapshot() throws {
        let snapshot = try PolicyFixtures.compile([backendPolicy])
        var key = sluice_policy_mode_key()
        key.endpoint_id = 2
        key.direction = ingress
        let modes = Datapath.modeEntries(snapshot)
        XCTAssertEqual(modes.count, 1, "only the backend's ingress is enforced")
        XCTAssertEqual(modes[key]?.default_deny, 1)

        let node = UInt32(bigEndian: 0x0AF4_0001)
        let ipcache = Datapath.ipcacheEntries(snapshot, hostIPv4: [node])
        XCTAssertEqual(ipcache[sluice_ipcache_key(prefixlen: 32, ip4: node)]?.identity, ReservedIdentity.host)
        XCTAssertEqual(ipcache[sluice_ipcache_key(prefixlen: 0, ip4: 0)]?.identity, ReservedIdentity.world)
        XCTAssertEqual(
            ipcache[sluice_ipcache_key(prefixlen: 32, ip4: PolicyFixtures.ip(2))]?.identity,
            snapshot.identity(ofEndpoint: 2))
    }

    func testSyncL3L4WritesTheSnapshotAndTheExtrasAndKeepsL7Steering() throws {
        let test = try TestDatapath()
        defer { test.close() }
        let datapath = test.datapath
        let steering = sluice_l7_key(endpoint_id: 9, port: 8080, proto: 6, direction: ingress)
        let steeringValue = sluice_l7_value(kind: UInt8(SLUICE_PROXY_HTTP.rawValue), _pad: (0, 0, 0), _reserved: 0)
        try datapath.syncL7Ports([steering: steeringValue])
        let snapshot = try PolicyFixtures.compile([backendPolicy])
        let frontend = try XCTUnwrap(snapshot.identity(ofEndpoint: 1))
        let learned = PolicyMapKey(endpointID: 2, identity: 16_777_217, port: 443, proto: 6, direction: .egress)
        let clash = PolicyMapKey(endpointID: 2, identity: frontend, port: 7001, proto: 17, direction: .ingress)
        let fqdnIP = IPCacheEntry(ipv4: UInt32(bigEndian: 0xC000_0207), prefixLength: 32, identity: 16_777_217)
        try datapath.syncL3L4(
            snapshot, hostIPv4: [], extraPolicy: [learned: .allow, clash: .allow], extraIPCache: [fqdnIP])

        let policy = try datapath.policyMapContents()
        XCTAssertEqual(policy.count, snapshot.policyMap.count + 1, "the snapshot's entries and the learned one")
        func action(_ k: PolicyMapKey) -> UInt8? {
            policy[
                sluice_policy_key(
                    endpoint_id: k.endpointID, identity: k.identity, port: k.port, proto: k.proto,
                    direction: Datapath.direction(k.direction))]?.action
        }
        XCTAssertEqual(action(learned), UInt8(SLUICE_POLICY_ALLOW.rawValue))
        XCTAssertEqual(action(clash), UInt8(SLUICE_POLICY_DENY.rawValue), "the snapshot's deny wins")
        XCTAssertTrue(try datapath.ipcacheContents().contains(fqdnIP))
        XCTAssertEqual(try datapath.l7Ports(), [steering: steeringValue], "L7 steering is not syncL3L4's")

        // The next sync without the extras removes them.
        try datapath.syncL3L4(snapshot, hostIPv4: [])
        XCTAssertNil(
            try datapath.policyMapContents()[
                sluice_policy_key(endpoint_id: 2, identity: 16_777_217, port: 443, proto: 6, direction: egress)],
            "the learned entry is gone")
        XCTAssertFalse(try datapath.ipcacheContents().contains(fqdnIP))
        XCTAssertEqual(try datapath.policyMapContents().count, snapshot.policyMap.count)
    }
}
