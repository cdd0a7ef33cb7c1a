import DNS
import Flows
import Foundation
import Glibc
import Policy
import PolicyYAML
import SluiceIO
import SluiceModel
import XCTest

@testable import Agent
@testable import Proxy

/// One DNS proxy worker on loopback: a real loop and UDP listener, queries from a test socket,
/// allowed queries sent to a `DNSFakeUpstream` (the upstream override stands in for the original
/// destination, which is the listener itself here). No BPF. The loop's time is a `ManualClock`:
/// forward timeouts and answer-gate delays pass only when the test calls `advance(by:)`.
final class DNSProxyHarness: ManualLoopDriver {
    static let clientID: UInt32 = 7
    static let dnsID: UInt32 = 1
    static let endpoints = [
        EndpointDescriptor(
            id: dnsID, namespace: "kube-system", podName: "kube-dns", podLabels: ["k8s-app": "kube-dns"],
            ipv4: UInt32(bigEndian: 0x0A01_000A)),
        EndpointDescriptor(
            id: clientID, namespace: "default", podName: "client", podLabels: ["app": "client"],
            ipv4: UInt32(bigEndian: 0x0A00_0007)),
    ]

    let upstream = DNSFakeUpstream()
    let sink = DNSTestFlowSink()
    let clock = ManualClock()
    let loop: EventLoop
    let worker: DNSWorker
    let port: UInt16
    let client: Int32
    private let thread: WorkerThread

