import XCTest

@testable import Proxy

/// The forwarder's ID-indexed table of queries in flight, checked against a `Dictionary` doing
/// the same operations.
final class DNSPendingTableTests: XCTestCase {
    func testInsertFindRemove() {
        var table = DNSPendingTable<String>()
        XCTAssertTrue(table.isEmpty)
        XCTAssertTrue(table.insert("a", for: 7))
        XCTAssertTrue(table.insert("b", for: 0))
        XCTAssertTrue(table.insert("c", for: 65535))
        XCTAssertFalse(table.insert("again", for: 7), "an ID in flight is not overwritten")
        XCTAssertEqual(table.count, 3)
        XCTAssertTrue(table.contains(0))
        XCTAssertFalse(table.contains(1))
        XCTAssertEqual(table[7], "a")
        XCTAssertEqual(table[65535], "c")
        XCTAssertNil(table[8])
        // Removing the first entry moves the last one into its place; both stay findable.
        XCTAssertEqual(table.removeValue(for: 7), "a")
        XCTAssertNil(table[7])
        XCTAssertEqual(table[65535], "c")
        XCTAssertEqual(table[0], "b")
        XCTAssertEqual(table.position(of: 65535).map { table[position: $0] }, "c")
        XCTAssertNil(table.removeValue(for: 7))
        XCTAssertEqual(table.removeValue(for: 65535), "c")
        XCTAssertEqual(table.removeValue(for: 0), "b")
        XCTAssertTrue(table.isEmpty)
        XCTAssertFalse(table.contains(0))
    }

    func testRandomOperationsAgreeWithADictionary() {
        var table = DNSPendingTable<Int>()
        var reference: [UInt16: Int] = [:]
        var generator = SystemRandomNumberGenerator()
        for step in 0..<200_000 {
            // IDs from a small range so inserts, hits and misses all happen often.
            let id = UInt16.random(in: 0..<512, using: &generator)
            switch Int.random(in: 0..<4, using: &generator) {
            case 0, 1:
                XCTAssertEqual(table.insert(step, for: id), reference[id] == nil)
                if reference[id] == nil { reference[id] = step }
            case 2:
                XCTAssertEqual(table.removeValue(for: id), reference.removeValue(forKey: id))
            default:
                if let p = table.position(of: id) {
                    XCTAssertEqual(table.remove(at: p), reference.removeValue(forKey: id))
                } else {
                    XCTAssertNil(reference[id])
                }
            }
            XCTAssertEqual(table.count, reference.count)
        }
        for id in UInt16(0)..<512 {
            XCTAssertEqual(table[id], reference[id])
            XCTAssertEqual(table.contains(id), reference[id] != nil)
        }
    }

    func testFullTableRefusesMore() {
        var table = DNSPendingTable<UInt8>()
        for id in 0..<DNSPendingTable<UInt8>.capacity {
            XCTAssertTrue(table.insert(0, for: UInt16(id)))
        }
        XCTAssertEqual(table.count, 65535)
        XCTAssertFalse(table.insert(1, for: 65535), "positions are kept in 16 bits: 65,535 entries at most")
        XCTAssertEqual(table.removeValue(for: 0), 0)
        XCTAssertTrue(table.insert(2, for: 65535))
        XCTAssertEqual(table[65535], 2)
        XCTAssertEqual(table[65534], 0)
    }
}
