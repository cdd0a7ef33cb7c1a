import CLibbpf
import CSluiceShared
import XCTest

@testable import Datapath

/// A reader that falls behind the flow ring is told how many records it lost (hubble's
/// HUBBLE_RING_BUFFER lost events) and goes on with the oldest record still kept; the writers
/// (here the tc program, run with BPF_PROG_RUN) never wait for it.
final class FlowCursorTests: XCTestCase {
    /// Runs `sluice_tc_endpoint` `times` times on one packet in a single BPF_PROG_RUN call.
    private func runFromPod(_ t: TestDatapath, _ packet: [UInt8], ingressIfindex: UInt32, times: UInt32) throws
        -> UInt32
    {
        var ctxIn = __sk_buff()
        ctxIn.ingress_ifindex = ingressIfindex
        return try TestDatapath.runSKB(
            t.datapath.tcProgramFD, packet, ctxIn, "bpf_prog_test_run tc (repeat)", repeat: times
        ).verdict
    }

    /// 5,000 drops in one run overflow the 4,096-record ring under a reader still at record 0:
    /// it learns that 904 were lost, then reads the 4,096 kept ones in order, then is idle.
    func testAReaderThatFellBehindIsToldHowManyItLost() throws {
        try PolicyHarness.with(PolicyHarness.denyAll) { h in
            let ring = try FlowRing.openForReading(pinDirectory: h.t.pinDirectory)
            defer { ring.close() }
            var cursor = FlowCursor(seq: ring.nextSeq)
            XCTAssertEqual(cursor.seq, 0)
            let packet = Packets.ipv4(
                src: Fixture.podA, dst: Fixture.podB, proto: Fixture.tcp,
                l4: Packets.tcp(sport: 40000, dport: 80, flags: UInt8(SLUICE_TCP_SYN)))
            let total: UInt32 = 5000
            XCTAssertEqual(try runFromPod(h.t, packet, ingressIfindex: h.ifindexA, times: total), TC.shot)
            XCTAssertEqual(ring.nextSeq, UInt64(total))
            guard case .overwritten = ring.slot(seq: 0) else { return XCTFail("record 0 is overwritten") }
            guard case .pending = ring.slot(seq: UInt64(total)) else { return XCTFail("record 5000 is not written") }

            guard case .lost(let lost) = cursor.next(in: ring, nowNs: 0) else { return XCTFail("a lost event first") }
            XCTAssertEqual(lost, UInt64(total) - FlowRing.capacity)
            var seqs: [UInt64] = []
            reading: while true {
                switch cursor.next(in: ring, nowNs: 0) {
                case .record(let seq, let rec):
                    XCTAssertEqual(rec.event_type, UInt8(SLUICE_EVENT_DROP.rawValue))
                    seqs.append(seq)
                case .lost(let count):
                    XCTFail("\(count) more lost while nothing was written")
                case .idle:
                    break reading
                }
            }
            XCTAssertEqual(seqs, Array((UInt64(total) - FlowRing.capacity)..<UInt64(total)))
        }
    }

    /// A cursor that read part of what the ring had (the head it read is kept) and then fell more
    /// than a lap behind learns the whole loss at once and goes on with the oldest kept record,
    /// as a cursor reading the head per record did.
    func testACursorWithAnOlderHeadThatFellBehindSkipsTheLostRecordsAtOnce() throws {
        let t = try TestDatapath()
        defer { t.close() }
        let writer = try FlowRing.openForWriting(pinDirectory: t.pinDirectory)
        let reader = try FlowRing.openForReading(pinDirectory: t.pinDirectory)
        for i in 0..<10 { writer.append { $0.pointee.dst_port = UInt16(i) } }
        var cursor = FlowCursor(seq: 0)
        for i in 0..<5 {
            guard case .record(let seq, let rec) = cursor.next(in: reader, nowNs: 0) else { return XCTFail("record") }
            XCTAssertEqual(seq, UInt64(i))
            XCTAssertEqual(rec.dst_port, UInt16(i))
        }
        let more = Int(FlowRing.capacity) + 20
        for i in 10..<(10 + more) { writer.append { $0.pointee.dst_port = UInt16(truncatingIfNeeded: i) } }
        let head = UInt64(10 + more)
        guard case .lost(let lost) = cursor.next(in: reader, nowNs: 0) else { return XCTFail("the loss first") }
        XCTAssertEqual(lost, head - FlowRing.capacity - 5)
        var seqs: [UInt64] = []
        reading: while true {
            switch cursor.next(in: reader, nowNs: 0) {
            case .record(let seq, let rec):
                XCTAssertEqual(rec.dst_port, UInt16(truncatingIfNeeded: seq))
                seqs.append(seq)
            case .lost(let count): XCTFail("\(count) more lost")
            case .idle: break reading
            }
        }
        XCTAssertEqual(seqs, Array((head - FlowRing.capacity)..<head))
    }

    /// A record still being written makes the reader wait, and counts as lost only after the
    /// cursor's timeout (its writer died between taking the number and publishing it).
    func testAHalfWrittenRecordIsWaitedForThenCountedLost() throws {
        let t = try TestDatapath()
        defer { t.close() }
        let writer = try FlowRing.openForWriting(pinDirectory: t.pinDirectory)
        let reader = try FlowRing.openForReading(pinDirectory: t.pinDirectory)
        var cursor = FlowCursor(seq: 0, pendingTimeoutNs: 1_000)
        var during: [String] = []
        writer.append { _ in
            for now: UInt64 in [10, 500, 1_010] {
                switch cursor.next(in: reader, nowNs: now) {
                case .idle: during.append("idle")
                case .lost(let count): during.append("lost \(count)")
                case .record: during.append("record")
                }
            }
        }
        XCTAssertEqual(during, ["idle", "idle", "lost 1"])
        XCTAssertEqual(cursor.seq, 1)

        var fresh = FlowCursor(seq: 1)
        writer.append { $0.pointee.dst_port = 7 }
        guard case .record(let seq, let rec) = fresh.next(in: reader, nowNs: 0) else { return XCTFail("record 1") }
        XCTAssertEqual(seq, 1)
        XCTAssertEqual(rec.dst_port, 7)
        guard case .idle = fresh.next(in: reader, nowNs: 0) else { return XCTFail("caught up") }
    }
}
