import CLibbpf
import CSluiceShared
import Glibc
import XCTest

@testable import Datapath

/// The typed map accessors on real pinned maps: endpoints with their veth entry (anti-spoofing),
/// a full endpoint sync that drops what an earlier run left, L7 port steering written before
/// stale entries go, the proxy sockmap, and the steered-flow lookup the proxy makes after accept.
final class DatapathMapsTests: XCTestCase {
    private var test: TestDatapath!

    override func setUpWithError() throws { test = try TestDatapath() }
    override func tearDown() { test?.close() }

    private let podA = UInt32(bigEndian: 0x0AF4_010B)  // 10.244.1.11
    private let podB = UInt32(bigEndian: 0x0AF4_010C)

    private func info(_ id: UInt32, ifindex: UInt32) -> sluice_endpoint_info {
        sluice_endpoint_info(id: id, identity: 256 + id, ifindex: ifindex, flags: 0)
    }

    /// `sluice_endpoints` as address -> endpoint ID.
    private func endpointIDs() throws -> [UInt32: UInt32] {
        let map = try test.datapath.dumpMap(
            test.datapath.endpointsFD, "sluice_endpoints", key: sluice_endpoint_key(), value: sluice_endpoint_info())
        return Dictionary(uniqueKeysWithValues: map.map { ($0.key.ip4, $0.value.id) })
    }

    func testAnEndpointAndItsVethAreSetAndRemovedTogether() throws {
        let datapath = test.datapath
        let epoch = datapath.steeringEpoch.current.epoch
        try datapath.setEndpoint(ipv4: podA, info: info(1, ifindex: 41))
        try datapath.setEndpoint(ipv4: podB, info: info(2, ifindex: 0))
        XCTAssertEqual(try endpointIDs(), [podA: 1, podB: 2])
        XCTAssertEqual(datapath.vethEndpoint(ifindex: 41)?.id, 1)
        XCTAssertEqual(datapath.vethEndpoint(ifindex: 41)?.identity, 257)
        XCTAssertNil(datapath.vethEndpoint(ifindex: 0), "no veth entry while the ifindex is unknown")
        try datapath.removeEndpoint(ipv4: podA)
        XCTAssertEqual(try endpointIDs(), [podB: 2])
        XCTAssertNil(datapath.vethEndpoint(ifindex: 41), "the veth entry went with the address")
        try datapath.removeEndpoint(ipv4: podA)  // absent: no error
        XCTAssertEqual(datapath.steeringEpoch.current.epoch, epoch + 4)
    }

    func testSyncEndpointsDropsWhatAnEarlierRunLeft() throws {
        let datapath = test.datapath
        try datapath.setEndpoint(ipv4: podA, info: info(1, ifindex: 41))
        try datapath.setEndpoint(ipv4: podB, info: info(2, ifindex: 42))
        // Pod B is gone; pod A moved to veth 43 (a stale veth 41 would pass its anti-spoofing).
        try datapath.syncEndpoints([podA: info(1, ifindex: 43)])
        XCTAssertEqual(try endpointIDs(), [podA: 1])
        XCTAssertEqual(datapath.vethEndpoint(ifindex: 43)?.id, 1)
        XCTAssertNil(datapath.vethEndpoint(ifindex: 41))
        XCTAssertNil(datapath.vethEndpoint(ifindex: 42))
        try datapath.syncEndpoints([:])
        XCTAssertEqual(try endpointIDs(), [:])
        XCTAssertNil(datapath.vethEndpoint(ifindex: 43))
    }

