import Datapath
import Flows
import SluiceIO
import XCTest

@testable import HubbleObserver

final class FlowRingReaderTests: XCTestCase {
    func testWaitsForThePinThenReadsEveryRecordWithObservesUUIDs() throws {
        let missing = FlowRingReader(
            pinDirectory: "/sys/fs/bpf/sluice-none-\(getpid())", stateDirectory: "/nonexistent",
            nodeName: nil)
        var history = FlowHistory(capacity: 8)
        missing.poll(nowNs: 1, into: &history) { _ in XCTFail("no ring, no events") }
        XCTAssertFalse(missing.isOpen)
        XCTAssertTrue(missing.openError?.contains("is not pinned") ?? false)
        XCTAssertEqual(missing.nodeName, "sluice-node")

        let t = try TestRing()
        defer { t.close() }
        t.appendTCP(srcPort: 1000)
        t.appendTCP(srcPort: 1001, verdict: 2)
        let reader = FlowRingReader(pinDirectory: t.pinDirectory, stateDirectory: "/nonexistent", nodeName: "node-a")
        var flows: [Flow] = []
        reader.poll(nowNs: SystemClock.monotonicNs(), into: &history) {
            if case .record(let r) = $0 { flows.append(r.decode()) }
        }
        XCTAssertEqual(flows.map { $0.l4?.sourcePort }, [1000, 1001])
        XCTAssertEqual(flows.map(\.verdict), [.forwarded, .dropped])
        XCTAssertEqual(flows.map(\.nodeName), ["node-a", "node-a"])
        XCTAssertEqual(flows.first?.ip?.source, "10.244.1.11")
        let seed = FlowRing.uuidSeed(pinDirectory: t.pinDirectory)
        XCTAssertEqual(flows.map(\.uuid), [FlowUUID.make(seed: seed, seq: 0), FlowUUID.make(seed: seed, seq: 1)])
        XCTAssertEqual(flows.first?.emitter, .sluice)

        t.appendTCP(srcPort: 1002)
        flows = []
        reader.poll(nowNs: SystemClock.monotonicNs(), into: &history) {
            if case .record(let r) = $0 { flows.append(r.decode()) }
        }
        XCTAssertEqual(flows.map { $0.l4?.sourcePort }, [1002], "only what came since the last poll")
    }

    func testAReaderThatFellBehindHearsHowManyWereLost() throws {
        let t = try TestRing()
        defer { t.close() }
        let reader = FlowRingReader(pinDirectory: t.pinDirectory, stateDirectory: "/nonexistent", nodeName: nil)
        var history = FlowHistory(capacity: 100)
        reader.poll(nowNs: SystemClock.monotonicNs(), into: &history) { _ in }
        XCTAssertTrue(reader.isOpen)
        let extra: UInt64 = 5
        for i in 0..<(FlowRing.capacity + extra) { t.appendTCP(srcPort: UInt16(truncatingIfNeeded: i)) }
        var lost: UInt64 = 0
        var flows = 0
        reader.poll(nowNs: SystemClock.monotonicNs(), into: &history, limit: 1 << 30) {
            switch $0 {
            case .record: flows += 1
            case .lost(let n): lost += n
            case .idle: XCTFail("poll hands on no idle")
            }
        }
        XCTAssertEqual(lost, extra)
        XCTAssertEqual(UInt64(flows), FlowRing.capacity)
    }
}
