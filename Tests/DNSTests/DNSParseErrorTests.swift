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
}
