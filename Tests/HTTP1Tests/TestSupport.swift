import XCTest

@testable import HTTP1

/// Shared helpers for the HTTP1 tests: byte fixtures, prefix ("every split") feeding and text views of
/// parsed ranges.
extension Array where Element == UInt8 {
    /// The bytes of `text` as UTF-8 (fixtures are ASCII unless they say otherwise).
    init(ascii text: String) {
        self = Array(text.utf8)
    }

    /// The bytes in `range` as a String, for readable assertions.
    func text(_ range: Range<Int>?) -> String? {
        guard let range else { return nil }
        guard range.lowerBound >= 0, range.upperBound <= count else { return "<out of bounds \(range)>" }
        return String(decoding: self[range], as: UTF8.self)
    }
}

/// Parses a request head from its own copy of `bytes` (so each prefix is a separate buffer).
func parseRequest(_ bytes: [UInt8], limits: Limits = .default) -> (HeadResult, RequestHead) {
    var head = RequestHead()
    let result = bytes.withUnsafeBytes { HTTP1Parser.parseRequestHead($0, into: &head, limits: limits) }
    return (result, head)
}

/// Parses a response head from its own copy of `bytes`.
func parseResponse(
    _ bytes: [UInt8], head isHEAD: Bool = false, limits: Limits = .default
) -> (HeadResult, ResponseHead) {
    var head = ResponseHead()
    let result = bytes.withUnsafeBytes {
        HTTP1Parser.parseResponseHead($0, requestMethodIsHEAD: isHEAD, into: &head, limits: limits)
    }
    return (result, head)
}

/// Parses `bytes` as a request head, asserting it completes, and that every prefix (the head split
/// at every byte offset) gives `.needMore` before `headLength` and the identical head from there on.
func assertRequestEverySplit(
    _ bytes: [UInt8], limits: Limits = .default, file: StaticString = #filePath, line: UInt = #line
) -> RequestHead {
    let (result, head) = parseRequest(bytes, limits: limits)
    XCTAssertEqual(result, .complete, file: file, line: line)
    for cut in 0...bytes.count {
        let (partial, partialHead) = parseRequest(Array(bytes[0..<cut]), limits: limits)
        if cut < head.headLength {
            XCTAssertEqual(partial, .needMore, "prefix \(cut)", file: file, line: line)
        } else {
            XCTAssertEqual(partial, .complete, "prefix \(cut)", file: file, line: line)
            XCTAssertEqual(partialHead, head, "prefix \(cut)", file: file, line: line)
        }
    }
    return head
}

/// Like `assertRequestEverySplit`, for response heads.
func assertResponseEverySplit(
    _ bytes: [UInt8], head isHEAD: Bool = false, file: StaticString = #filePath, line: UInt = #line
) -> ResponseHead {
    let (result, head) = parseResponse(bytes, head: isHEAD)
    XCTAssertEqual(result, .complete, file: file, line: line)
    for cut in 0...bytes.count {
        let (partial, partialHead) = parseResponse(Array(bytes[0..<cut]), head: isHEAD)
        if cut < head.headLength {
            XCTAssertEqual(partial, .needMore, "prefix \(cut)", file: file, line: line)
        } else {
            XCTAssertEqual(partial, .complete, "prefix \(cut)", file: file, line: line)
            XCTAssertEqual(partialHead, head, "prefix \(cut)", file: file, line: line)
        }
    }
    return head
}

/// Asserts that `bytes` is rejected with `expected`, and that every prefix gives either `.needMore`
/// or that same error (never a different error, never `.complete`).
func assertRequestError(
    _ text: String, _ expected: ParseError, limits: Limits = .default,
    file: StaticString = #filePath, line: UInt = #line
) {
    assertEveryPrefix(Array(ascii: text), expected, file: file, line: line) { parseRequest($0, limits: limits).0 }
}

/// Response counterpart of `assertRequestError`.
func assertResponseError(
    _ text: String, _ expected: ParseError, head isHEAD: Bool = false,
    file: StaticString = #filePath, line: UInt = #line
) {
    assertEveryPrefix(Array(ascii: text), expected, file: file, line: line) { parseResponse($0, head: isHEAD).0 }
}

private func assertEveryPrefix(
    _ bytes: [UInt8], _ expected: ParseError, file: StaticString, line: UInt, parse: ([UInt8]) -> HeadResult
) {
    XCTAssertEqual(parse(bytes), .error(expected), file: file, line: line)
    for cut in 0..<bytes.count {
        let result = parse(Array(bytes[0..<cut]))
        if result != .needMore {
            XCTAssertEqual(result, .error(expected), "prefix \(cut)", file: file, line: line)
        }
    }
}

/// The header fields of `head` as (name, value) strings.
func fieldTexts(_ headers: [HeaderField], in bytes: [UInt8]) -> [[String]] {
    headers.map { [bytes.text($0.name) ?? "", bytes.text($0.value) ?? ""] }
}
