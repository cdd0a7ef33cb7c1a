import CSluiceShared
import Datapath
import Glibc
import Policy
import SluiceModel
import SluiceTestSupport
import XCTest

@testable import Agent

/// The toFQDNs writer on real pinned maps (bpf/*.o in a test pin directory): a learned address
/// gets an FQDN identity, its /32 and the policy entries of the rules its names match; names come
/// and go per address; cluster and node addresses are never learned; identities survive a restart
/// (read back from the ipcache) and a full policy sync; open connections are read from
/// `sluice_ct`.
final class FQDNPolicyWriterTests: XCTestCase {
    private var pinDirectory = ""
    private var datapath: Datapath!

    /// The backend (endpoint 2) may reach api.example.com on 443 and *.cdn.example.com on 80.
    private let policy = PolicyFixtures.cnp(
        spec: """
            egress:
            - toFQDNs: [{matchName: api.example.com}]
              toPorts: [{ports: [{port: "443", protocol: TCP}]}]
            - toFQDNs: [{matchPattern: "*.cdn.example.com"}]
              toPorts: [{ports: [{port: "80", protocol: TCP}]}]
            """)
    private let node = UInt32(bigEndian: 0x0AF4_0001)
    private let v4 = IPv4Address(192, 0, 2, 7).networkOrder
    private let ip = IPAddress.v4(IPv4Address(192, 0, 2, 7))

    override func setUpWithError() throws {
        pinDirectory = "/sys/fs/bpf/sluice-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        // bpf/ four levels up from Tests/AgentTests/Adapters/this file.
        let bpf = "/" + #filePath.split(separator: "/").dropLast(4).joined(separator: "/") + "/bpf"
        datapath = try Datapath.open(objectDirectory: bpf, pinDirectory: pinDirectory)
    }

    override func tearDown() {
        datapath?.close()
        try? Datapath.unpinAll(pinDirectory: pinDirectory)
    }

    private func writer() throws -> FQDNPolicyWriter {
        try FQDNPolicyWriter(datapath: datapath, snapshot: try PolicyFixtures.compile([policy]), hostIPv4: [node])
    }

    /// The /32s of learned addresses in the ipcache, address -> identity.
    private func learnedIPCache() throws -> [UInt32: UInt32] {
        Dictionary(
            uniqueKeysWithValues: try datapath.ipcacheContents().filter { FQDNIdentity.contains($0.identity) }.map {
                ($0.ipv4, $0.identity)
            })
    }

    /// The egress ports the policy map allows toward `identity`.
    private func ports(of identity: UInt32) throws -> [UInt16] {
        try datapath.policyMapContents().keys.filter { $0.identity == identity }.map(\.port).sorted()
    }

    func testAnAnswerGetsAnIdentityItsSlash32AndTheEntriesOfItsRules() throws {
        let w = try writer()
        XCTAssertTrue(w.install(ips: [ip], for: "api.example.com."))
        XCTAssertEqual(try learnedIPCache(), [v4: FQDNIdentity.base])
        XCTAssertEqual(try ports(of: FQDNIdentity.base), [443])
        XCTAssertTrue(w.install(ips: [ip], for: "img.cdn.example.com."))
        XCTAssertEqual(try learnedIPCache(), [v4: FQDNIdentity.base], "one identity per address")
        XCTAssertEqual(try ports(of: FQDNIdentity.base), [80, 443], "both names' rules")
        XCTAssertEqual(w.learnedAddresses.map(\.names), [["api.example.com.", "img.cdn.example.com."]])

        w.remove(ips: [ip], for: "api.example.com.")
        XCTAssertEqual(try ports(of: FQDNIdentity.base), [80], "the other name keeps its entries")
        XCTAssertEqual(try learnedIPCache(), [v4: FQDNIdentity.base])
        w.remove(ips: [ip], for: "img.cdn.example.com.")
        XCTAssertEqual(try learnedIPCache(), [:])
        XCTAssertEqual(try ports(of: FQDNIdentity.base), [])
        XCTAssertTrue(w.learnedAddresses.isEmpty)

        let other = try XCTUnwrap(IPAddress("198.51.100.9"))
        XCTAssertTrue(w.install(ips: [other], for: "api.example.com."))
        XCTAssertEqual(w.learnedAddresses.first?.identity, FQDNIdentity.base, "the freed identity is reused")
        XCTAssertEqual(w.writeFailures, 0)
    }

    func testARepeatedAnswerWritesNothingAndANewNameStillDoes() throws {
        let w = try writer()
        XCTAssertTrue(w.install(ips: [ip], for: "api.example.com."))
        XCTAssertEqual(w.skippedWrites, 0)
        XCTAssertTrue(w.install(ips: [ip], for: "api.example.com."))
        XCTAssertEqual(w.skippedWrites, 1, "same address, same name: already in the maps")
        XCTAssertEqual(try ports(of: FQDNIdentity.base), [443])

        XCTAssertTrue(w.install(ips: [ip], for: "img.cdn.example.com."))
        XCTAssertEqual(w.skippedWrites, 1, "a new name for the address is written")
        XCTAssertEqual(try ports(of: FQDNIdentity.base), [80, 443])

        try w.sync(try PolicyFixtures.compile([policy]))
        XCTAssertTrue(w.install(ips: [ip], for: "img.cdn.example.com."))
        XCTAssertEqual(w.skippedWrites, 2, "the sync wrote every learned address")
        XCTAssertEqual(try learnedIPCache(), [v4: FQDNIdentity.base])
        XCTAssertEqual(try ports(of: FQDNIdentity.base), [80, 443])

        w.remove(ips: [ip], for: "api.example.com.")
        XCTAssertEqual(try ports(of: FQDNIdentity.base), [80])
        XCTAssertTrue(w.install(ips: [ip], for: "api.example.com."))
        XCTAssertEqual(w.skippedWrites, 2, "a name removed and answered again is written again")
        XCTAssertEqual(try ports(of: FQDNIdentity.base), [80, 443])
        XCTAssertEqual(w.writeFailures, 0)
    }