    /// A CNP letting app=client query kube-dns on `port`/`proto` for names matching `patterns`.
    static func yaml(port: UInt16, proto: String = "UDP", patterns: [String]) -> String {
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: client-dns, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: client}}
          egress:
          - toEndpoints:
            - matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s-app: kube-dns}
            toPorts:
            - ports: [{port: "\(port)", protocol: \(proto)}]
              rules:
                dns:
        \(patterns.map { "          - matchPattern: \"\($0)\"" }.joined(separator: "\n"))

        """
    }

    init(
        patterns: [String] = ["*.allowed.test", "silent.test"], config: DNSProxyConfig = DNSProxyConfig(),
        service: FQDNService? = nil, steered: Bool = true, tcpUpstreamPort: UInt16? = nil
    ) throws {
        let tcp = tcpUpstreamPort != nil
        let fd =
            tcp
            ? try Socket.listenTCP(address: DNSTest.loopback, port: 0, transparent: true, reusePort: true)
            : try DNSSocket.listenUDP(address: DNSTest.loopback, port: 0)
        port = DNSTest.port(of: fd)
        let repository = PolicyRepository()
        try repository.apply(
            yamlText: Self.yaml(port: port, proto: tcp ? "TCP" : "UDP", patterns: patterns),
            fileName: "dns.yaml")
        var allocator = IdentityAllocator()
        let snapshot = repository.compile(endpoints: Self.endpoints, allocator: &allocator)
        let steer = SteerInfo(
            endpointID: Self.clientID, sourceIdentity: snapshot.identity(ofEndpoint: Self.clientID) ?? 0,
            destinationIdentity: snapshot.identity(ofEndpoint: Self.dnsID) ?? 0, direction: .egress)
        loop = try EventLoop(clock: clock)
        let ctx = WorkerContext(
            loop: loop, config: ProxyConfig(workers: 1), steering: DNSTestSteering(steered ? steer : nil),
            flows: sink, snapshot: snapshot)
        var config = config
        config.upstreamOverride = DNSEndpointAddress(address: DNSTest.loopback, port: tcpUpstreamPort ?? upstream.port)
        worker = DNSWorker(ctx: ctx, config: config, service: service)
        try worker.start(udpFD: tcp ? -1 : fd, tcpFD: tcp ? fd : -1)
        let loop = self.loop
        thread = WorkerThread(name: "test-loop") { loop.run() }
        try thread.start()
        client = DNSTest.udpSocket()
    }

    deinit {
        loop.stop()
        thread.join()
        upstream.stop()
        close(client)
    }

    /// Sends `bytes` to the proxy and waits for one answer.
    func ask(_ bytes: [UInt8]) -> [UInt8]? {
        DNSTest.send(client, bytes, port: port)
        return DNSTest.receive(client)?.bytes
    }

    /// The forwarder's queued deadlines, read on the loop thread (nil without a forwarder).
    func queuedDeadlines() -> Int? {
        let worker = self.worker
        return onLoop { worker.forwarder?.queuedDeadlines }
    }

    /// Reads the worker's counters on its loop thread.
    func counters() -> DNSCounters {
        let worker = self.worker
        return onLoop { worker.counters }
    }
}

final class DNSUDPProxyTests: XCTestCase {
    private func parse(_ bytes: [UInt8]?) throws -> DNSMessage {
        let bytes = try XCTUnwrap(bytes, "no answer")
        return try bytes.withUnsafeBytes { try DNSParser.parse($0) }
    }

    func testAllowedQueryIsForwardedWithFreshIDAndAnsweredWithTheOriginal() throws {
        let h = try DNSProxyHarness()
        let answer = try parse(h.ask(DNSTest.query("www.allowed.test.", id: 0x4242)))
        XCTAssertEqual(answer.header.id, 0x4242)
        XCTAssertEqual(answer.rcode, .noError)
        XCTAssertEqual(answer.answers.first?.rdata, .a(IPv4Address(192, 0, 2, 1)))
        XCTAssertEqual(h.upstream.receivedIDs.count, 1)
        XCTAssertNotEqual(h.upstream.receivedIDs.first, 0x4242, "the upstream must see a fresh ID")

        let flows = h.sink.waitForFlows(2)
        XCTAssertEqual(flows.count, 2)
        XCTAssertEqual(flows.first?.verdict, .forwarded)
        XCTAssertEqual(flows.first?.isReply, false)
        XCTAssertEqual(flows.last?.isReply, true)
        XCTAssertEqual(flows.last?.trafficDirection, .egress)
    }

    func testDeniedQueryIsRefusedWithOneDroppedFlow() throws {
        let h = try DNSProxyHarness()
        let answer = try parse(h.ask(DNSTest.query("www.other.test.", id: 7)))
        XCTAssertEqual(answer.header.id, 7)
        XCTAssertEqual(answer.rcode, .refused)
        XCTAssertEqual(answer.questions.first?.name.lowercasedText, "www.other.test.")
        XCTAssertTrue(h.upstream.receivedIDs.isEmpty)
        h.drain()  // the round that answered has ended: every flow of this query is written
        let flows = h.sink.flows
        XCTAssertEqual(flows.count, 1)
        XCTAssertEqual(flows.first?.verdict, .dropped)
        XCTAssertEqual(h.counters().rejected, 1)
    }

    func testNameErrorRejectMode() throws {
        let h = try DNSProxyHarness(config: DNSProxyConfig(rejectResponseCode: .nameError))
        XCTAssertEqual(try parse(h.ask(DNSTest.query("x.other.test.", id: 9))).rcode, .nxDomain)
    }

    func testMatchingIsCaseInsensitive() throws {
        let h = try DNSProxyHarness()
        XCTAssertEqual(try parse(h.ask(DNSTest.query("WWW.Allowed.TEST.", id: 3))).rcode, .noError)
    }

    func testMalformedQueryGetsFormErrAndShortGarbageIsDropped() throws {
        let h = try DNSProxyHarness()
        // A header claiming one question that is not there.
        let bad: [UInt8] = [0xAB, 0xCD, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0]
        let answer = try parse(h.ask(bad))
        XCTAssertEqual(answer.header.id, 0xABCD)
        XCTAssertEqual(answer.rcode, .formErr)
        DNSTest.send(h.client, [1, 2, 3], port: h.port)
        h.drain()  // the listener has read it; an answer would be waiting now
        XCTAssertTrue(DNSTest.nothingToRead(h.client), "fewer than 12 bytes get no answer")
        XCTAssertEqual(h.counters().formatErrors, 1)
        XCTAssertEqual(h.counters().ignored, 1)
        XCTAssertTrue(h.sink.flows.isEmpty, "malformed queries write no flow")
        XCTAssertEqual(try parse(h.ask(DNSTest.query("a.allowed.test.", id: 5))).rcode, .noError)
    }

    func testUpstreamSilenceGivesNoAnswerAndIsCounted() throws {
        let h = try DNSProxyHarness(config: DNSProxyConfig(forwardTimeoutNs: 200_000_000))
        let start = h.timers().now
        DNSTest.send(h.client, DNSTest.query("silent.test.", id: 11), port: h.port)
        XCTAssertTrue(eventually { h.upstream.receivedIDs.count == 1 }, "forwarded")
        XCTAssertEqual(h.timers().next, start + 200_000_000, "the query's deadline")
        h.advance(by: 200_000_000 - 1)
        XCTAssertEqual(h.counters().timeouts, 0, "still pending 1 ns before the timeout")
        h.advance(by: 1)
        XCTAssertEqual(h.counters().timeouts, 1)
        XCTAssertEqual(h.counters().serverFailures, 0)
        XCTAssertNil(h.timers().next, "nothing left to time out")
        // Only the request flow: no response flow on timeout (Cilium writes none), and no answer.
        XCTAssertEqual(h.sink.flows.count, 1)
        XCTAssertTrue(DNSTest.nothingToRead(h.client), "a timed-out query gets no answer")
    }

    func testUnsteeredDatagramIsDroppedWithAPolicyDrop() throws {
        let h = try DNSProxyHarness(steered: false)
        DNSTest.send(h.client, DNSTest.query("www.allowed.test.", id: 12), port: h.port)
        let flows = h.sink.waitForFlows(1)
        XCTAssertEqual(flows.first?.verdict, .dropped)
        XCTAssertEqual(h.counters().dropped, 1)
        XCTAssertTrue(h.upstream.receivedIDs.isEmpty)
    }

    func testAnUnansweredQueryDoesNotHoldBackOthers() throws {
        let h = try DNSProxyHarness()
        for i in 0..<20 {
            DNSTest.send(h.client, DNSTest.query("silent.test.", id: UInt16(1000 + i)), port: h.port)
        }
        // The loop's time stands still: the silent queries can neither be answered nor time
        // out, so an answer here was not held back behind them.
        let answer = try parse(h.ask(DNSTest.query("after.allowed.test.", id: 77)))
        XCTAssertEqual(answer.header.id, 77)
        XCTAssertEqual(answer.rcode, .noError)
        XCTAssertEqual(h.counters().timeouts, 0, "the silent ones are still pending, not given up")
        XCTAssertTrue(eventually { h.upstream.receivedIDs.count == 21 }, "all 21 were forwarded")
    }

    func testManyQueriesInFlightAreAllAnswered() throws {
        let h = try DNSProxyHarness()
        for i in 0..<200 {
            DNSTest.send(h.client, DNSTest.query("n\(i).allowed.test.", id: UInt16(i)), port: h.port)
        }
        var ids = Set<UInt16>()
        while let reply = DNSTest.receive(h.client), ids.count < 200 {
            if let id = reply.bytes.withUnsafeBytes({ DNSWire.id(of: $0) }) { ids.insert(id) }
            if ids.count == 200 { break }
        }
        XCTAssertEqual(ids, Set((0..<200).map { UInt16($0) }))
    }

    /// More queries than one recvmmsg batch takes, mixed allowed and denied and sent as one
    /// burst: each gets exactly its own answer, denied ones REFUSED with their question, and the
    /// counters add up (nothing lost at batch boundaries).
    func testABurstAcrossBatchesIsAnsweredQueryByQuery() throws {
        let h = try DNSProxyHarness()
        let total = DNSUDPListener.batchSize * 5 + 3
        for i in 0..<total {
            let name = i % 2 == 0 ? "b\(i).allowed.test." : "B\(i).Other.test."
            DNSTest.send(h.client, DNSTest.query(name, id: UInt16(1000 + i)), port: h.port)
        }
        var refused = Set<UInt16>(), answered = Set<UInt16>()
        while refused.count + answered.count < total, let reply = DNSTest.receive(h.client) {
            let message = try parse(reply.bytes)
            let i = Int(message.header.id) - 1000
            XCTAssertTrue((0..<total).contains(i), "unexpected id \(message.header.id)")
            if message.rcode == .refused {
                XCTAssertEqual(
                    message.questions.first?.name.text, "B\(i).Other.test.", "the query's own question, case kept")
                refused.insert(message.header.id)
            } else {
                answered.insert(message.header.id)
            }
        }
        XCTAssertEqual(refused, Set((0..<total).filter { $0 % 2 == 1 }.map { UInt16(1000 + $0) }))
        XCTAssertEqual(answered, Set((0..<total).filter { $0 % 2 == 0 }.map { UInt16(1000 + $0) }))
        XCTAssertEqual(h.counters().queries, total)
        XCTAssertEqual(h.counters().rejected, total / 2)
    }

    /// Answered queries do not keep their deadlines until the forward timeout: the queue stays
    /// near the queries in flight (it used to hold one entry per query of the last 10 s).
    func testDeadlinesOfAnsweredQueriesAreDropped() throws {
        let h = try DNSProxyHarness()
        // Five queries the upstream never answers: their deadlines must survive every compaction.
        for i in 0..<5 {
            DNSTest.send(h.client, DNSTest.query("silent.test.", id: UInt16(60000 + i)), port: h.port)
        }
        XCTAssertTrue(eventually { h.upstream.receivedIDs.count == 5 })
        let rounds = 3 * DNSForwarder.deadlineSlack / 50
        let total = rounds * 50
        var answered = 0
        for round in 0..<rounds {
            for i in 0..<50 {
                DNSTest.send(
                    h.client, DNSTest.query("d\(round * 50 + i).allowed.test.", id: UInt16(round * 50 + i)),
                    port: h.port)
            }
            for _ in 0..<50 where DNSTest.receive(h.client) != nil { answered += 1 }
        }
        XCTAssertEqual(answered, total)
        XCTAssertEqual(h.counters().timeouts, 0)
        let queued = try XCTUnwrap(h.queuedDeadlines(), "the worker has a forwarder")
        XCTAssertLessThanOrEqual(queued, DNSForwarder.deadlineSlack + 2 * 55 + 1)
        XCTAssertGreaterThanOrEqual(queued, 5, "the silent queries' deadlines are kept")
        h.advance(by: DNSProxyConfig().forwardTimeoutNs)
        XCTAssertEqual(h.counters().timeouts, 5, "exactly the silent queries time out")
    }
}
