import XCTest

@testable import DNS

final class DNSParseErrorTests: XCTestCase {
    private let all: [(DNSParseError, String)] = [
        (.truncated, "truncated"), (.labelTooLong, "labelTooLong"), (.nameTooLong, "nameTooLong"),
        (.emptyLabel, "emptyLabel"), (.badLabelType, "badLabelType"), (.badEscape, "badEscape"),
        (.compressionLoop, "compressionLoop"), (.pointerForward, "pointerForward"),
        (.pointerOutOfRange, "pointerOutOfRange"), (.tooManyCompressionPointers, "tooManyCompressionPointers"),
        (.badOPT, "badOPT"), (.countMismatch, "countMismatch"), (.badRdata, "badRdata"),
    ]

    func testDescriptionNamesTheReason() {
        for (error, name) in all {
            XCTAssertEqual(error.description, "DNSParseError.\(name)")
        }
    }

    func testEveryReasonIsDistinct() {
        XCTAssertEqual(Set(all.map(\.0)).count, all.count)
        XCTAssertNotEqual(DNSParseError.truncated, .badRdata)
        XCTAssertEqual(DNSParseError.truncated, .truncated)
    }

    func testLimitsMatchTheRFCs() {
        XCTAssertEqual(DNSLimits.headerSize, 12)
        XCTAssertEqual(DNSLimits.maxLabelLength, 63)
        XCTAssertEqual(DNSLimits.maxNameWireLength, 255)
        XCTAssertEqual(DNSLimits.maxPointerOffset, 0x3FFF)
        XCTAssertEqual(DNSLimits.maxMessageSize, 65535)
    }

    /// A compression pointer's rules in the order both name readers apply them.
    func testCheckPointerAppliesTheRulesInOrder() {
        func check(_ target: Int, number: Int = 1, at position: Int = 40, segmentStart: Int = 40) -> DNSParseError? {
            do throws(DNSParseError) {
                try DNSLimits.checkPointer(
                    to: target, number: number, at: position, segmentStart: segmentStart, messageLength: 64)
                return nil
            } catch {
                return error
            }
        }
        XCTAssertNil(check(12))
        XCTAssertEqual(check(12, number: DNSLimits.maxCompressionPointers + 1), .tooManyCompressionPointers)
        XCTAssertEqual(check(11), .pointerOutOfRange)
        XCTAssertEqual(check(64), .pointerOutOfRange)
        XCTAssertEqual(check(40), .pointerForward)
        XCTAssertEqual(check(30, segmentStart: 20), .compressionLoop)
    }
}
