import XCTest

@testable import HTTP1

final class HeaderFactsTests: XCTestCase {
    /// Feeds each `name: value` pair to fresh facts, as the scanner does.
    private func facts(_ fields: [(String, String)]) throws -> HeaderFacts {
        var facts = HeaderFacts()
        for (name, value) in fields {
            let bytes = Array(ascii: name + value)
            try bytes.withUnsafeBytes {
                try facts.observe(name: 0..<name.utf8.count, value: name.utf8.count..<bytes.count, in: $0)
            }
        }
        return facts
    }

    private func assertThrows(_ expected: ParseError, line: UInt = #line, _ body: () throws -> Void) {
        XCTAssertThrowsError(try body(), line: line) { XCTAssertEqual($0 as? ParseError, expected, line: line) }
    }

    func testConnectionTokens() throws {
        let f = try facts([("Connection", "Keep-Alive, UPGRADE"), ("connection", "http2-settings")])
        XCTAssertTrue(f.connectionKeepAlive)
        XCTAssertTrue(f.connectionUpgrade)
        XCTAssertTrue(f.connectionHTTP2Settings)
        XCTAssertFalse(f.connectionClose)
        XCTAssertTrue(try facts([("Connection", "foo, close")]).connectionClose)
        XCTAssertFalse(try facts([("Connection", "closed")]).connectionClose)
    }

    func testKeepAliveByVersion() throws {
        XCTAssertTrue(HeaderFacts().keepAlive(versionMinor: 1))
        XCTAssertFalse(HeaderFacts().keepAlive(versionMinor: 0))
        XCTAssertFalse(try facts([("Connection", "close")]).keepAlive(versionMinor: 1))
        XCTAssertTrue(try facts([("Connection", "keep-alive")]).keepAlive(versionMinor: 0))
        XCTAssertFalse(try facts([("Connection", "keep-alive, close")]).keepAlive(versionMinor: 0))
    }

    func testContentLength() throws {
        XCTAssertEqual(try facts([("Content-Length", "42")]).contentLength, 42)
        let same = try facts([("Content-Length", "7, 7"), ("content-length", "7")])
        XCTAssertEqual(same.contentLength, 7)
        XCTAssertEqual(same.contentLengthElements, 3)
        assertThrows(.conflictingContentLength) {
            _ = try self.facts([("Content-Length", "7"), ("Content-Length", "8")])
        }
        assertThrows(.conflictingContentLength) { _ = try self.facts([("Content-Length", "1, 2")]) }
        for bad in ["", "-1", "+1", "1x", "0x10", "1,,1", "99999999999999999999"] {
            assertThrows(.badContentLength) { _ = try self.facts([("Content-Length", bad)]) }
        }
    }

    func testHostAndDuplicateHost() throws {
        XCTAssertEqual(try facts([("Host", "a")]).host, 4..<5)
        assertThrows(.duplicateHost) { _ = try self.facts([("Host", "a"), ("HOST", "a")]) }
    }

    func testRequestFraming() throws {
        XCTAssertEqual(try HeaderFacts().requestFraming(versionMinor: 1), BodyFraming.none)
        XCTAssertEqual(try facts([("Content-Length", "3")]).requestFraming(versionMinor: 1), .contentLength(3))
        XCTAssertEqual(try facts([("Transfer-Encoding", "Chunked")]).requestFraming(versionMinor: 1), .chunked)
        assertThrows(.unsupportedTransferEncoding) {
            _ = try self.facts([("Transfer-Encoding", "gzip, chunked")]).requestFraming(versionMinor: 1)
        }
        assertThrows(.transferEncodingWithContentLength) {
            _ = try self.facts([("Transfer-Encoding", "chunked"), ("Content-Length", "3")]).requestFraming(
                versionMinor: 1)
        }
        assertThrows(.transferEncodingInHTTP10) {
            _ = try self.facts([("Transfer-Encoding", "chunked")]).requestFraming(versionMinor: 0)
        }
        assertThrows(.badTransferEncoding) {
            _ = try self.facts([("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")]).requestFraming(
                versionMinor: 1)
        }
        assertThrows(.badTransferEncoding) {
            _ = try self.facts([("Transfer-Encoding", " , ")]).requestFraming(versionMinor: 1)
        }
    }

    func testResponseFraming() throws {
        XCTAssertEqual(try HeaderFacts().responseFraming(versionMinor: 1), .untilClose)
        XCTAssertEqual(try facts([("Content-Length", "0")]).responseFraming(versionMinor: 1), .contentLength(0))
        XCTAssertEqual(try facts([("Transfer-Encoding", "gzip, chunked")]).responseFraming(versionMinor: 1), .chunked)
        XCTAssertEqual(
            try facts([("Transfer-Encoding", "chunked, gzip")]).responseFraming(versionMinor: 1), .untilClose)
    }

    func testH2CUpgradeNeedsAllParts() throws {
        let all: [(String, String)] = [
            ("Upgrade", "websocket, H2C"), ("Connection", "Upgrade, HTTP2-Settings"),
            ("HTTP2-Settings", "AAMAAABkAAQAAP__"),
        ]
        let f = try facts(all)
        XCTAssertTrue(f.isH2CUpgrade)
        XCTAssertEqual(f.upgrade, 7..<21)
        for index in all.indices {
            var missing = all
            missing.remove(at: index)
            XCTAssertFalse(try facts(missing).isH2CUpgrade, "without \(all[index].0)")
        }
        XCTAssertFalse(try facts(all + [("HTTP2-Settings", "AAMA")]).isH2CUpgrade)
    }

    func testExpectContinue() throws {
        XCTAssertTrue(try facts([("Expect", "100-Continue")]).expectContinue)
        XCTAssertFalse(try facts([("Expect", "200-ok")]).expectContinue)
        XCTAssertFalse(try facts([("X-Long", "100-continue")]).expectContinue)
    }
}
