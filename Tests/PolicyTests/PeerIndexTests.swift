import SluiceModel
import XCTest

@testable import Policy

/// The index visits exactly the entries a linear scan with `PeerSet.contains` would, in order.
final class PeerIndexTests: XCTestCase {
    private func linear(_ sets: [PeerSet], _ identity: UInt32) -> [Int] {
        sets.indices.filter { sets[$0].contains(identity) }
    }

    private func indexed(_ index: PeerIndex, _ identity: UInt32) -> [Int] {
        var visited: [Int] = []
        index.forEach(selecting: identity) {
            visited.append($0)
            return true
        }
        return visited
    }

    func testVisitsTheEntriesALinearScanSelectsInOrderOverRandomPeerSets() throws {
        var generator = SystemRandomNumberGenerator()
        // small identities, world, a CIDR identity and a learned one, so every case meets
        let pool: [UInt32] = [1, 2, ReservedIdentity.world, ReservedIdentity.worldIPv4, 256, 257, 300]
        let probes = pool + [CIDRIdentityTable.localScope, CIDRIdentityTable.localScope + 9, 5000]
        for round in 0..<300 {
            let count = Int.random(in: PeerIndex.minimumEntries...40, using: &generator)
            let sets: [PeerSet] = (0..<count).map { _ in
                if Int.random(in: 0..<8, using: &generator) == 0 { return .all }
                let members = Set(
                    (0..<Int.random(in: 0...3, using: &generator)).map { _ in
                        pool.randomElement(using: &generator)!
                    })
                return .of(members)
            }
            let index = try XCTUnwrap(PeerIndex(sets))
            for identity in probes {
                XCTAssertEqual(indexed(index, identity), linear(sets, identity), "round \(round), identity \(identity)")
            }
        }
    }

    func testStopsWhenTheVisitorSaysSo() throws {
        let sets = [PeerSet](repeating: .all, count: 10)
        let index = try XCTUnwrap(PeerIndex(sets))
        var visited: [Int] = []
        index.forEach(selecting: 7) {
            visited.append($0)
            return visited.count < 3
        }
        XCTAssertEqual(visited, [0, 1, 2])
    }

    func testFewEntriesAreScannedWithoutAnIndex() {
        XCTAssertNil(PeerIndex([PeerSet](repeating: .all, count: PeerIndex.minimumEntries - 1)))
    }
}
