import CSluiceShared
import XCTest

@testable import Datapath

/// The flow ring's commit protocol through the proxy's mmap.
final class FlowRingTests: XCTestCase {
    func testAppendedRecordsAreReadBack() throws {
        let t = try TestDatapath()
        defer { t.close() }
        let writer = try FlowRing.openForWriting(pinDirectory: t.pinDirectory)
        let reader = try FlowRing.openForReading(pinDirectory: t.pinDirectory)
        XCTAssertEqual(reader.nextSeq, 0)
        XCTAssertNil(reader.read(seq: 0))
        for port in UInt16(1)...3 {
            writer.append {
                $0.pointee.dst_port = port; $0.pointee.verdict = 1
            }
        }
        XCTAssertEqual(reader.nextSeq, 3)
        for seq in UInt64(0)..<3 {
            let flow = try XCTUnwrap(reader.read(seq: seq))
            XCTAssertEqual(flow.commit, seq + 1)
            XCTAssertEqual(flow.dst_port, UInt16(seq + 1))
        }
        XCTAssertNil(reader.read(seq: 3))
    }

    func testTheAgentsRingCarriesThisBuildsLayoutAndReadersRefuseAnother() throws {
        let t = try TestDatapath()
        defer { t.close() }
        let writer = try FlowRing.openForWriting(pinDirectory: t.pinDirectory)
        XCTAssertEqual(writer.recordLayout, FlowRing.layout, "Datapath.open adopted the ring")
        XCTAssertEqual(FlowRing.layout, 2)
        for stale: UInt64 in [0, 1, 3] {
            writer.storeRecordLayout(stale)
            XCTAssertThrowsError(try FlowRing.openForReading(pinDirectory: t.pinDirectory)) { error in
                XCTAssertEqual(
                    error as? FlowRingLayoutError,
                    FlowRingLayoutError(pin: t.pinDirectory + "/sluice_flow_head", found: stale, expected: 2))
                XCTAssertTrue("\(error)".contains("has record layout \(stale)"), "\(error)")
                XCTAssertTrue("\(error)".contains("this build reads layout 2"), "\(error)")
            }
        }
        writer.storeRecordLayout(FlowRing.layout)
        XCTAssertNoThrow(try FlowRing.openForReading(pinDirectory: t.pinDirectory))
    }

    func testAdoptingARingOfAnotherLayoutDropsItsRecordsAndKeepsTheSequence() throws {
        let t = try TestDatapath()
        defer { t.close() }
        let writer = try FlowRing.openForWriting(pinDirectory: t.pinDirectory)
        for port in UInt16(1)...3 { writer.appendWritten { $0.pointee.dst_port = port } }
        XCTAssertNil(try FlowRing.adopt(pinDirectory: t.pinDirectory), "this build's ring: nothing dropped")
        XCTAssertEqual(writer.read(seq: 2)?.dst_port, 3)

        writer.storeRecordLayout(1)
        XCTAssertEqual(try FlowRing.adopt(pinDirectory: t.pinDirectory), 1)
        let reader = try FlowRing.openForReading(pinDirectory: t.pinDirectory)
        XCTAssertEqual(reader.nextSeq, 3, "sequence numbers go on")
        for seq in UInt64(0)..<3 { XCTAssertNil(reader.read(seq: seq), "record \(seq) of the old layout dropped") }
        writer.append { $0.pointee.dst_port = 9 }
        XCTAssertEqual(reader.read(seq: 3)?.dst_port, 9)

        // A restarted agent (Datapath.open on the same pins) finding an older build's ring.
        writer.storeRecordLayout(0)
        let again = try Datapath.open(objectDirectory: TestDatapath.objectDirectory(), pinDirectory: t.pinDirectory)
        defer { again.close() }
        XCTAssertEqual(writer.recordLayout, FlowRing.layout)
        XCTAssertNil(writer.read(seq: 3))
        XCTAssertEqual(writer.nextSeq, 4)
    }

    func testSlotsAreZeroedAndOverwrittenRecordsAreGone() throws {
        let t = try TestDatapath()
        defer { t.close() }
        let ring = try FlowRing.openForWriting(pinDirectory: t.pinDirectory)
        ring.append {
            $0.pointee.src_port = 99; $0.pointee.l7.http.code = 200
        }
        for _ in 0..<FlowRing.capacity {
            ring.append { $0.pointee.dst_port = 7 }
        }
        XCTAssertNil(ring.read(seq: 0))
        let reused = try XCTUnwrap(ring.read(seq: FlowRing.capacity))
        XCTAssert(reused.src_port == 0 && reused.l7.http.code == 0 && reused.dst_port == 7)
    }

    func testConcurrentWritersGetDistinctSequenceNumbers() async throws {
        let t = try TestDatapath()
        defer { t.close() }
        let ring = try FlowRing.openForWriting(pinDirectory: t.pinDirectory)
        let perTask = Int(FlowRing.capacity) / 4  // every record still in the ring afterwards
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<4 {
                group.addTask {
                    for i in 0..<perTask {
                        ring.append {
                            $0.pointee.src_port = UInt16(task); $0.pointee.dst_port = UInt16(i)
                        }
                    }
                }
            }
        }
        XCTAssertEqual(ring.nextSeq, UInt64(4 * perTask))
        var seen = Set<Int>()
        for seq in UInt64(0)..<ring.nextSeq {
            let flow = try XCTUnwrap(ring.read(seq: seq))
            seen.insert(Int(flow.src_port) * perTask + Int(flow.dst_port))
        }
        XCTAssertEqual(seen.count, 4 * perTask)
    }
}
