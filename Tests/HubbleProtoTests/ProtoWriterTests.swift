import XCTest

@testable import HubbleProto

final class ProtoWriterTests: XCTestCase {
    func testScalarsAsTheProtobufWireFormatWritesThem() {
        var w = ProtoWriter()
        w.uint(1, 150)
        w.uint(2, 0)
        w.string(3, "hi")
        w.string(4, "")
        w.bool(5, true)
        w.bool(6, false)
        w.int32(7, -1)
        XCTAssertEqual(
            w.bytes,
            [0x08, 0x96, 0x01, 0x1A, 0x02, 0x68, 0x69, 0x28, 0x01, 0x38] + [UInt8](repeating: 0xFF, count: 9) + [0x01],
            "zero values left out; a negative int32 takes 10 bytes")
    }

    func testMessagesStringsTimestampsAndDoubles() {
        var w = ProtoWriter()
        w.message(1) { _ in }
        w.strings(2, ["", "a"])
        w.timestamp(3, seconds: 1, nanos: 2)
        w.double(4, 1.0)
        w.uint(100_000, 1)
        XCTAssertEqual(
            w.bytes,
            [
                0x0A, 0x00, 0x12, 0x00, 0x12, 0x01, 0x61, 0x1A, 0x04, 0x08, 0x01, 0x10, 0x02, 0x21, 0, 0, 0, 0, 0, 0,
                0xF0, 0x3F,
            ]
                + [0x80, 0xEA, 0x30, 0x01])
    }

    /// A sub-message's length is written in the byte kept for it, or in as many as its varint
    /// needs (moving the message): 0, 127, 128, 16383, 16384 and 2 MiB bytes long, nested too.
    func testSubMessageLengthsOfEverySizeAndAGRPCFrameWrittenInPlace() {
        for size in [0, 1, 127, 128, 300, 16383, 16384, 2 << 20] {
            let payload = [UInt8](repeating: 0x61, count: size)
            var w = ProtoWriter()
            w.startGRPCFrame()
            w.uint(1, 7)
            w.message(2) { inner in inner.message(3) { $0.lengthDelimited(4, payload) } }
            w.uint(5, 9)
            w.finishGRPCFrame()
            var expected = ProtoWriter()
            expected.uint(1, 7)
            var m3 = ProtoWriter()
            m3.lengthDelimited(4, payload)
            var m2 = ProtoWriter()
            m2.lengthDelimited(3, m3.bytes)
            expected.lengthDelimited(2, m2.bytes)
            expected.uint(5, 9)
            XCTAssertEqual(w.bytes, GRPCWire.frame(expected.bytes), "size \(size)")
        }
    }

    /// A reused buffer starts empty every time, grows past its capacity (nested lengths of 1-3
    /// bytes moved in place), and gives the same bytes as a fresh writer.
    func testAReusedBufferGrowsAndWritesWhatAFreshWriterWrites() {
        let buffer = ProtoBuffer(capacity: 16)
        for size in [0, 5, 127, 128, 300, 20_000, 3] {
            let text = String(repeating: "x", count: size)
            func write(_ w: inout ProtoWriter) {
                w.startGRPCFrame()
                w.message(1) { m in
                    m.uint(1, UInt64(size))
                    m.message(2) { $0.string(1, text) }
                    m.fixed(0x0102_0304, bytes: 4)
                    m.decimal(UInt64(size) * 1000)
                }
                w.finishGRPCFrame()
            }
            var reused = ProtoWriter(reusing: buffer)
            write(&reused)
            var fresh = ProtoWriter()
            write(&fresh)
            XCTAssertEqual(reused.bytes, fresh.bytes, "size \(size)")
            XCTAssertEqual(reused.count, fresh.bytes.count)
            XCTAssertGreaterThan(reused.count, size + 10)
            let prefixLength = fresh.bytes[1...4].reduce(0) { $0 << 8 | Int($1) }
            XCTAssertEqual(prefixLength, fresh.bytes.count - 5)
        }
    }

    /// A message with 1, 2 or 3 bytes kept for its length writes the minimal varint whatever the
    /// body's length (moving the body either way), and what follows lands after it.
    func testKeptLengthBytesGiveTheMinimalVarintForEveryLength() {
        for kept in 1...3 {
            for size in [0, 1, 127, 128, 300, 16383, 16384, 2 << 20] {
                let payload = [UInt8]((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) })
                var w = ProtoWriter(capacity: 16)
                w.uint(1, 7)
                w.message(2, lengthBytes: kept) { $0.lengthDelimited(3, payload) }
                w.uint(4, 9)
                var inner = ProtoWriter()
                inner.lengthDelimited(3, payload)
                var expected = ProtoWriter()
                expected.uint(1, 7)
                expected.lengthDelimited(2, inner.bytes)
                expected.uint(4, 9)
                XCTAssertEqual(w.bytes, expected.bytes, "kept \(kept), size \(size)")
            }
        }
    }

    /// `appendRaw` writes exactly `count` bytes where the writer is.
    func testAVarintStoredAtAPointerIsTheWritersVarint() {
        var bytes = [UInt8](repeating: 0xEE, count: 11)
        for shift in 0..<64 {
            for value in [UInt64(1) << shift, (UInt64(1) << shift) &- 1, UInt64.max >> (63 - shift)] {
                var w = ProtoWriter()
                w.varint(value)
                let n = bytes.withUnsafeMutableBufferPointer { ProtoWriter.storeVarint(value, at: $0.baseAddress!) }
                XCTAssertEqual(n, ProtoWriter.varintSize(value), "\(value)")
                w.withBytes { XCTAssertEqual(Array($0), Array(bytes[0..<n]), "\(value)") }
                XCTAssertEqual(bytes[n...].allSatisfy { $0 == 0xEE } || n == 11, true, "nothing past its length")
                bytes = [UInt8](repeating: 0xEE, count: 11)
            }
        }
    }

    func testAppendRawWritesInPlace() {
        var w = ProtoWriter(capacity: 16)
        w.uint(1, 1)
        w.appendRaw(count: 20) { p in for i in 0..<20 { p.storeBytes(of: UInt8(i), toByteOffset: i, as: UInt8.self) } }
        w.rawByte(0xEE)
        XCTAssertEqual(w.bytes, [0x08, 0x01] + (0..<20).map { UInt8($0) } + [0xEE])
    }

    /// `timestamp` writes its length from the varints' sizes: the same bytes as the sub-message
    /// written and measured, for seconds and nanos at every varint length and sign.
    func testTimestampIsTheMeasuredSubMessage() {
        var values: [Int64] = [0, 1, -1, .max, .min]
        for shift in stride(from: 6, to: 63, by: 7) { values += [1 << shift, (1 << shift) - 1, -(1 << shift)] }
        let nanos: [Int32] = [0, 1, -1, 127, 128, 16_383, 16_384, 999_999_999, .max, .min]
        for seconds in values {
            for n in nanos {
                for field in [1, 15, 16, 1001] {
                    var a = ProtoWriter()
                    a.timestamp(field, seconds: seconds, nanos: n)
                    var b = ProtoWriter()
                    b.message(field) {
                        $0.int64(1, seconds)
                        $0.int32(2, n)
                    }
                    XCTAssertEqual(a.bytes, b.bytes, "\(field) \(seconds) \(n)")
                }
            }
        }
    }
}
