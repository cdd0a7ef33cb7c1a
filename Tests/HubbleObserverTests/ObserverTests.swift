import CSluiceShared
import Datapath
import Flows
import SluiceIO
import SluiceTestSupport
import XCTest

@testable import HubbleObserver

final class ObserverTests: XCTestCase {
    final class Recorder: FlowListener {
        var flows: [Flow] = []
        var lost: [LostEvent] = []
        func observe(_ flow: Flow) { flows.append(flow) }
        func observeLost(_ event: LostEvent) { lost.append(event) }
    }

    func testListenersSeeEachFlowAfterTheHistoryAndNamespacesAreRecorded() throws {
        var options = ObserverOptions()
        options.maxFlows = 2
        options.pinDirectory = "/sys/fs/bpf/sluice-none-\(getpid())"
        options.nodeName = "node-a"
        let observer = try Observer(options: options)
        let recorder = Recorder()
        observer.addListener(recorder)
        var flow = FlowHistoryTests.flow(1)
        flow.destination = FlowEndpoint(namespace: "backend", podName: "api")
        observer.ingest(flow, nowNs: 1_000)
        observer.ingest(FlowHistoryTests.flow(2), nowNs: 2_000)
        observer.ingest(FlowHistoryTests.flow(3), nowNs: 3_000)
        observer.ingestLost(4)
        XCTAssertEqual(recorder.flows.map(\.time.seconds), [1, 2, 3])
        XCTAssertEqual(recorder.lost.map(\.count), [4])
        XCTAssertEqual(recorder.lost.first?.nodeName, "node-a")
        XCTAssertEqual(observer.history.entries.map(\.flow.time.seconds), [2, 3])
        XCTAssertEqual(observer.history.seenFlows, 3)
        XCTAssertEqual(observer.history.lostEvents, 4)
        XCTAssertEqual(observer.namespaces.keys.sorted(), ["backend", "default"])
        XCTAssertEqual(observer.namespaces["backend"], 1_000)
        observer.removeListener(recorder)
        observer.ingest(FlowHistoryTests.flow(4))
        XCTAssertEqual(recorder.flows.count, 3)
        observer.pollOnce(nowNs: 1)
        XCTAssertTrue(observer.ringError?.contains("is not pinned") ?? false)
    }

    final class RecordRecorder: FlowListener {
        var seqs: [UInt64] = []
        func observe(_ flow: Flow) { XCTFail("a record listener gets records") }
        var observesRecords: Bool { true }
        func observe(record: FlowRecordRef) { seqs.append(record.seq) }
    }

    func testRecordsAreKeptRawAndDecodedOnlyForListenersThatWantFlows() throws {
        var options = ObserverOptions()
        options.maxFlows = 100
        options.pinDirectory = "/sys/fs/bpf/sluice-none-\(getpid())"
        let observer = try Observer(options: options)
        let records = RecordRecorder()
        observer.addListener(records)
        let raws = RawFlowTests.raws(60)
        for raw in raws.prefix(30) { observer.ingest(raw, nowNs: 1_000) }
        XCTAssertEqual(records.seqs, Array(0..<30))
        let flows = Recorder()
        observer.addListener(flows)
        for raw in raws.dropFirst(30) { observer.ingest(raw, nowNs: 2_000) }
        XCTAssertEqual(records.seqs, Array(0..<60))
        XCTAssertEqual(flows.flows, raws.dropFirst(30).map { $0.decode() })
        XCTAssertEqual(observer.history.entries.map(\.flow), raws.map { $0.decode() })
        // Namespaces as the decoded flows name them.
        let named = Set(
            raws.flatMap { [$0.decode().source?.namespace ?? "", $0.decode().destination?.namespace ?? ""] })
        XCTAssertEqual(Set(observer.namespaces.keys), named.subtracting([""]))
        XCTAssertEqual(Set(observer.namespaces.keys), ["frontend", "backend"])
    }

