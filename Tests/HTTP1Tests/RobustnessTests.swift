import SluiceTestSupport
import XCTest

@testable import HTTP1

/// 20,000 random and mutated buffers through both head parsers and the chunked scanner: none may
/// trap, and every result must satisfy the invariants a caller relies on.
final class RobustnessTests: XCTestCase {
    private static let seeds: [[UInt8]] = [
        "GET /index.html?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nX-A: b\r\n\r\n",
        "POST /api HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
        "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "\r\nGET / HTTP/1.1\r\nHost: s\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AA\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
        "HTTP/1.1 204\r\n\r\n",
        "HTTP/1.0 302 Found\r\nLocation: /x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "5;ext=1\r\nhello\r\na\r\n0123456789\r\n0\r\nTrailer: v\r\n\r\n",
        "3\r\nabc\r\n0\r\n\r\n",
    ].map { Array(ascii: $0) }
    private static let interesting: [UInt8] = Array(ascii: "\r\n \t:,;0aA/-=\"") + [0, 0x01, 0x7F, 0x80, 0xFF]
    private static let fragments: [[UInt8]] = [
        "Host: x\r\n", "Content-Length: 3\r\n", "Transfer-Encoding: chunked\r\n", "\r\n", " folded\r\n",
        "Connection: close, upgrade\r\n", "HTTP/1.1", "0\r\n\r\n", "FFFFFFFFFFFFFFFFFF\r\n",
    ].map { Array(ascii: $0) }
    private static let smallLimits = Limits(
        maxHeadBytes: 48, maxHeaderCount: 2, maxTargetBytes: 6, maxChunkLineBytes: 5, maxTrailerBytes: 8)
    private static let statuses: Set<Int> = [400, 414, 431, 501, 505]

    func testRandomAndMutatedBuffers() {
        var random = SeededRandom(seed: 0x5EED_F51C)
        var outcomes: [String: Int] = [:]
        for iteration in 0..<20_000 {
            let bytes = Self.buffer(&random)
            let limits = iteration % 4 == 3 ? Self.smallLimits : .default
            outcomes["request " + checkRequest(bytes, limits: limits, iteration: iteration), default: 0] += 1
            outcomes[
                "response "
                    + checkResponse(
                        bytes, isHEAD: iteration % 2 == 0, limits: limits,
                        iteration: iteration), default: 0] += 1
            outcomes[
                "chunked "
                    + checkChunked(
                        bytes, split: Int.random(in: 0...bytes.count, using: &random),
                        limits: limits, iteration: iteration), default: 0] += 1
        }
        // The mutations must reach every outcome often, or the invariants above were barely exercised.
        for kind in ["request", "response", "chunked"] {
            for outcome in ["complete", "needMore", "error"] {
                XCTAssertGreaterThan(outcomes["\(kind) \(outcome)", default: 0], 100, "\(kind) \(outcome): \(outcomes)")
            }
        }
    }

