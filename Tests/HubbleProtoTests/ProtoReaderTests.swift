import XCTest

@testable import HubbleProto

final class ProtoReaderTests: XCTestCase {
    func testReadsWhatTheWriterWrote() throws {
        var w = ProtoWriter()
        w.uint(1, 300)
        w.string(2, "flow")
        w.double(3, 2.5)
        w.lengthDelimited(4, [0x01, 0x96, 0x01])
        var r = ProtoReader(w.bytes)
        var (n, v) = try XCTUnwrap(try r.next())
        XCTAssertEqual(n, 1)
        XCTAssertEqual(try v.varint(), 300)
        (n, v) = try XCTUnwrap(try r.next())
        XCTAssertEqual(try v.string(), "flow")
        (n, v) = try XCTUnwrap(try r.next())
        guard case .fixed64(let bits) = v else { return XCTFail("fixed64") }
        XCTAssertEqual(Double(bitPattern: bits), 2.5)
        (n, v) = try XCTUnwrap(try r.next())
        XCTAssertEqual(try v.varints(), [1, 150], "a packed run")
        XCTAssertNil(try r.next())
        XCTAssertEqual(try ProtoReader.Value.varint(7).varints(), [7], "an unpacked element")
    }

    func testMalformedInputIsAnErrorNeverATrap() {
        let cases: [([UInt8], String)] = [
            ([0x08], "truncated varint"), ([0x12, 0x05, 0x61], "truncated field 2"),
            ([0x0B], "unsupported wire type 3 for field 1"), ([0x00, 0x01], "invalid field number 0"),
            ([0x08] + [UInt8](repeating: 0xFF, count: 11), "varint longer than 10 bytes"),
            ([0x09, 1, 2], "truncated fixed field"),
        ]
        for (bytes, message) in cases {
            var r = ProtoReader(bytes)
            XCTAssertThrowsError(try r.next(), message) { XCTAssertEqual(($0 as? ProtoError)?.description, message) }
        }
        XCTAssertThrowsError(try ProtoReader.Value.bytes([0xFF][...]).string())
        XCTAssertThrowsError(try ProtoReader.Value.varint(1).payload())
        // Random bytes: any outcome but a crash.
        var seed: UInt64 = 0x1234_5678
        for _ in 0..<2000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int(seed % 40) {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1
                bytes.append(UInt8(truncatingIfNeeded: seed >> 33))
            }
            var r = ProtoReader(bytes)
            while (try? r.next()) != nil {}
            _ = try? FlowProto.decode(bytes[...])
            _ = try? GetFlowsRequest(bytes: bytes[...])
        }
    }
}
