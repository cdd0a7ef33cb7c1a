import CLibbpf
import CSluiceShared
import Glibc
import Policy
import XCTest

@testable import Datapath

/// Loading, pin reuse, map operations and errors.
final class DatapathTests: XCTestCase {
    func testSecondLoadReusesPinnedMaps() throws {
        let t = try TestDatapath()
        defer { t.close() }
        try Fixture.addPods(t.datapath)
        let key = Fixture.key(endpoint: 2, port: 80, proto: Fixture.tcp, direction: SLUICE_DIR_INGRESS)
        try t.datapath.syncL7Ports([key: Fixture.value(SLUICE_PROXY_HTTP)])
        let reloaded = try Datapath.open(objectDirectory: TestDatapath.objectDirectory(), pinDirectory: t.pinDirectory)
        defer { reloaded.close() }
        XCTAssertEqual(try reloaded.l7Ports(), [key: Fixture.value(SLUICE_PROXY_HTTP)])
    }

    /// An upgrade that changes one map's definition (here: the flow ring's size) recreates that
    /// map and keeps every other pinned map, contents and all.
    func testAPinnedMapWithAnotherDefinitionIsRecreatedAndTheOthersKept() throws {
        let t = try TestDatapath()
        defer { t.close() }
        try Fixture.addPods(t.datapath)
        let key = Fixture.key(endpoint: 2, port: 80, proto: Fixture.tcp, direction: SLUICE_DIR_INGRESS)
        try t.datapath.syncL7Ports([key: Fixture.value(SLUICE_PROXY_HTTP)])
        t.datapath.close()
        let ringPin = t.pinDirectory + "/sluice_flows"
        XCTAssertEqual(unlink(ringPin), 0)
        var opts = bpf_map_create_opts()
        opts.sz = MemoryLayout<bpf_map_create_opts>.size
        opts.map_flags = UInt32(BPF_F_MMAPABLE)
        let old = bpf_map_create(
            BPF_MAP_TYPE_ARRAY, "sluice_flows", 4, UInt32(MemoryLayout<sluice_flow>.size), 16, &opts)
        XCTAssert(old >= 0)
        XCTAssertEqual(bpf_obj_pin(old, ringPin), 0)
        Glibc.close(old)
        XCTAssertEqual(try Self.maxEntries(ringPin), 16)

        let reloaded = try Datapath.open(objectDirectory: TestDatapath.objectDirectory(), pinDirectory: t.pinDirectory)
        defer { reloaded.close() }
        XCTAssertEqual(try Self.maxEntries(ringPin), SLUICE_FLOW_SLOTS)
        XCTAssertEqual(try reloaded.l7Ports(), [key: Fixture.value(SLUICE_PROXY_HTTP)])
        let ring = try FlowRing.openForWriting(pinDirectory: t.pinDirectory)
        ring.append { $0.pointee.dst_port = 80 }
        XCTAssert(ring.read(seq: ring.nextSeq - 1)?.dst_port == 80)
    }

    static func maxEntries(_ pin: String) throws -> UInt32 {
        let fd = bpf_obj_get(pin)
        try DatapathError.check(fd, "bpf_obj_get", pin)
        defer { Glibc.close(fd) }
        var info = bpf_map_info()
        var len = UInt32(MemoryLayout<bpf_map_info>.size)
        try DatapathError.check(bpf_obj_get_info_by_fd(fd, &info, &len), "bpf_obj_get_info_by_fd", pin)
        return info.max_entries
    }

