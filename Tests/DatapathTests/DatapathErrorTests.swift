import Glibc
import XCTest

@testable import Datapath

final class DatapathErrorTests: XCTestCase {
    func testDescriptionNamesTheCallTheObjectAndTheErrno() {
        XCTAssertEqual(
            DatapathError(call: "bpf_map_update_elem", errno: ENOSPC, context: "sluice_policy").description,
            "bpf_map_update_elem(sluice_policy): No space left on device")
        XCTAssertEqual(
            DatapathError(call: "bpf_object__load", errno: EPERM).description,
            "bpf_object__load: Operation not permitted")
        XCTAssertEqual(DatapathError(call: "attach", errno: 0, context: "eth0").description, "attach(eth0) failed")
        XCTAssertTrue(DatapathError(call: "open", errno: ENOENT).isNotFound)
        XCTAssertFalse(DatapathError(call: "open", errno: EEXIST).isNotFound)
    }

    func testCheckTurnsNegativeResultsIntoErrors() throws {
        XCTAssertEqual(try DatapathError.check(7, "bpf"), 7)
        XCTAssertEqual(try DatapathError.check(0, "bpf"), 0)
        XCTAssertThrowsError(try DatapathError.check(-ENOENT, "bpf_obj_get", "/sys/fs/bpf/x")) {
            XCTAssertEqual(
                $0 as? DatapathError, DatapathError(call: "bpf_obj_get", errno: ENOENT, context: "/sys/fs/bpf/x"))
        }
    }

    func testMapCallsReadErrnoWhenTheResultIsMinusOne() throws {
        XCTAssertNoThrow(try DatapathError.checkMapCall(0, "lookup", "m"))
        XCTAssertThrowsError(try DatapathError.checkMapCall(-E2BIG, "update", "m")) {
            XCTAssertEqual(($0 as? DatapathError)?.errno, E2BIG)
        }
        errno = EBADF
        XCTAssertThrowsError(try DatapathError.checkMapCall(-1, "update", "m")) {
            XCTAssertEqual(($0 as? DatapathError)?.errno, EBADF)
        }
        errno = EACCES
        XCTAssertEqual(DatapathError.fromErrno("open", "p"), DatapathError(call: "open", errno: EACCES, context: "p"))
    }
}
