import Glibc
import XCTest

@testable import HTTP2

final class HTTP2WriteBatchTests: XCTestCase {
    /// Every unwritten byte, in order, through `withIOVecs` (as a writev would take them), then
    /// consumed in steps of at most `step` bytes (a socket taking part of each write).
    static func drain(_ batch: HTTP2WriteBatch, step: Int = .max) -> [UInt8] {
        var out: [UInt8] = []
        while !batch.isEmpty {
            let n = batch.withIOVecs { iovecs, bytes -> Int in
                XCTAssertEqual(iovecs.reduce(0) { $0 + $1.iov_len }, bytes)
                let n = min(step, bytes)
                var left = n
                for v in iovecs where left > 0 {
                    let take = min(left, v.iov_len)
                    out.append(contentsOf: UnsafeRawBufferPointer(start: v.iov_base, count: take))
                    left -= take
                }
                return n
            }
            batch.consume(n)
        }
        return out
    }

    private func copy(_ batch: HTTP2WriteBatch, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { batch.append(copying: $0) }
    }

    func testCopiesAndReferencesLeaveInOrderThroughPartialWrites() {
        for step in [1, 2, 3, 7, 100, .max] {
            let batch = HTTP2WriteBatch(storeCapacity: 64)
            let a: [UInt8] = Array(10..<20)
            let b: [UInt8] = Array(30..<33)
            copy(batch, [1, 2])
            copy(batch, [3])  // joins the previous copy: one segment
            batch.append(a, offset: 2, count: 5)
            copy(batch, [4])
            batch.append(b, offset: 0, count: 3)
            batch.append(a, offset: 7, count: 3)
            XCTAssertEqual(batch.segmentCount, 5)
            XCTAssertEqual(batch.count, 15)
            XCTAssertEqual(
                Self.drain(batch, step: step), [1, 2, 3, 12, 13, 14, 15, 16, 4, 30, 31, 32, 17, 18, 19], "step \(step)")
            XCTAssertTrue(batch.isEmpty)
            XCTAssertEqual(batch.segmentCount, 0)
        }
    }

    /// Copied bytes keep their place when the byte store grows under segments already added.
    func testTheStoreGrowsUnderEarlierSegments() {
        let batch = HTTP2WriteBatch(storeCapacity: 64)
        let chunk: [UInt8] = [9, 9]
        var expected: [UInt8] = []
        for i in 0..<200 {
            let piece = [UInt8](repeating: UInt8(i), count: 1 + i % 13)
            copy(batch, piece)
            batch.append(chunk, offset: i % 2, count: 1)
            expected += piece + [9]
        }
        XCTAssertEqual(Self.drain(batch, step: 333), expected)
    }

    /// More segments than one writev takes: the first 1024, then the rest.
    func testAtMostIOVMaxSegmentsPerWrite() {
        let batch = HTTP2WriteBatch()
        let chunks = (0..<1500).map { [UInt8(truncatingIfNeeded: $0), 0xAA] }
        for c in chunks { batch.append(c, offset: 0, count: 2) }
        let (first, bytes) = batch.withIOVecs { ($0.count, $1) }
        XCTAssertEqual(first, HTTP2WriteBatch.maxIOVecs)
        XCTAssertEqual(bytes, 2 * HTTP2WriteBatch.maxIOVecs)
        XCTAssertEqual(Self.drain(batch), Array(chunks.joined()))
    }

    /// The staging copy for TLS takes the front without consuming it.
    func testCopyFrontDoesNotConsume() {
        let batch = HTTP2WriteBatch()
        copy(batch, [1, 2, 3])
        batch.append([4, 5, 6, 7], offset: 1, count: 3)
        var stage = [UInt8](repeating: 0, count: 4)
        let n = stage.withUnsafeMutableBytes { batch.copyFront(into: $0) }
        XCTAssertEqual(n, 4)
        XCTAssertEqual(stage, [1, 2, 3, 5])
        batch.consume(2)
        let m = stage.withUnsafeMutableBytes { batch.copyFront(into: $0) }
        XCTAssertEqual(Array(stage[..<m]), [3, 5, 6, 7])
        XCTAssertEqual(Self.drain(batch), [3, 5, 6, 7])
    }

    /// An emptied batch starts over (store and tables reused) and `removeAll` drops what is left.
    func testReuseAfterEmptyingAndRemoveAll() {
        let batch = HTTP2WriteBatch(storeCapacity: 64)
        for round in 0..<5 {
            copy(batch, [UInt8](repeating: UInt8(round), count: 40))
            batch.append([7, 8], offset: 0, count: 2)
            XCTAssertEqual(Self.drain(batch, step: 5), [UInt8](repeating: UInt8(round), count: 40) + [7, 8])
        }
        copy(batch, [1, 2, 3])
        batch.removeAll()
        XCTAssertTrue(batch.isEmpty)
        copy(batch, [4])
        XCTAssertEqual(Self.drain(batch), [4])
    }
}
