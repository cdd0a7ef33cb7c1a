import DNS
import Flows
import Glibc
import SluiceModel
import XCTest

@testable import Proxy

/// The UDP listener (`DNSUDPListener`) of one DNS proxy worker on loopback: datagrams read in
/// batches, each query answered on its own (bursts across batch boundaries, hundreds in flight),
/// garbage answered FORMERR or ignored, unsteered datagrams dropped with a flow.
final class DNSUDPListenerTests: XCTestCase {

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

    func testUnsteeredDatagramIsDroppedWithAPolicyDrop() throws {
        let h = try DNSProxyHarness(steered: false)
        DNSTest.send(h.client, DNSTest.query("www.allowed.test.", id: 12), port: h.port)
        let flows = h.sink.waitForFlows(1)
        XCTAssertEqual(flows.first?.verdict, .dropped)
        XCTAssertEqual(h.counters().dropped, 1)
        XCTAssertTrue(h.upstream.receivedIDs.isEmpty)
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

    /// A burst of two and a half batches with broken datagrams in the middle of batches: each
    /// malformed query gets its own FORMERR, the short one nothing, and every query around them
    /// its own answer (one bad datagram costs only itself, never the rest of its batch).
    func testMalformedDatagramsInTheMiddleOfBatchesCostOnlyThemselves() throws {
        let h = try DNSProxyHarness()
        let total = DNSUDPListener.batchSize * 2 + DNSUDPListener.batchSize / 2
        let malformed: Set<Int> = [7, DNSUDPListener.batchSize + 5]
        let short = DNSUDPListener.batchSize * 2 + 1
        for i in 0..<total {
            let id = UInt16(2000 + i)
            if malformed.contains(i) {
                // A header claiming one question that is not there.
                DNSTest.send(
                    h.client, [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0], port: h.port)
            } else if i == short {
                DNSTest.send(h.client, [1, 2, 3], port: h.port)
            } else {
                DNSTest.send(h.client, DNSTest.query("m\(i).allowed.test.", id: id), port: h.port)
            }
        }
        var formErr = Set<Int>(), answered = Set<Int>()
        while formErr.count + answered.count < total - 1, let reply = DNSTest.receive(h.client) {
            let message = try parse(reply.bytes)
            let i = Int(message.header.id) - 2000
            if message.rcode == .formErr { formErr.insert(i) } else if message.rcode == .noError { answered.insert(i) }
        }
        XCTAssertEqual(formErr, malformed)
        XCTAssertEqual(answered, Set(0..<total).subtracting(malformed).subtracting([short]))
        h.drain()
        XCTAssertTrue(DNSTest.nothingToRead(h.client), "the short datagram gets no answer")
        XCTAssertEqual(h.counters().formatErrors, malformed.count)
        XCTAssertEqual(h.counters().ignored, 1)
    }
}