    /// A listener that, on the record numbered `at`, removes `remove` and adds `add`.
    final class Changer: FlowListener {
        unowned let observer: Observer
        var seqs: [UInt64] = []
        var at: UInt64 = .max
        var remove: FlowListener?
        var add: FlowListener?
        init(_ observer: Observer) { self.observer = observer }
        func observe(_ flow: Flow) { XCTFail("a record listener gets records") }
        var observesRecords: Bool { true }
        func observe(record: FlowRecordRef) {
            seqs.append(record.seq)
            guard record.seq == at else { return }
            if let remove { observer.removeListener(remove) }
            if let add { observer.addListener(add) }
            remove = nil
            add = nil
        }
    }

    func testListenersAddedOrRemovedDuringADeliveryTakeEffectFromTheNextRecord() throws {
        var options = ObserverOptions()
        options.maxFlows = 100
        options.pinDirectory = "/sys/fs/bpf/sluice-none-\(getpid())"
        let observer = try Observer(options: options)
        let changer = Changer(observer)
        var removed: RecordRecorder? = RecordRecorder()
        weak var removedRef = removed
        let added = Recorder()
        changer.at = 2
        changer.add = added
        // The changer comes first: the listener it removes still gets the record being delivered.
        observer.addListener(changer)
        observer.addListener(removed!)
        changer.remove = removed
        removed = nil
        let raws = RawFlowTests.raws(5)
        for raw in raws { observer.ingest(raw, nowNs: 1_000) }
        XCTAssertEqual(changer.seqs, [0, 1, 2, 3, 4])
        // Freed once the record it was removed during had been handed to every listener.
        XCTAssertNil(removedRef)
        // Added during record 2 (a flow listener: records are decoded from then on).
        XCTAssertEqual(added.flows, raws.suffix(2).map { $0.decode() })
        XCTAssertEqual(observer.listenerCount, 2)
        // The changer removes itself: it still gets that record, not the next.
        changer.at = 5
        changer.remove = changer
        for raw in RawFlowTests.raws(7).suffix(2) { observer.ingest(raw, nowNs: 1_000) }
        XCTAssertEqual(changer.seqs, [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(added.flows.count, 4)
        XCTAssertEqual(observer.listenerCount, 1)
    }

    /// A request and its response name their two endpoints the other way round: records of the
    /// pair in either order are one pair (noted once a second), and a record of another pair, or of
    /// the pair in another order past the second, notes its own namespaces.
    func testRecordsOfOnePairInEitherOrderNoteTheirNamespacesAsOnePair() throws {
        var options = ObserverOptions()
        options.pinDirectory = "/sys/fs/bpf/sluice-none-\(getpid())"
        let observer = try Observer(options: options)
        let context = FlowDecodeContext(directory: RecordSamples.directory, seed: "", nodeNameOverride: nil)
        func record(from source: (UInt32, String), to destination: (UInt32, String)) -> RawFlow {
            var r = sluice_flow()
            r.ip_version = 4
            r.src_endpoint = source.0
            r.dst_endpoint = destination.0
            withUnsafeMutableBytes(of: &r.src_ip) { $0.storeBytes(of: RecordSamples.ip(source.1), as: UInt32.self) }
            withUnsafeMutableBytes(of: &r.dst_ip) {
                $0.storeBytes(of: RecordSamples.ip(destination.1), as: UInt32.self)
            }
            return RawFlow(record: r, seq: 0, wallOffsetNs: 0, context: context)
        }
        let client = (UInt32(11), "10.244.1.10"), server = (UInt32(12), "10.244.2.20")
        let world = (UInt32(0), "93.184.216.34")
        let second: UInt64 = 1_000_000_000
        observer.ingest(record(from: client, to: server), nowNs: 10 * second)
        observer.ingest(record(from: server, to: client), nowNs: 10 * second + 1)
        XCTAssertEqual(observer.namespaces, ["frontend": 10 * second, "backend": 10 * second])
        // The response's order within the pair's second: not noted again.
        observer.ingest(record(from: server, to: client), nowNs: 10 * second + 900_000_000)
        XCTAssertEqual(observer.namespaces, ["frontend": 10 * second, "backend": 10 * second])
        // Past the second, either order notes both.
        observer.ingest(record(from: server, to: client), nowNs: 12 * second)
        XCTAssertEqual(observer.namespaces, ["frontend": 12 * second, "backend": 12 * second])
        observer.ingest(record(from: client, to: server), nowNs: 14 * second)
        XCTAssertEqual(observer.namespaces, ["frontend": 14 * second, "backend": 14 * second])
        // Another pair (the server and a peer outside the node) notes the server alone at once.
        observer.ingest(record(from: world, to: server), nowNs: 14 * second + 5)
        XCTAssertEqual(observer.namespaces, ["frontend": 14 * second, "backend": 14 * second + 5])
        observer.ingest(record(from: client, to: world), nowNs: 14 * second + 6)
        XCTAssertEqual(observer.namespaces, ["frontend": 14 * second + 6, "backend": 14 * second + 5])
        XCTAssertEqual(
            Observer.RecentEndpoints(sourceID: 12, destinationID: 11, sourceIPv4: 1, destinationIPv4: 2).unordered,
            Observer.RecentEndpoints(sourceID: 11, destinationID: 12, sourceIPv4: 2, destinationIPv4: 1))
        XCTAssertEqual(
            Observer.RecentEndpoints(sourceID: 0, destinationID: 0, sourceIPv4: 9, destinationIPv4: 3).unordered,
            Observer.RecentEndpoints(sourceID: 0, destinationID: 0, sourceIPv4: 3, destinationIPv4: 9))
    }

    func testNamespacesNotSeenForAnHourAreForgottenAsHubbleDoes() throws {
        var options = ObserverOptions()
        options.pinDirectory = "/sys/fs/bpf/sluice-none-\(getpid())"
        let observer = try Observer(options: options)
        XCTAssertEqual(observer.namespaceTTLNs, 3_600_000_000_000)
        let second: UInt64 = 1_000_000_000
        var old = FlowHistoryTests.flow(1)
        old.source = FlowEndpoint(namespace: "old", podName: "a")
        old.destination = FlowEndpoint(namespace: "kept", podName: "b")
        observer.ingest(old, nowNs: 10 * second)
        var recent = FlowHistoryTests.flow(2)
        recent.source = FlowEndpoint(namespace: "kept", podName: "b")
        recent.destination = nil
        // within a second of the same pair: not noted again (the cheap path) ...
        observer.ingest(old, nowNs: 10 * second + 500_000_000)
        XCTAssertEqual(observer.namespaces["old"], 10 * second)
        // ... another pair is
        observer.ingest(recent, nowNs: 1_800 * second)
        XCTAssertEqual(observer.namespaces["kept"], 1_800 * second)
        // 59 min 59 s after "old" was last seen it is kept, at one hour it is gone
        observer.expireNamespaces(nowNs: 3_609 * second)
        XCTAssertEqual(observer.namespaces.keys.sorted(), ["kept", "old"])
        observer.expireNamespaces(nowNs: 3_610 * second)
        XCTAssertEqual(observer.namespaces.keys.sorted(), ["kept"])
        // a flow of a forgotten namespace brings it back at once, even within the pair's second
        observer.ingest(old, nowNs: 3_610 * second + 1)
        XCTAssertEqual(observer.namespaces.keys.sorted(), ["kept", "old"])
        // the poll expires too (every 30 s): both were noted at 3610 s + 1 ns, gone an hour later
        observer.pollOnce(nowNs: 3_610 * second + 3_600 * second)
        XCTAssertEqual(observer.namespaces.keys.sorted(), ["kept", "old"])
        observer.pollOnce(nowNs: 3_610 * second + 1 + 3_600 * second)
        XCTAssertEqual(observer.namespaces.keys.sorted(), ["kept", "old"], "the last expiry was less than 30 s ago")
        observer.pollOnce(nowNs: 3_640 * second + 1 + 3_600 * second)
        XCTAssertEqual(observer.namespaces.keys.sorted(), [])
        // a namespace noted after the loop read its time is not taken for an hour old
        observer.ingest(old, nowNs: 9_000 * second)
        observer.expireNamespaces(nowNs: 8_999 * second)
        XCTAssertEqual(observer.namespaces.keys.sorted(), ["kept", "old"])
    }

    func testThePollTimerMovesRecordsFromTheRingIntoTheHistory() throws {
        let t = try TestRing()
        defer { t.close() }
        let observer = try Self.observer(on: t)
        let recorder = Recorder()
        observer.addListener(recorder)
        t.appendTCP(srcPort: 4000)
        observer.start()
        let deadline = SystemClock.monotonicNs() + 5_000_000_000
        while recorder.flows.isEmpty && SystemClock.monotonicNs() < deadline {
            observer.loop.runOnce(timeoutMs: 50)
        }
        XCTAssertEqual(recorder.flows.map { $0.l4?.sourcePort }, [4000])
        XCTAssertEqual(observer.history.count, 1)
        XCTAssertNil(observer.ringError)
        XCTAssertEqual(observer.nodeName, "sluice-node")
    }

    /// A poll that brought an eighth of the ring or more is followed by the next one a quarter
    /// interval later (the ring would overwrite records before a full interval's poll read them);
    /// a quieter one by a full interval. The poll returns how many records it handed on.
    func testABusyPollIsFollowedSooner() throws {
        let t = try TestRing()
        defer { t.close() }
        let observer = try Self.observer(on: t)
        let interval = UInt64(observer.options.pollIntervalMs) * 1_000_000
        let busy = Int(FlowRing.capacity / 8)
        for i in 0..<busy { t.appendTCP(srcPort: UInt16(1000 + i)) }
        XCTAssertEqual(observer.pollOnce(nowNs: SystemClock.monotonicNs()), busy)
        XCTAssertEqual(observer.nextPollDelayNs(handled: busy), interval / 4)
        for i in 0..<(busy - 1) { t.appendTCP(srcPort: UInt16(1000 + i)) }
        XCTAssertEqual(observer.pollOnce(nowNs: SystemClock.monotonicNs()), busy - 1)
        XCTAssertEqual(observer.nextPollDelayNs(handled: busy - 1), interval)
        XCTAssertEqual(observer.pollOnce(nowNs: SystemClock.monotonicNs()), 0)
        XCTAssertEqual(observer.nextPollDelayNs(handled: 0), interval)
    }
}

extension ObserverTests {
    /// An observer reading `ring`'s pinned maps, with no state directory; `adjust` changes other options.
    static func observer(on ring: TestRing, _ adjust: (inout ObserverOptions) -> Void = { _ in }) throws -> Observer {
        var options = ObserverOptions()
        options.pinDirectory = ring.pinDirectory
        options.stateDirectory = "/nonexistent"
        adjust(&options)
        return try Observer(options: options)
    }

    /// Records of every kind written into a real ring as the proxy writes them (stale bytes past
    /// their lengths) reach the history and the record listeners as the whole records decode,
    /// with lost events in their place, through polls smaller and larger than the history.
    func testRecordsPolledFromTheRingDecodeAsWrittenAndLossesComeInOrder() throws {
        let t = try TestRing()
        defer { t.close() }
        let observer = try Self.observer(on: t) { $0.maxFlows = 50 }
        final class Listener: FlowListener {
            var events: [String] = []
            var flows: [Flow] = []
            func observe(_ flow: Flow) { XCTFail("a record listener gets records") }
            var observesRecords: Bool { true }
            func observe(record: FlowRecordRef) {
                events.append("r\(record.seq)")
                flows.append(record.decode())
            }
            func observeLost(_ event: LostEvent) { events.append("lost \(event.count)") }
        }
        let listener = Listener()
        observer.addListener(listener)
        observer.pollOnce(nowNs: SystemClock.monotonicNs())
        let samples = RecordSamples.make(count: 300, seed: 21)
        func write(_ rec: sluice_flow) {
            t.writer.appendWritten { slot in
                withUnsafePointer(to: rec) {
                    (UnsafeMutableRawPointer(slot) + 8).copyMemory(
                        from: UnsafeRawPointer($0) + 8, byteCount: MemoryLayout<sluice_flow>.size - 8)
                }
            }
        }
        for rec in samples[0..<120] { write(rec) }
        observer.pollOnce(nowNs: SystemClock.monotonicNs())
        for rec in samples[120..<130] { write(rec) }
        observer.pollOnce(nowNs: SystemClock.monotonicNs())
        XCTAssertEqual(listener.events, (0..<130).map { "r\($0)" })
        let context = FlowDecodeContext(
            directory: EndpointDirectory(), seed: FlowRing.uuidSeed(pinDirectory: t.pinDirectory), nodeNameOverride: nil
        )
        func expected(_ i: Int, time: Flow.Timestamp) -> Flow {
            var flow = context.decode(samples[i], seq: UInt64(i), wallOffsetNs: 0)
            flow.time = time
            return flow
        }
        XCTAssertEqual(listener.flows, listener.flows.enumerated().map { expected($0.offset, time: $0.element.time) })
        let kept = observer.history.entries.map(\.flow)
        XCTAssertEqual(kept, Array(listener.flows.suffix(50)))
        // A reader that falls more than the ring behind hears of the loss before the next record.
        for i in 0..<(Int(FlowRing.capacity) + 7) { write(samples[i % samples.count]) }
        listener.events = []
        observer.pollOnce(nowNs: SystemClock.monotonicNs())
        XCTAssertEqual(listener.events.first, "lost 7")
        XCTAssertEqual(listener.events.count, Int(FlowRing.capacity) + 1)
        XCTAssertEqual(listener.events.last, "r\(130 + Int(FlowRing.capacity) + 6)")
        XCTAssertEqual(observer.history.lostEvents, 7)
        XCTAssertEqual(observer.history.count, 50)
    }

    /// A poll that handed on records tells each listener once, after its last record; an empty
    /// poll tells nobody; a record ingested alone is a poll of its own.
    func testListenersHearOncePerPollThatItsRecordsAreHandedOn() throws {
        let t = try TestRing()
        defer { t.close() }
        let observer = try Self.observer(on: t)
        final class Listener: FlowListener {
            var events: [String] = []
            func observe(_ flow: Flow) { events.append("flow") }
            var observesRecords: Bool { true }
            func observe(record: FlowRecordRef) { events.append("r\(record.seq)") }
            func pollEnded() { events.append("end") }
        }
        let listener = Listener()
        let decoding = Recorder()
        observer.addListener(listener)
        observer.addListener(decoding)
        observer.pollOnce(nowNs: SystemClock.monotonicNs())
        for i in 0..<3 { t.appendTCP(srcPort: UInt16(2000 + i)) }
        XCTAssertEqual(observer.pollOnce(nowNs: SystemClock.monotonicNs()), 3)
        XCTAssertEqual(observer.pollOnce(nowNs: SystemClock.monotonicNs()), 0)
        XCTAssertEqual(listener.events, ["r0", "r1", "r2", "end"])
        XCTAssertEqual(decoding.flows.count, 3, "listeners without pollEnded keep the default")
        let raw = RawFlow(
            record: sluice_flow(), seq: 9, wallOffsetNs: 0,
            context: FlowDecodeContext(
                directory: EndpointDirectory(), seed: "", nodeNameOverride: nil))
        observer.ingest(raw)
        XCTAssertEqual(listener.events.suffix(2), ["r9", "end"])
    }

    final class CountingService: ObserverService {
        var started = 0
        func start(observer: Observer) throws { started += 1 }
    }

    func testHostedServicesAreStartedAndKeptAlive() throws {
        var options = ObserverOptions()
        options.pinDirectory = "/sys/fs/bpf/sluice-none-\(getpid())"
        let observer = try Observer(options: options)
        weak var weakService: CountingService?
        do {
            let service = CountingService()
            weakService = service
            try observer.host(service)
        }
        XCTAssertEqual(weakService?.started, 1, "started once, and still alive with nothing else holding it")
        XCTAssertEqual(observer.services.count, 1)
        observer.keep(try XCTUnwrap(weakService))
        XCTAssertEqual(observer.services.count, 1, "kept once")
        do {
            let grpc = GRPCService()
            var o = ObserverOptions()
            o.grpcAddress = ListenAddress(host: .init(127, 0, 0, 1), port: 0)
            o.pinDirectory = options.pinDirectory
            let other = try Observer(options: o)
            try grpc.start(observer: other)
            XCTAssertTrue(other.services.first === grpc, "the gRPC service keeps itself with its observer")
        }
    }
}
