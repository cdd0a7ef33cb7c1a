import Flows
import SluiceIO
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
        observer.ingest(flow)
        observer.ingest(FlowHistoryTests.flow(2))
        observer.ingest(FlowHistoryTests.flow(3))
        observer.ingestLost(4)
        XCTAssertEqual(recorder.flows.map(\.time.seconds), [1, 2, 3])
        XCTAssertEqual(recorder.lost.map(\.count), [4])
        XCTAssertEqual(recorder.lost.first?.nodeName, "node-a")
        XCTAssertEqual(observer.history.entries.map(\.flow.time.seconds), [2, 3])
        XCTAssertEqual(observer.history.seenFlows, 3)
        XCTAssertEqual(observer.history.lostEvents, 4)
        XCTAssertEqual(observer.namespaces.keys.sorted(), ["backend", "default"])
        XCTAssertEqual(observer.namespaces["backend"]?.seconds, 1)
        observer.removeListener(recorder)
        observer.ingest(FlowHistoryTests.flow(4))
        XCTAssertEqual(recorder.flows.count, 3)
        observer.pollOnce(nowNs: 1)
        XCTAssertTrue(observer.ringError?.contains("is not pinned") ?? false)
    }

    func testThePollTimerMovesRecordsFromTheRingIntoTheHistory() throws {
        let t = try TestRing()
        defer { t.close() }
        var options = ObserverOptions()
        options.pinDirectory = t.pinDirectory
        options.stateDirectory = "/nonexistent"
        let observer = try Observer(options: options)
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
}

extension ObserverTests {
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
