import SluiceJSON
import SluiceTestSupport
import XCTest

@testable import KubeClient

/// Chunked decoding and line framing of watch streams, whatever the read boundaries, and the
/// parsing of each event type.
final class WatchFramingTests: XCTestCase {
    private func chunked(_ pieces: [String]) -> [UInt8] {
        var out = ""
        for p in pieces { out += String(p.utf8.count, radix: 16) + "\r\n" + p + "\r\n" }
        return Array((out + "0\r\n\r\n").utf8)
    }

    private let events = [
        #"{"type":"ADDED","object":{"metadata":{"name":"a","namespace":"n","resourceVersion":"5"}}}"#,
        #"{"type":"MODIFIED","object":{"metadata":{"name":"a","namespace":"n","resourceVersion":"6"},"x":"\n"}}"#,
        #"{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"9"}}}"#,
        #"{"type":"DELETED","object":{"metadata":{"name":"a","namespace":"n","resourceVersion":"10"}}}"#,
        #"{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version: 1 (7)"}}"#,
    ]

    func testEveryTwoSplitPointsGiveTheSameEvents() throws {
        // Chunks that cut an event in the middle (as the server does above 4 KiB) and a chunk
        // holding two events; then every way of cutting the bytes into three reads.
        let body = events.joined(separator: "\n") + "\n"
        let cut1 = body.index(body.startIndex, offsetBy: 30)
        let cut2 = body.index(body.startIndex, offsetBy: 170)
        let wire = chunked([String(body[..<cut1]), String(body[cut1..<cut2]), String(body[cut2...])])
        let expected: [WatchEvent] = try events.map { try WatchEvent.parse(Array($0.utf8)) }
        for i in stride(from: 0, through: wire.count, by: 3) {
            for j in stride(from: i, through: wire.count, by: 7) {
                var decoder = ChunkedDecoder()
                var lines = LineSplitter()
                var got: [WatchEvent] = []
                for piece in [wire[0..<i], wire[i..<j], wire[j...]] {
                    for line in try lines.feed(try decoder.feed(piece)) { got.append(try WatchEvent.parse(line)) }
                }
                XCTAssertEqual(got, expected, "cut at \(i), \(j)")
                XCTAssertTrue(decoder.isComplete)
            }
        }
    }

    func testEventKinds() throws {
        let parsed = try events.map { try WatchEvent.parse(Array($0.utf8)) }
        guard case .added(let object) = parsed[0] else { return XCTFail("\(parsed[0])") }
        XCTAssertEqual(KubeStore.key(of: object), "n/a")
        XCTAssertEqual(parsed[2], .bookmark(resourceVersion: "9"))
        XCTAssertEqual(parsed[4], .error(code: 410, message: "too old resource version: 1 (7)"))
        for bad in [
            #"{"type":"ADDED"}"#, #"{"type":"NOPE","object":{}}"#, #"{"type":"BOOKMARK","object":{}}"#, "{", "[]",
        ] {
            XCTAssertThrowsError(try WatchEvent.parse(Array(bad.utf8)), bad)
        }
    }

    func testChunkedErrors() {
        var decoder = ChunkedDecoder()
        XCTAssertThrowsError(try decoder.feed(Array("zz\r\n".utf8)))
        var decoder2 = ChunkedDecoder()
        XCTAssertThrowsError(try decoder2.feed(Array("2\r\nabX\r\n".utf8)), "no CRLF after the data")
        var decoder3 = ChunkedDecoder()
        XCTAssertThrowsError(try decoder3.feed([UInt8](repeating: 0x31, count: 2000)), "endless size line")
        var decoder4 = ChunkedDecoder()
        XCTAssertEqual(try decoder4.feed(Array("3;ext=1\r\nabc\r\n0\r\nTrailer: x\r\n\r\n".utf8)), Array("abc".utf8))
        XCTAssertTrue(decoder4.isComplete)
    }

    func testLineLimit() {
        var lines = LineSplitter(maximumLine: 10)
        XCTAssertEqual(try lines.feed(Array("abc\r\n\nde".utf8)), [Array("abc".utf8)])
        XCTAssertEqual(try lines.feed(Array("f\n".utf8)), [Array("def".utf8)])
        XCTAssertThrowsError(try lines.feed([UInt8](repeating: 0x31, count: 11)))
    }

    /// Bytes from the network never trap: random streams and valid streams with bytes changed,
    /// in random reads, through the decoder, the splitter, the event parser and the response head
    /// parser only ever throw or decode.
    func testRandomAndMutatedStreamsNeverTrap() {
        var random = SeededRandom(seed: 0x5EED_4B18)
        let body = events.joined(separator: "\n") + "\n"
        let valid = chunked([String(body.prefix(40)), String(body.dropFirst(40))])
        let alphabet = Array("0123456789abcdefABCDEF\r\n;{}\":, ".utf8)
        var decoded = 0
        for round in 0..<3000 {
            var wire: [UInt8]
            if round % 2 == 0 {
                wire = valid
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    wire[Int.random(in: 0..<wire.count, using: &random)] = alphabet.randomElement(using: &random)!
                }
            } else {
                wire = (0..<Int.random(in: 0...200, using: &random)).map { _ in alphabet.randomElement(using: &random)!
                }
            }
            var decoder = ChunkedDecoder()
            var lines = LineSplitter(maximumLine: 4096)
            var offset = 0
            do {
                while offset < wire.count {
                    let n = Int.random(in: 1...32, using: &random)
                    let end = min(wire.count, offset + n)
                    for line in try lines.feed(try decoder.feed(wire[offset..<end])) {
                        if (try? WatchEvent.parse(line)) != nil { decoded += 1 }
                    }
                    offset = end
                }
            } catch {}
            _ = try? parseHead(Array(wire.prefix(100)))
            _ = findHeadEnd(wire)
        }
        XCTAssertGreaterThan(decoded, 1000, "the mutated valid streams still decode most events")
    }
}
