import DNS
import Flows
import Glibc
import SluiceModel
import XCTest

@testable import Proxy

/// The upstream side of one DNS proxy worker (`DNSForwarder`) against a `DNSFakeUpstream`:
/// fresh IDs upstream and the client's ID restored, silent upstreams timed out on the manual
/// clock without holding back other queries, deadlines of answered queries dropped.
final class DNSForwarderTests: XCTestCase {
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

    /// A burst of queries (read in rounds of up to 16 and sent upstream together, one sendmmsg
    /// per round): every query leaves exactly once with its own fresh ID and every client gets
    /// its own answer back.
    func testABurstLeavesOnceEachAndEveryQueryIsAnswered() throws {
        let h = try DNSProxyHarness()
        let count = 60
        // All 60 in flight at once: an ID is fresh among the queries in flight, and one answered
        // before a later query left could be drawn again (1 chance in ~37 for 60 random IDs).
        h.upstream.holdAnswers(until: count)
        for i in 0..<count {
            DNSTest.send(h.client, DNSTest.query("b\(i).allowed.test.", id: UInt16(5000 + i)), port: h.port)
        }
        var answers = Set<UInt16>()
        for _ in 0..<count {
            guard let got = DNSTest.receive(h.client) else { break }
            let message = try parse(got.bytes)
            XCTAssertEqual(message.rcode, .noError)
            answers.insert(message.header.id)
        }
        XCTAssertEqual(answers, Set((0..<count).map { UInt16(5000 + $0) }), "each query answered with its own ID")
        let sent = h.upstream.receivedIDs
        XCTAssertEqual(sent.count, count, "each query sent upstream exactly once")
        XCTAssertEqual(Set(sent).count, count, "fresh IDs, unique among queries in flight")
        XCTAssertTrue(DNSTest.nothingToRead(h.client), "no duplicate answer")
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
