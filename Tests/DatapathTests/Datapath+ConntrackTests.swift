import CSluiceShared
import Glibc
import SluiceModel
import XCTest

@testable import Datapath

/// The agent's side of connection tracking on a real pinned `sluice_ct`: the lifetime rule
/// (Cilium's defaults, the datapath's constants), the sweep that deletes only expired entries
/// and reports the destinations of open ones, and the listing `sluice introspect` prints.
final class DatapathConntrackTests: XCTestCase {
    private var test: TestDatapath!

    override func setUpWithError() throws { test = try TestDatapath() }
    override func tearDown() { test?.close() }

    private let tcp = UInt8(IPPROTO_TCP), udp = UInt8(IPPROTO_UDP)
    private let established = UInt32(SLUICE_CT_ESTABLISHED)
    private let closing = UInt32(SLUICE_CT_TX_CLOSING | SLUICE_CT_RX_CLOSING)

    private func tuple(dst: UInt8, port: UInt16, proto: UInt8) -> sluice_tuple {
        var t = sluice_tuple()
        (t.src_ip4, t.dst_ip4, t.src_port, t.dst_port, t.proto) = (
            UInt32(bigEndian: 0x0AF4_010B), UInt32(bigEndian: 0xC000_0200 | UInt32(dst)), 40_000, port, proto
        )
        return t
    }

    private func entry(flags: UInt32, seen: UInt32) -> sluice_ct_entry {
        var e = sluice_ct_entry()
        (e.flags, e.seen_s, e.created_ns) = (flags, seen, 7_000_000_000)
        return e
    }

    func testLifetimesFollowTheTCPStateAndAreOneMinuteForOtherProtocols() {
        XCTAssertEqual(Datapath.connectionLifetime(proto: tcp, flags: 0), 60, "TCP before the handshake ends")
        XCTAssertEqual(Datapath.connectionLifetime(proto: tcp, flags: established), 21_600)
        XCTAssertEqual(
            Datapath.connectionLifetime(proto: tcp, flags: established | UInt32(SLUICE_CT_TX_CLOSING)), 21_600,
            "one side closing is still open")
        XCTAssertEqual(Datapath.connectionLifetime(proto: tcp, flags: established | closing), 10)
        XCTAssertEqual(Datapath.connectionLifetime(proto: udp, flags: established | closing), 60)
        XCTAssertEqual(Datapath.connectionLifetime(proto: 1, flags: 0), 60)
    }

    func testIsLiveCountsAgeFromTheLastPacketAndToleratesAFutureSecond() {
        let e = entry(flags: 0, seen: 1000)
        XCTAssertTrue(Datapath.isLive(e, proto: udp, nowSeconds: 1060))
        XCTAssertFalse(Datapath.isLive(e, proto: udp, nowSeconds: 1061))
        XCTAssertTrue(Datapath.isLive(e, proto: udp, nowSeconds: 999), "refreshed by another CPU a second ahead")
        XCTAssertTrue(Datapath.isLive(entry(flags: 0, seen: 5), proto: udp, nowSeconds: UInt32.max &+ 10), "wraps")
    }

    func testMonotonicSecondsIsTheCoarseMonotonicClock() {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts)
        let seconds = Datapath.monotonicSeconds()
        XCTAssertLessThanOrEqual(abs(Int64(seconds) - Int64(ts.tv_sec)), 1)
    }

    func testTheSweepDeletesExpiredEntriesAndReportsOpenDestinations() throws {
        let datapath = test.datapath
        let now: UInt32 = 100_000
        let open = tuple(dst: 1, port: 443, proto: tcp)
        let closed = tuple(dst: 2, port: 443, proto: tcp)
        let expiredTCP = tuple(dst: 3, port: 443, proto: tcp)
        let expiredUDP = tuple(dst: 4, port: 53, proto: udp)
        let liveUDP = tuple(dst: 5, port: 53, proto: udp)
        try datapath.setConnection(open, entry(flags: established, seen: now - 3600))
        try datapath.setConnection(closed, entry(flags: established | UInt32(SLUICE_CT_CLOSED), seen: now - 1))
        try datapath.setConnection(expiredTCP, entry(flags: established | closing, seen: now - 11))
        try datapath.setConnection(expiredUDP, entry(flags: 0, seen: now - 61))
        try datapath.setConnection(liveUDP, entry(flags: 0, seen: now - 60))

        XCTAssertEqual(
            try datapath.openConnectionDestinations(nowSeconds: now), [open.dst_ip4, liveUDP.dst_ip4],
            "live and without FIN/RST; nothing deleted by asking")
        XCTAssertNotNil(datapath.connection(expiredUDP))
        let sweep = try datapath.sweepConnections(nowSeconds: now)
        XCTAssertEqual(sweep.removed, 2)
        XCTAssertEqual(sweep.openDestinations, [open.dst_ip4, liveUDP.dst_ip4])
        XCTAssertNil(datapath.connection(expiredTCP))
        XCTAssertNil(datapath.connection(expiredUDP))
        XCTAssertNotNil(datapath.connection(closed), "closed but younger than its lifetime: kept")
        XCTAssertEqual(datapath.connection(open)?.seen_s, now - 3600)
        XCTAssertEqual(try datapath.sweepConnections(nowSeconds: now).removed, 0, "a second sweep finds nothing")
    }

    func testEntriesAreListedSortedWithTheirFlagNames() throws {
        let datapath = test.datapath
        try datapath.setConnection(
            tuple(dst: 9, port: 80, proto: tcp),
            entry(flags: UInt32(SLUICE_CT_SEEN_BY_FROM_POD | SLUICE_CT_FQDN) | established, seen: 1))
        try datapath.setConnection(
            tuple(dst: 7, port: 53, proto: udp), entry(flags: UInt32(SLUICE_CT_SEEN_BY_TO_POD), seen: 1))
        try datapath.setConnection(tuple(dst: 8, port: 5, proto: 132), entry(flags: UInt32(SLUICE_CT_CLOSED), seen: 1))
        XCTAssertEqual(
            try datapath.conntrackEntries(),
            [
                ConntrackEntry(
                    proto: "UDP", source: "10.244.1.11", destination: "192.0.2.7", sourcePort: 40_000,
                    destinationPort: 53, createdNs: 7_000_000_000, flags: ["to-pod"]),
                ConntrackEntry(
                    proto: "132", source: "10.244.1.11", destination: "192.0.2.8", sourcePort: 40_000,
                    destinationPort: 5, createdNs: 7_000_000_000, flags: ["closed"]),
                ConntrackEntry(
                    proto: "TCP", source: "10.244.1.11", destination: "192.0.2.9", sourcePort: 40_000,
                    destinationPort: 80, createdNs: 7_000_000_000, flags: ["from-pod", "fqdn", "established"]),
            ])
    }
}
