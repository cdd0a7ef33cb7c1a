import SluiceIO
import XCTest

@testable import Proxy

/// `SplicePipePool` with real pipes: pipes are reused when given back empty, closed when given
/// back holding bytes, and never more than the limit exist at once.
final class SplicePipePoolTests: XCTestCase {
    func testAnEmptyPipeIsReusedAndTheLimitHolds() throws {
        let pool = SplicePipePool(limit: 2, pipeBytes: 128 * 1024)
        let a = try XCTUnwrap(pool.take())
        XCTAssertGreaterThanOrEqual(a.capacity, 64 * 1024)
        let b = try XCTUnwrap(pool.take())
        XCTAssertNil(pool.take(), "at the limit the body takes the buffered path")
        XCTAssertEqual(pool.live, 2)
        pool.give(a)
        XCTAssertEqual(pool.idleCount, 1)
        let again = try XCTUnwrap(pool.take())
        XCTAssertEqual(again.readFD, a.readFD, "the idle pipe comes back")
        pool.give(again)
        pool.give(b)
        XCTAssertEqual(pool.idleCount, 2)
        XCTAssertEqual(pool.live, 2)
    }

    func testAPipeHoldingBytesIsClosedNotReused() throws {
        let pool = SplicePipePool(limit: 4, pipeBytes: 65536)
        var pipe = try XCTUnwrap(pool.take())
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
