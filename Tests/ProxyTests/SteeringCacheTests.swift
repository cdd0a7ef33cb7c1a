import Policy
import XCTest

@testable import Proxy

/// `SteeringCache`: one table lookup per peer pair while the steering maps are unchanged,
/// forgotten on every change, never keeping an entry recorded before the last change.
final class SteeringCacheTests: XCTestCase {
    /// The table behind the cache. Its answer depends on the key the way tc's does (endpoint
    /// and destination identity from the destination, direction from the protocol), never on
    /// the source port, so a cache that returned another key's entry would be caught.
    final class FakeTable: SteeringTable {
        var epoch: (epoch: UInt64, lastChangeNs: UInt64)? = (epoch: 1, lastChangeNs: 100)
        var createdNs: UInt64 = 200
        var identity: UInt32 = 7
        var present = true
        private(set) var lookups: [(UInt32, UInt16, UInt32, UInt16, UInt8)] = []

        func lookup(
            sourceAddress: UInt32, sourcePort: UInt16, destinationAddress: UInt32, destinationPort: UInt16,
            protocol proto: UInt8
        ) -> SteerInfo? {
            lookups.append((sourceAddress, sourcePort, destinationAddress, destinationPort, proto))
            guard present else { return nil }
            return Self.expected(
                destinationAddress: destinationAddress, destinationPort: destinationPort,
                proto: proto, identity: identity, createdNs: createdNs)
        }

        static func expected(
            destinationAddress: UInt32, destinationPort: UInt16, proto: UInt8, identity: UInt32,
            createdNs: UInt64
        ) -> SteerInfo {
            SteerInfo(
                endpointID: UInt32(destinationPort), sourceIdentity: identity,
                destinationIdentity: destinationAddress >> 24, direction: proto == 6 ? .ingress : .egress,
                createdNs: createdNs)
        }

        var changeEpoch: (epoch: UInt64, lastChangeNs: UInt64)? { epoch }
    }

    private let a: UInt32 = 0x0B01_F40A, b: UInt32 = 0x0C01_F40A

    private func steer(
        _ c: SteeringCache, sport: UInt16, dst: UInt32? = nil, dport: UInt16 = 80,
        proto: UInt8 = 6
    ) -> SteerInfo? {
        c.lookup(
            sourceAddress: a, sourcePort: sport, destinationAddress: dst ?? b, destinationPort: dport, protocol: proto)
    }

    func testConnectionsOfOnePeerPairShareOneLookupWhateverTheirSourcePort() {
        let t = FakeTable()
        let c = SteeringCache(t)
        for port in UInt16(40000)..<40010 {
            XCTAssertEqual(steer(c, sport: port)?.sourceIdentity, 7)
        }
        XCTAssertEqual(t.lookups.count, 1)
        XCTAssertEqual(c.hits, 9)
        // Another destination port, protocol or address is another key.
        _ = steer(c, sport: 1, dport: 8080)
        _ = steer(c, sport: 1, proto: 17)
        _ = steer(c, sport: 1, dst: 0x0D01_F40A)
        XCTAssertEqual(t.lookups.count, 4)
        XCTAssertEqual(t.lookups.last?.1, 1, "the table is asked with the real source port")
    }

    func testAChangeToTheSteeringMapsIsSeenByTheNextConnection() {
        let t = FakeTable()
        let c = SteeringCache(t)
        XCTAssertEqual(steer(c, sport: 1)?.sourceIdentity, 7)
        t.identity = 8  // e.g. the pod's labels changed: a new identity in sluice_endpoints
        t.createdNs = 400
        t.epoch = (epoch: 2, lastChangeNs: 300)
        XCTAssertEqual(steer(c, sport: 2)?.sourceIdentity, 8)
        XCTAssertEqual(steer(c, sport: 3)?.sourceIdentity, 8)
        XCTAssertEqual(t.lookups.count, 2)
    }

    func testAnEntryRecordedBeforeTheLastChangeIsUsedButNotKept() {
        let t = FakeTable()
        t.createdNs = 50  // tc saw this SYN before the write that ended at 100
        let c = SteeringCache(t)
        XCTAssertEqual(steer(c, sport: 1)?.sourceIdentity, 7)
        XCTAssertEqual(steer(c, sport: 2)?.sourceIdentity, 7)
        XCTAssertEqual(t.lookups.count, 2, "not cached: the next connection asks the table")
        t.createdNs = 150
        _ = steer(c, sport: 3)
        _ = steer(c, sport: 4)
        XCTAssertEqual(t.lookups.count, 3)
    }

    func testMissingEntriesAndTablesWithoutACounterAreNotCached() {
        let t = FakeTable()
        t.present = false
        let c = SteeringCache(t)
        XCTAssertNil(steer(c, sport: 1))
        XCTAssertNil(steer(c, sport: 1))
        XCTAssertEqual(t.lookups.count, 2)
        t.present = true
        t.epoch = nil
        XCTAssertNotNil(steer(c, sport: 1))
        XCTAssertNotNil(steer(c, sport: 1))
        XCTAssertEqual(t.lookups.count, 4)
        XCTAssertEqual(c.hits, 0)
    }

    func testCollidingKeysReplaceEachOtherAndStayCorrect() {
        let t = FakeTable()
        let c = SteeringCache(t, slots: 1)  // every key shares the one slot
        let keys: [(dst: UInt32, dport: UInt16, proto: UInt8)] = [
            (b, 1, 6), (b, 2, 6), (b, 1, 17), (0x0D01_F40A, 1, 6),
        ]
        for round in 0..<3 {
            for key in keys {
                let info = steer(c, sport: 9, dst: key.dst, dport: key.dport, proto: key.proto)
                XCTAssertEqual(
                    info,
                    FakeTable.expected(
                        destinationAddress: key.dst, destinationPort: key.dport,
                        proto: key.proto, identity: 7, createdNs: 200),
                    "round \(round) key \(key): its own entry, not the slot's previous one")
            }
        }
        XCTAssertEqual(t.lookups.count, 12, "each key evicted the previous one")
        XCTAssertEqual(c.hits, 0)
        // The same key twice in a row is a hit, with that key's entry.
        XCTAssertEqual(steer(c, sport: 10, dst: 0x0D01_F40A, dport: 1)?.destinationIdentity, 0x0D)
        XCTAssertEqual(c.hits, 1)
    }

    /// Many keys in the default table: every answer is the key's own, wherever keys collide.
    func testEveryKeyGetsItsOwnEntryInAFullTable() {
        let t = FakeTable()
        let c = SteeringCache(t, slots: 64)
        var keys: [(dst: UInt32, dport: UInt16, proto: UInt8)] = []
        for i in 0..<500 {
            let dst = UInt32(0x0001_F40A) | UInt32(i % 7) << 24
            keys.append((dst: dst, dport: UInt16(i), proto: i % 3 == 0 ? 17 : 6))
        }
        for round in 0..<2 {
            for key in keys {
                XCTAssertEqual(
                    steer(c, sport: UInt16(round), dst: key.dst, dport: key.dport, proto: key.proto),
                    FakeTable.expected(
                        destinationAddress: key.dst, destinationPort: key.dport, proto: key.proto,
                        identity: 7, createdNs: 200), "key \(key)")
            }
        }
        XCTAssertEqual(c.hits + c.misses, 1000)
        XCTAssertGreaterThan(c.misses, 500, "500 keys in 64 slots collide")
    }
}
