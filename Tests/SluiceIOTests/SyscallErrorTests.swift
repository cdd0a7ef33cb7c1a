import Glibc
import SluiceIO
import XCTest

final class SyscallErrorTests: XCTestCase {
    func testDescriptionNamesTheCallTheTextAndTheNumber() {
        XCTAssertEqual(SyscallError("open", errno: ENOENT).description, "open: No such file or directory (errno 2)")
        XCTAssertEqual(
            SyscallError("bind", negated: -EADDRINUSE).description, "bind: Address already in use (errno 98)")
        XCTAssertEqual(SyscallError("bind", negated: -EADDRINUSE), SyscallError("bind", errno: EADDRINUSE))
    }

    func testWouldBlock() {
        XCTAssertTrue(SyscallError("read", errno: EAGAIN).isWouldBlock)
        XCTAssertTrue(SyscallError("read", errno: EWOULDBLOCK).isWouldBlock)
        XCTAssertFalse(SyscallError("read", errno: EINTR).isWouldBlock)
        XCTAssertFalse(SyscallError("read", errno: 0).isWouldBlock)
    }
}
