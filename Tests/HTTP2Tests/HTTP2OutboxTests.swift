import XCTest

@testable import HTTP2

final class HTTP2OutboxTests: XCTestCase {
    private func take(_ outbox: HTTP2Outbox, _ capacity: Int) -> [UInt8] {
        var buffer = [UInt8](repeating: 0xEE, count: capacity + 2)
        let n = buffer.withUnsafeMutableBufferPointer { outbox.take(into: $0.baseAddress!, capacity: capacity) }
        XCTAssertEqual(buffer[n...].allSatisfy { $0 == 0xEE }, true, "wrote past what it reported")
        return Array(buffer[..<n])
    }

    func testBytesLeaveInOrderAcrossChunks() {
        let outbox = HTTP2Outbox()
        outbox.append([1, 2, 3])
        outbox.append([])
        outbox.append([4, 5])
        outbox.append([6])
        XCTAssertEqual(outbox.queued, 6)
        XCTAssertEqual(take(outbox, 2), [1, 2])
        XCTAssertEqual(outbox.queued, 4)
        XCTAssertEqual(take(outbox, 3), [3, 4, 5])
        XCTAssertEqual(take(outbox, 10), [6])
        XCTAssertEqual(outbox.queued, 0)
        XCTAssertEqual(take(outbox, 10), [])
        outbox.append([7])
        XCTAssertEqual(take(outbox, 1), [7])
    }

    func testZeroCapacityTakesNothing() {
        let outbox = HTTP2Outbox()
        outbox.append([1])
        XCTAssertEqual(take(outbox, 0), [])
        XCTAssertEqual(outbox.queued, 1)
    }

    func testEndAndTrailersAreJustRecorded() {
        let outbox = HTTP2Outbox()
        XCTAssertFalse(outbox.ended)
        XCTAssertNil(outbox.trailers)
        outbox.trailers = HTTP2HeaderBlock([("grpc-status", "0")])
        outbox.ended = true
        XCTAssertEqual(outbox.trailers?.text(of: "grpc-status"), "0")
    }
}
