import CSluiceShared
import Policy
import XCTest

@testable import Datapath

/// The incremental writes of learned toFQDNs IPs on real pinned maps: policy entries written
/// and deleted one by one beside the others, ipcache /32s set and removed, and every ipcache
/// write moving the steering epoch (the proxy's steering cache must forget what it knew).
final class DatapathFQDNTests: XCTestCase {
    private var test: TestDatapath!

    override func setUpWithError() throws { test = try TestDatapath() }
    override func tearDown() { test?.close() }

    private let ip = UInt32(bigEndian: 0xC000_0207)  // 192.0.2.7

    private func key(_ identity: UInt32, port: UInt16, proto: UInt8 = 6) -> PolicyMapKey {
        PolicyMapKey(endpointID: 3, identity: identity, port: port, proto: proto, direction: .egress)
    }

    func testPolicyEntriesAreWrittenAndDeletedOneByOne() throws {
        let datapath = test.datapath
        try datapath.writePolicyEntries([:])
        XCTAssertEqual(try datapath.policyMapContents(), [:], "nothing to write is no write")
        try datapath.writePolicyEntries([
            key(16_777_217, port: 443): .allow, key(16_777_217, port: 80): .redirect(.http),
        ])
        try datapath.writePolicyEntries([key(16_777_218, port: 53, proto: 17): .redirect(.dns)])
        let contents = try datapath.policyMapContents()
        XCTAssertEqual(contents.count, 3)
        let dns = try XCTUnwrap(
            contents[
                sluice_policy_key(
                    endpoint_id: 3, identity: 16_777_218, port: 53, proto: 17, direction: Datapath.direction(.egress))])
        XCTAssertEqual(dns.action, UInt8(SLUICE_POLICY_REDIRECT.rawValue))
        XCTAssertEqual(dns.proxy_kind, UInt8(SLUICE_PROXY_DNS_UDP.rawValue))
        let http = try XCTUnwrap(
            contents[
                sluice_policy_key(
                    endpoint_id: 3, identity: 16_777_217, port: 80, proto: 6, direction: Datapath.direction(.egress))])
        XCTAssertEqual(http.proxy_kind, UInt8(SLUICE_PROXY_HTTP.rawValue))

        try datapath.writePolicyEntries([key(16_777_217, port: 443): .deny])
        XCTAssertEqual(
            try datapath.policyMapContents()[
                sluice_policy_key(
                    endpoint_id: 3, identity: 16_777_217, port: 443, proto: 6, direction: Datapath.direction(.egress))]?
                .action,
            UInt8(SLUICE_POLICY_DENY.rawValue), "a changed entry is overwritten")

        try datapath.deletePolicyEntries([key(16_777_217, port: 443), key(99, port: 1)])
        XCTAssertEqual(try datapath.policyMapContents().count, 2, "the absent key is no error")
        try datapath.deletePolicyEntries([])
        try datapath.deletePolicyEntries([key(16_777_217, port: 80), key(16_777_218, port: 53, proto: 17)])
        XCTAssertEqual(try datapath.policyMapContents(), [:])
    }

    func testIPCacheEntriesAreSetAndRemovedAndMoveTheSteeringEpoch() throws {
        let datapath = test.datapath
        let before = datapath.steeringEpoch.current.epoch
        try datapath.writeIPCache(IPCacheEntry(ipv4: ip, prefixLength: 32, identity: 16_777_217))
        try datapath.writeIPCache(
            IPCacheEntry(ipv4: UInt32(bigEndian: 0xC000_0200), prefixLength: 24, identity: 16_777_300))
        XCTAssertEqual(datapath.steeringEpoch.current.epoch, before + 2)
        XCTAssertEqual(
            try datapath.ipcacheContents(),
            [
                IPCacheEntry(ipv4: UInt32(bigEndian: 0xC000_0200), prefixLength: 24, identity: 16_777_300),
                IPCacheEntry(ipv4: ip, prefixLength: 32, identity: 16_777_217),
            ].sorted())
        try datapath.writeIPCache(IPCacheEntry(ipv4: ip, prefixLength: 32, identity: 16_777_219))
        XCTAssertTrue(
            try datapath.ipcacheContents().contains(IPCacheEntry(ipv4: ip, prefixLength: 32, identity: 16_777_219)))
        try datapath.deleteIPCache(ipv4: ip, prefixLength: 32)
        try datapath.deleteIPCache(ipv4: ip, prefixLength: 32)
        XCTAssertEqual(
            try datapath.ipcacheContents(),
            [IPCacheEntry(ipv4: UInt32(bigEndian: 0xC000_0200), prefixLength: 24, identity: 16_777_300)],
            "only the /32 went; deleting it twice is no error")
        XCTAssertEqual(datapath.steeringEpoch.current.epoch, before + 5)
    }
}