    /// The proxies' steering caches forget on every write to a map that decides steering.
    func testWritesToTheSteeringMapsBumpTheSteeringEpoch() throws {
        let t = try TestDatapath()
        defer { t.close() }
        var last = t.datapath.steeringEpoch.current
        func expectBumped(_ what: String) {
            let now = t.datapath.steeringEpoch.current
            XCTAssert(now.epoch > last.epoch, "\(what)")
            XCTAssert(now.lastChangeNs >= last.lastChangeNs && now.lastChangeNs > 0, "\(what)")
            last = now
        }
        try Fixture.addPods(t.datapath)
        expectBumped("sluice_endpoints")
        let key = Fixture.key(endpoint: 2, port: 80, proto: Fixture.tcp, direction: SLUICE_DIR_INGRESS)
        try t.datapath.syncL7Ports([key: Fixture.value(SLUICE_PROXY_HTTP)])
        expectBumped("sluice_l7_ports")
        try t.datapath.writeIPCache(IPCacheEntry(ipv4: 0x0A0A_0A0A, prefixLength: 32, identity: 0x0180_0001))
        expectBumped("sluice_ipcache write")
        try t.datapath.deleteIPCache(ipv4: 0x0A0A_0A0A, prefixLength: 32)
        expectBumped("sluice_ipcache delete")
        try t.datapath.removeEndpoint(ipv4: 0x0A0A_0A0B)
        expectBumped("endpoint removal")
        _ = try t.datapath.l7Ports()
        XCTAssertEqual(t.datapath.steeringEpoch.current.epoch, last.epoch, "reads change nothing")
    }

    func testSyncL7PortsMakesTheMapEqual() throws {
        let t = try TestDatapath()
        defer { t.close() }
        let k1 = Fixture.key(endpoint: 1, port: 53, proto: Fixture.udp, direction: SLUICE_DIR_EGRESS)
        let k2 = Fixture.key(endpoint: 2, port: 80, proto: Fixture.tcp, direction: SLUICE_DIR_INGRESS)
        let k3 = Fixture.key(endpoint: 2, port: 53, proto: Fixture.tcp, direction: SLUICE_DIR_EGRESS)
        try t.datapath.syncL7Ports([k1: Fixture.value(SLUICE_PROXY_DNS_UDP), k2: Fixture.value(SLUICE_PROXY_HTTP)])
        XCTAssertEqual(try t.datapath.l7Ports().count, 2)
        let next = [k2: Fixture.value(SLUICE_PROXY_DNS_TCP), k3: Fixture.value(SLUICE_PROXY_DNS_TCP)]
        try t.datapath.syncL7Ports(next)
        XCTAssertEqual(try t.datapath.l7Ports(), next)
        try t.datapath.syncL7Ports([:])
        XCTAssert(try t.datapath.l7Ports().isEmpty)
    }

    func testRemoveEndpointStopsSteering() throws {
        let t = try TestDatapath()
        defer { t.close() }
        try Fixture.addPods(t.datapath)
        let key = Fixture.key(endpoint: 2, port: 80, proto: Fixture.tcp, direction: SLUICE_DIR_INGRESS)
        try t.datapath.syncL7Ports([key: Fixture.value(SLUICE_PROXY_HTTP)])
        try t.datapath.removeEndpoint(ipv4: Fixture.podB)
        try t.datapath.removeEndpoint(ipv4: Fixture.podB)  // absent: not an error
        let packet = Fixture.packet(src: Fixture.podA, dst: Fixture.podB, sport: 1, dport: 80, proto: Fixture.tcp)
        XCTAssertEqual(try t.runTC(packet).mark, 0)
    }

    func testRegisteringANonSocketFails() throws {
        let t = try TestDatapath()
        defer { t.close() }
        let fd = open("/dev/null", O_RDONLY)
        defer { close(fd) }
        XCTAssertThrowsError(try t.datapath.registerProxySocket(0, fd: fd)) { XCTAssert($0 is DatapathError, "\($0)") }
    }

    func testMissingObjectsReportThePath() throws {
        let pin = "/sys/fs/bpf/sluice-test-missing-\(getpid())"
        defer { try? Datapath.unpinAll(pinDirectory: pin) }
        do {
            _ = try Datapath.open(objectDirectory: "/nonexistent", pinDirectory: pin)
            XCTFail("open succeeded without objects")
        } catch let error as DatapathError {
            XCTAssertEqual(error.call, "bpf_object__open_file")
            XCTAssert(error.isNotFound)
            XCTAssert(error.description.contains("/nonexistent/tc_endpoint.o"))
        }
    }

    func testUnpinAllRemovesThePinDirectory() throws {
        let t = try TestDatapath()
        t.close()
        XCTAssertNotEqual(access(t.pinDirectory, F_OK), 0)
    }
}