    func testL7PortsAreMadeEqualToTheTarget() throws {
        let datapath = test.datapath
        let http = sluice_l7_key(endpoint_id: 1, port: 80, proto: 6, direction: Datapath.direction(.ingress))
        let dns = sluice_l7_key(endpoint_id: 1, port: 53, proto: 17, direction: Datapath.direction(.egress))
        let other = sluice_l7_key(endpoint_id: 2, port: 8080, proto: 6, direction: Datapath.direction(.ingress))
        func value(_ kind: sluice_proxy_kind) -> sluice_l7_value {
            sluice_l7_value(kind: UInt8(kind.rawValue), _pad: (0, 0, 0), _reserved: 0)
        }
        XCTAssertEqual(try datapath.l7Ports(), [:])
        try datapath.syncL7Ports([http: value(SLUICE_PROXY_HTTP), dns: value(SLUICE_PROXY_DNS_UDP)])
        XCTAssertEqual(try datapath.l7Ports(), [http: value(SLUICE_PROXY_HTTP), dns: value(SLUICE_PROXY_DNS_UDP)])
        try datapath.syncL7Ports([http: value(SLUICE_PROXY_HTTP), other: value(SLUICE_PROXY_HTTP)])
        XCTAssertEqual(
            try datapath.l7Ports(), [http: value(SLUICE_PROXY_HTTP), other: value(SLUICE_PROXY_HTTP)],
            "the stale DNS port is deleted, the kept one stays")
        try datapath.syncL7Ports([:])
        XCTAssertEqual(try datapath.l7Ports(), [:])
    }

    func testTheProxySockmapTakesListeningSocketsOnly() throws {
        let datapath = test.datapath
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = UInt32(bigEndian: 0x7F00_0001)
        XCTAssertEqual(
            withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }, 0)
        XCTAssertEqual(listen(listener, 4), 0)
        try datapath.registerProxySocket(Int(SLUICE_SOCK_HTTP.rawValue), fd: listener)
        var key = UInt32(SLUICE_SOCK_HTTP.rawValue)
        var cookie: UInt64 = 0
        XCTAssertEqual(bpf_map_lookup_elem(datapath.proxySocksFD, &key, &cookie), 0, "the slot holds the socket")
        XCTAssertNotEqual(cookie, 0)
        try datapath.unregisterProxySocket(Int(SLUICE_SOCK_HTTP.rawValue))
        XCTAssertNotEqual(bpf_map_lookup_elem(datapath.proxySocksFD, &key, &cookie), 0, "the slot is empty")
        try datapath.unregisterProxySocket(Int(SLUICE_SOCK_HTTP.rawValue))  // empty already: no error

        var pipeFDs: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&pipeFDs), 0)
        defer { pipeFDs.forEach { _ = close($0) } }
        XCTAssertThrowsError(try datapath.registerProxySocket(Int(SLUICE_SOCK_DNS_TCP.rawValue), fd: pipeFDs[0])) {
            XCTAssertTrue("\($0)".contains("sluice_proxy_socks[2]"), "\($0)")
        }
        XCTAssertThrowsError(try datapath.registerProxySocket(Int(SLUICE_SOCK_MAX.rawValue), fd: listener))
    }

    func testLookupSteeredFindsTheEntryOfTheExactTuple() throws {
        let datapath = test.datapath
        var tuple = sluice_tuple()
        (tuple.src_ip4, tuple.dst_ip4, tuple.src_port, tuple.dst_port, tuple.proto) = (podA, podB, 40_000, 80, 6)
        XCTAssertNil(datapath.lookupSteered(tuple))
        var info = sluice_steer_info()
        (info.src_endpoint, info.dst_endpoint, info.src_identity, info.dst_identity) = (1, 2, 257, 258)
        info.sides = UInt8(SLUICE_STEER_INGRESS)
        XCTAssertEqual(bpf_map_update_elem(datapath.steeredFD, &tuple, &info, UInt64(BPF_ANY)), 0)
        let found = try XCTUnwrap(datapath.lookupSteered(tuple))
        XCTAssertEqual(found.dst_identity, 258)
        XCTAssertEqual(found.sides, UInt8(SLUICE_STEER_INGRESS))
        var other = tuple
        other.src_port = 40_001
        XCTAssertNil(datapath.lookupSteered(other), "another source port is another flow")
    }
}
