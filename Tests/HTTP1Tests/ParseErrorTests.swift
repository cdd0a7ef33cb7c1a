import XCTest

@testable import HTTP1

final class ParseErrorTests: XCTestCase {
    private let all: [ParseError] = [
        .badRequestLine, .badStatusLine, .badMethod, .badTarget, .targetTooLong, .badVersion, .unsupportedVersion,
        .badLineEnding, .obsFold, .spaceBeforeColon, .badFieldName, .badFieldValue, .headTooLarge, .tooManyHeaders,
        .missingHost, .duplicateHost, .badHost, .fragmentInTarget, .badPercentEncoding, .underscoreInHeaderName,
        .badContentLength, .conflictingContentLength, .transferEncodingWithContentLength, .transferEncodingInHTTP10,
        .badTransferEncoding, .unsupportedTransferEncoding, .badChunkSize, .chunkSizeOverflow, .badChunkExtension,
        .chunkLineTooLong, .badChunkData, .badTrailer, .trailersTooLarge, .headBufferFull, .contentLengthTooLarge,
        .h2cUpgradeWithChunkedBody,
    ]

    func testEveryErrorHasItsOwnReason() {
        XCTAssertEqual(Set(all.map(\.reason)).count, all.count)
        XCTAssertFalse(all.contains { $0.reason.isEmpty })
    }

    func testStatusesAreTheDocumentedOnes() {
        XCTAssertEqual(ParseError.targetTooLong.status, 414)
        XCTAssertEqual(ParseError.unsupportedVersion.status, 505)
        XCTAssertEqual(ParseError.unsupportedTransferEncoding.status, 501)
        XCTAssertEqual(ParseError.headTooLarge.status, 431)
        XCTAssertEqual(ParseError.tooManyHeaders.status, 431)
        XCTAssertEqual(ParseError.trailersTooLarge.status, 431)
        XCTAssertEqual(ParseError.headBufferFull.status, 431)
        let special: Set<String> = Set(
            [
                ParseError.targetTooLong, .unsupportedVersion, .unsupportedTransferEncoding, .headTooLarge,
                .tooManyHeaders, .trailersTooLarge, .headBufferFull,
            ]
            .map(\.reason))
        for error in all where !special.contains(error.reason) {
            XCTAssertEqual(error.status, 400, error.reason)
        }
    }

    func testEqualityComparesStatusAndReason() {
        XCTAssertEqual(ParseError(status: 400, reason: "invalid method"), .badMethod)
        XCTAssertNotEqual(ParseError(status: 431, reason: "invalid method"), .badMethod)
        XCTAssertNotEqual(ParseError(status: 400, reason: "other"), .badMethod)
    }
}
