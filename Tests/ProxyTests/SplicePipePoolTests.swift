import SluiceIO
import XCTest

@testable import Proxy

/// `SplicePipePool` with real pipes: pipes are reused when given back empty, closed when given
/// back holding bytes, and never more than the limit exist at once.
final class SplicePipePoolTests: XCTestCase {
    func testAnEmptyPipeIsReusedAndTheLimitHolds() throws {
        let pool = SplicePipePool(limit: 2, responseBytes: 128 * 1024, requestBytes: 128 * 1024)
        let a = try XCTUnwrap(pool.take(for: .response))
        XCTAssertGreaterThanOrEqual(a.capacity, 64 * 1024)
        let b = try XCTUnwrap(pool.take(for: .response))
        XCTAssertNil(pool.take(for: .response), "at the limit the body takes the buffered path")
        XCTAssertNil(pool.take(for: .request))
        XCTAssertEqual(pool.live, 2)
        pool.give(a)
        XCTAssertEqual(pool.idleCount, 1)
        let again = try XCTUnwrap(pool.take(for: .response))
        XCTAssertEqual(again.readFD, a.readFD, "the idle pipe comes back")
        pool.give(again)
        pool.give(b)
        XCTAssertEqual(pool.idleCount, 2)
        XCTAssertEqual(pool.live, 2)
    }

    /// Response bodies get pipes of one size, request bodies of the other; each size is reused
    /// for its own direction, and at the limit an idle pipe of the other size serves.
    func testEachDirectionGetsItsOwnSizeAndAtTheLimitTheOtherServes() throws {
        let pool = SplicePipePool(limit: 2, responseBytes: 64 * 1024, requestBytes: 256 * 1024)
        let response = try XCTUnwrap(pool.take(for: .response))
        XCTAssertEqual(response.capacity, 64 * 1024)
        let request = try XCTUnwrap(pool.take(for: .request))
        XCTAssertEqual(request.capacity, 256 * 1024)
        pool.give(request)
        pool.give(response)
        XCTAssertEqual(try XCTUnwrap(pool.take(for: .request)).readFD, request.readFD)
        XCTAssertEqual(try XCTUnwrap(pool.take(for: .response)).readFD, response.readFD)
        pool.give(response)
        // Both pipes exist (the limit): a request body gets the idle response-sized one rather
        // than none, and it goes back to the response-sized ones.
        let borrowed = try XCTUnwrap(pool.take(for: .request))
        XCTAssertEqual(borrowed.readFD, response.readFD)
        XCTAssertEqual(pool.live, 2)
        pool.give(borrowed)
        XCTAssertEqual(try XCTUnwrap(pool.take(for: .response)).readFD, response.readFD)
    }

    func testAPipeHoldingBytesIsClosedNotReused() throws {
        let pool = SplicePipePool(limit: 4, responseBytes: 65536, requestBytes: 65536)
        var pipe = try XCTUnwrap(pool.take(for: .response))
        var sv: [Int32] = [-1, -1]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &sv), 0)
        defer { for fd in sv { close(fd) } }
        XCTAssertEqual(Array("left over".utf8).withUnsafeBytes { write(sv[1], $0.baseAddress, $0.count) }, 9)
        XCTAssertEqual(pipe.fill(from: sv[0], max: 100, side: .upstream), .progress(9))
        let fd = pipe.readFD
        pool.give(pipe)
        XCTAssertEqual(pool.idleCount, 0)
        XCTAssertEqual(pool.live, 0)
        XCTAssertEqual(fcntl(fd, F_GETFD), -1, "its descriptors are closed")
    }
}