    /// A write that fails midway (the ipcache full) is not remembered as written: the same answer
    /// again, once there is room, writes the address instead of being skipped as already known.
    func testAnAnswerWhoseWriteFailedIsWrittenWhenItComesAgain() throws {
        let w = try writer()
        var fillers: [UInt32] = []
        do {
            while fillers.count <= 70_000 {
                let filler = UInt32(bigEndian: 0x0A80_0000 | UInt32(fillers.count))
                try datapath.writeIPCache(IPCacheEntry(ipv4: filler, prefixLength: 32, identity: 2))
                fillers.append(filler)
            }
        } catch {}
        XCTAssertLessThan(fillers.count, 70_000, "the ipcache has a bound, and it is reached")
        XCTAssertFalse(w.install(ips: [ip], for: "api.example.com."), "the /32 does not fit")
        XCTAssertEqual(w.writeFailures, 1)
        XCTAssertEqual(try learnedIPCache(), [:])

        XCTAssertFalse(w.install(ips: [ip], for: "api.example.com."), "still full: written again, fails again")
        XCTAssertEqual(w.writeFailures, 2)
        XCTAssertEqual(w.skippedWrites, 0)

        try datapath.deleteIPCache(ipv4: try XCTUnwrap(fillers.last), prefixLength: 32)
        XCTAssertTrue(w.install(ips: [ip], for: "api.example.com."))
        XCTAssertEqual(w.skippedWrites, 0, "a failed address is not skipped")
        XCTAssertEqual(try learnedIPCache(), [v4: FQDNIdentity.base])
        XCTAssertEqual(try ports(of: FQDNIdentity.base), [443])
        XCTAssertTrue(w.install(ips: [ip], for: "api.example.com."))
        XCTAssertEqual(w.skippedWrites, 1, "written now, so the next same answer is skipped")
    }

    func testClusterNodeAndIPv6AddressesAreNotLearned() throws {
        let w = try writer()
        let pod = IPAddress.v4(IPv4Address(networkOrder: PolicyFixtures.ip(3)))
        let host = IPAddress.v4(IPv4Address(networkOrder: node))
        let v6 = try XCTUnwrap(IPAddress("2001:db8::7"))
        XCTAssertTrue(w.install(ips: [pod, host, v6], for: "api.example.com."))
        XCTAssertTrue(w.learnedAddresses.isEmpty)
        XCTAssertEqual(try learnedIPCache(), [:])
    }

    func testIdentitiesSurviveARestartAndAFullSync() throws {
        let first = try writer()
        let second = IPAddress.v4(IPv4Address(192, 0, 2, 8))
        XCTAssertTrue(first.install(ips: [ip, second], for: "api.example.com."))
        let before = try learnedIPCache()
        XCTAssertEqual(Set(before.values), [FQDNIdentity.base, FQDNIdentity.base + 1])

        let restarted = try writer()
        let third = IPAddress.v4(IPv4Address(192, 0, 2, 9))
        XCTAssertTrue(restarted.install(ips: [third], for: "api.example.com."))
        XCTAssertEqual(
            try learnedIPCache()[IPv4Address(192, 0, 2, 9).networkOrder], FQDNIdentity.base + 2,
            "a new address does not take an identity an earlier run gave out")

        // A full sync keeps what this run learned with names (with its entries).
        try restarted.sync(try PolicyFixtures.compile([policy]))
        XCTAssertEqual(try learnedIPCache()[IPv4Address(192, 0, 2, 9).networkOrder], FQDNIdentity.base + 2)
        XCTAssertEqual(try ports(of: FQDNIdentity.base + 2), [443])
    }

    func testOpenConnectionsAreReadFromConnectionTracking() throws {
        let w = try writer()
        XCTAssertFalse(w.hasConnections(to: ip))
        var tuple = sluice_tuple()
        (tuple.src_ip4, tuple.dst_ip4, tuple.src_port, tuple.dst_port, tuple.proto) = (
            PolicyFixtures.ip(2), v4, 40_000, 443, 6
        )
        var live = sluice_ct_entry()
        (live.flags, live.seen_s) = (UInt32(SLUICE_CT_ESTABLISHED), Datapath.monotonicSeconds())
        try datapath.setConnection(tuple, live)
        var expired = tuple
        expired.src_port = 40_001
        var old = sluice_ct_entry()
        old.seen_s = Datapath.monotonicSeconds() &- 120
        try datapath.setConnection(expired, old)
        w.collectConnections()
        XCTAssertEqual(w.connectionsCollected, 1, "the expired SYN-only entry")
        XCTAssertEqual(w.connectionSweepFailures, 0)
        XCTAssertTrue(w.hasConnections(to: ip), "the sweep refreshed the open destinations")
        XCTAssertFalse(w.hasConnections(to: try XCTUnwrap(IPAddress("2001:db8::7"))))
    }
}
