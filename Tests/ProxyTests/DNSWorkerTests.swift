import DNS
import Flows
import Glibc
import SluiceModel
import XCTest

@testable import Proxy

/// The decision and answer phases of one DNS proxy worker (`DNSWorker`): denied queries refused
/// (or NXDOMAIN) with one dropped flow and no upstream traffic, names matched case-insensitively.
final class DNSWorkerTests: XCTestCase {
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
}
