import SluiceIO
import XCTest

final class IOBufferTests: XCTestCase {
    private func bytes(_ b: IOBuffer) -> [UInt8] { Array(b.readable) }

    func testAppendLargerThanCapacityGrowsAndKeepsEveryByte() {
        let b = IOBuffer(capacity: 8, limit: 64)
        let payload = (0..<40).map { UInt8($0) }
        XCTAssertTrue(payload.withUnsafeBytes { b.append($0) })
        XCTAssertEqual(bytes(b), payload)
        XCTAssertGreaterThanOrEqual(b.capacity, 40)
        XCTAssertLessThanOrEqual(b.capacity, 64)
    }

    func testAppendWithSomeFreeSpaceButNotEnoughGrows() {
        // The case that once looped forever: 0 < writable < needed.
        let b = IOBuffer(capacity: 16, limit: 4096)
        XCTAssertTrue([UInt8](repeating: 1, count: 10).withUnsafeBytes { b.append($0) })
        XCTAssertTrue([UInt8](repeating: 2, count: 200).withUnsafeBytes { b.append($0) })
        XCTAssertEqual(b.readableCount, 210)
        XCTAssertEqual(bytes(b).prefix(10), [UInt8](repeating: 1, count: 10)[...])
        XCTAssertEqual(bytes(b).suffix(200), [UInt8](repeating: 2, count: 200)[...])
    }

    func testAppendCompactsConsumedBytesBeforeGrowing() {
        let b = IOBuffer(capacity: 16, limit: 16)
        XCTAssertTrue([UInt8](repeating: 7, count: 12).withUnsafeBytes { b.append($0) })
        b.consume(10)
        XCTAssertTrue([UInt8](repeating: 9, count: 12).withUnsafeBytes { b.append($0) })
        XCTAssertEqual(bytes(b), [7, 7] + [UInt8](repeating: 9, count: 12))
        XCTAssertEqual(b.capacity, 16)
    }

    func testAppendBeyondTheLimitAppendsNothingAndSaysSo() {
        let b = IOBuffer(capacity: 8, limit: 32)
        XCTAssertTrue([UInt8](repeating: 3, count: 20).withUnsafeBytes { b.append($0) })
        XCTAssertFalse([UInt8](repeating: 4, count: 20).withUnsafeBytes { b.append($0) })
        XCTAssertEqual(bytes(b), [UInt8](repeating: 3, count: 20))
    }

    func testReserveSpaceDoublesUpToTheLimitThenRefuses() {
        let b = IOBuffer(capacity: 4, limit: 8)
        b.writeIndex = 4
        XCTAssertTrue(b.reserveSpace())
        XCTAssertEqual(b.capacity, 8)
        b.writeIndex = 8
        XCTAssertFalse(b.reserveSpace())
    }
}