    private static func buffer(_ random: inout SeededRandom) -> [UInt8] {
        if Int.random(in: 0..<10, using: &random) == 0 {
            return (0..<Int.random(in: 0..<200, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        }
        var bytes = seeds.randomElement(using: &random) ?? []
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let at = Int.random(in: 0...bytes.count, using: &random)
            switch Int.random(in: 0..<6, using: &random) {
            case 0 where at < bytes.count: bytes[at] = UInt8.random(in: 0...255, using: &random)
            case 1 where at < bytes.count: bytes[at] = interesting.randomElement(using: &random) ?? 0
            case 2: bytes.insert(interesting.randomElement(using: &random) ?? 0, at: at)
            case 3 where at < bytes.count: bytes.remove(at: at)
            case 4: bytes.insert(contentsOf: fragments.randomElement(using: &random) ?? [], at: at)
            default: bytes = Array(bytes[0..<at])
            }
        }
        return bytes
    }

    /// Checks the invariants of one request parse; returns the outcome's name.
    private func checkRequest(_ bytes: [UInt8], limits: Limits, iteration: Int) -> String {
        let (result, head) = parseRequest(bytes, limits: limits)
        switch result {
        case .complete:
            XCTAssertTrue(head.headLength > 0 && head.headLength <= min(bytes.count, limits.maxHeadBytes))
            XCTAssertFalse(head.method.isEmpty)
            XCTAssertFalse(head.target.isEmpty)
            XCTAssertLessThanOrEqual(head.target.count, limits.maxTargetBytes)
            XCTAssertLessThanOrEqual(head.headers.count, limits.maxHeaderCount)
            for range in [head.method, head.target] + head.headers.flatMap({ [$0.name, $0.value] }) {
                XCTAssertTrue(range.lowerBound >= 0 && range.upperBound <= head.headLength, "iteration \(iteration)")
            }
            // The head alone parses to the same value; one byte less is not yet a head.
            let exact = parseRequest(Array(bytes[0..<head.headLength]), limits: limits)
            XCTAssertEqual(exact.0, .complete, "iteration \(iteration)")
            XCTAssertEqual(exact.1, head, "iteration \(iteration)")
            XCTAssertEqual(parseRequest(Array(bytes[0..<head.headLength - 1]), limits: limits).0, .needMore)
            return "complete"
        case .needMore:
            XCTAssertLessThanOrEqual(bytes.count, limits.maxHeadBytes, "iteration \(iteration)")
            return "needMore"
        case .error(let error):
            XCTAssertTrue(Self.statuses.contains(error.status), "iteration \(iteration)")
            return "error"
        }
    }

    /// Checks the invariants of one response parse; returns the outcome's name.
    private func checkResponse(_ bytes: [UInt8], isHEAD: Bool, limits: Limits, iteration: Int) -> String {
        let (result, head) = parseResponse(bytes, head: isHEAD, limits: limits)
        switch result {
        case .complete:
            XCTAssertTrue(head.headLength > 0 && head.headLength <= min(bytes.count, limits.maxHeadBytes))
            XCTAssertTrue((100...999).contains(head.status))
            if head.framing == .untilClose { XCTAssertFalse(head.keepAlive) }
            if isHEAD { XCTAssertEqual(head.framing, BodyFraming.none) }
            for field in head.headers {
                XCTAssertTrue(field.name.upperBound <= head.headLength && field.value.upperBound <= head.headLength)
            }
            let exact = parseResponse(Array(bytes[0..<head.headLength]), head: isHEAD, limits: limits)
            XCTAssertEqual(exact.0, .complete, "iteration \(iteration)")
            XCTAssertEqual(exact.1, head, "iteration \(iteration)")
            return "complete"
        case .needMore:
            XCTAssertLessThanOrEqual(bytes.count, limits.maxHeadBytes, "iteration \(iteration)")
            return "needMore"
        case .error(let error):
            XCTAssertTrue(Self.statuses.contains(error.status), "iteration \(iteration)")
            return "error"
        }
    }

    /// The scanner's answer must not depend on where the bytes were split.
    private func checkChunked(_ bytes: [UInt8], split: Int, limits: Limits, iteration: Int) -> String {
        var whole = ChunkedScanner(limits: limits)
        let wholeResult = bytes.withUnsafeBytes { whole.scan($0) }
        var parts = ChunkedScanner(limits: limits)
        var partsResult = Array(bytes[0..<split]).withUnsafeBytes { parts.scan($0) }
        if partsResult == .needMore {
            partsResult = Array(bytes[split...]).withUnsafeBytes { parts.scan($0) }
            if case .done(let count) = partsResult { partsResult = .done(split + count) }
        }
        XCTAssertEqual(wholeResult, partsResult, "iteration \(iteration), split \(split)")
        switch wholeResult {
        case .done(let count):
            XCTAssertLessThanOrEqual(count, bytes.count)
            return "complete"
        case .needMore:
            return "needMore"
        case .error(let error):
            XCTAssertTrue(Self.statuses.contains(error.status), "iteration \(iteration)")
            return "error"
        }
    }
}
