import Glibc
import XCTest

@testable import Agent

final class NetlinkTests: XCTestCase {
    /// One netlink message: header (native order) and body, padded to 4 bytes.
    private func message(type: UInt16, sequence: UInt32, body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt32(16 + body.count)) { out += $0 }
        withUnsafeBytes(of: type) { out += $0 }
        withUnsafeBytes(of: UInt16(0)) { out += $0 }
        withUnsafeBytes(of: sequence) { out += $0 }
        withUnsafeBytes(of: UInt32(0)) { out += $0 }
        out += body
        while out.count % 4 != 0 { out.append(0) }
        return out
    }

    func testWalkVisitsOnlyItsSequenceAndStopsAtTheFirstValue() {
        let reply =
            message(type: 24, sequence: 7, body: [1, 2, 3]) + message(type: 25, sequence: 1, body: [9, 9, 9, 9])
            + message(type: 26, sequence: 1, body: [])
        var seen: [UInt16] = []
        let walk: Netlink.Walk<UInt16> = Netlink.walk(reply, sequence: 1) { type, start, end in
            seen.append(type)
            XCTAssertEqual(end - start, type == 25 ? 20 : 16)
            return type == 26 ? type : nil
        }
        guard case .stopped(26) = walk else { return XCTFail("\(walk)") }
        XCTAssertEqual(seen, [25, 26], "the message of sequence 7 is skipped")
    }

    func testWalkReportsTheEndAndATruncatedOrMalformedMessage() {
        let whole = message(type: 24, sequence: 1, body: [0, 0, 0, 0])
        guard case .ended(let offset) = Netlink.walk(whole, sequence: 1, { _, _, _ -> Int? in nil }) else {
            return XCTFail("a whole reply ends")
        }
        XCTAssertEqual(offset, whole.count)
        let cut = whole + Array(whole.prefix(10))
        guard case .ended(let cutOffset) = Netlink.walk(cut, sequence: 1, { _, _, _ -> Int? in nil }) else {
            return XCTFail("a short tail is left, not read")
        }
        XCTAssertEqual(cutOffset, whole.count)
        var lying = whole
        lying[0] = 200  // a length past the buffer
        guard case .malformed(let reason) = Netlink.walk(lying, sequence: 1, { _, _, _ -> Int? in nil }) else {
            return XCTFail("a length past the buffer is malformed")
        }
        XCTAssertTrue(reason.contains("length 200"), reason)
        for length in 0..<lying.count {
            _ = Netlink.walk(Array(lying.prefix(length)), sequence: 1) { _, _, _ -> Int? in nil }
        }
    }

    func testAttributesAndErrorCode() {
        // Two attributes (type 4 with flags set, value 4 bytes; type 5 empty), then a bad one.
        let bytes: [UInt8] = [8, 0, 4, 0x80, 1, 0, 0, 0, 4, 0, 5, 0, 9, 0, 1, 0]
        var seen: [(UInt16, Int, Int)] = []
        let bad = Netlink.attributes(bytes, from: 0, to: bytes.count) { seen.append(($0, $1, $2)) }
        XCTAssertEqual(bad, 12, "the third attribute claims 9 bytes of 4")
        XCTAssertEqual(seen.map { $0.0 }, [4, 5], "flags masked off")
        XCTAssertEqual(seen.first?.1, 4)
        XCTAssertEqual(Netlink.u32(bytes, 4), 1)
        XCTAssertNil(Netlink.attributes(bytes, from: 0, to: 12) { _, _, _ in })

        var error = message(type: Netlink.nlmsgError, sequence: 1, body: [])
        XCTAssertNil(Netlink.errorCode(error, from: 0, to: error.count), "too short for an errno")
        withUnsafeBytes(of: Int32(-ENOENT)) { error += $0 }
        XCTAssertEqual(Netlink.errorCode(error, from: 0, to: error.count), ENOENT)
    }

    func testExchangeWithTheKernel() throws {
        // A real address dump of this namespace: the kernel answers, and the handler's value returns.
        let outcome = Netlink.exchange(NodeAddresses.request(sequence: 1), bufferSize: 32768, reads: 64) {
            reply -> Bool? in
            if case .done = NodeAddresses.parse(reply, sequence: 1) { return true }
            return nil
        }
        XCTAssertEqual(try outcome.get(), true)
        // A handler that never answers runs out of reads (nil), or times out waiting (an error).
        let unanswered = Netlink.exchange(NodeAddresses.request(sequence: 1), bufferSize: 32768, reads: 1) {
            _ -> Bool? in nil
        }
        if case .success(let value) = unanswered { XCTAssertNil(value) }
    }
}
