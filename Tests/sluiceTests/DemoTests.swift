import XCTest

@testable import sluice

/// `sluice demo`'s own logic (the acts need a sandbox: the integration scenarios run them): how
/// act 1 reads curl's output, how a command's output is captured, and the command line.
final class DemoTests: XCTestCase {
    func testCurlResultSplitsTheStatusFromTheBody() {
        // `-o /dev/null -w '%{http_code}'`: the code alone.
        XCTAssertEqual(Demo.curlResult("200").code, "200")
        XCTAssertNil(Demo.curlResult("200").body)
        // No answer at all (curl timed out): no code, no body.
        XCTAssertEqual(Demo.curlResult("").code, "")
        XCTAssertNil(Demo.curlResult("").body)
        // `-w '\n%{http_code}'` after the proxy's 403 body: the body on one line, CRLF escaped.
        let denied = Demo.curlResult("Access denied\r\n\n403")
        XCTAssertEqual(denied.code, "403")
        XCTAssertEqual(denied.body, "\"Access denied\\r\\n\"")
        let lines = Demo.curlResult("a\nb\n\n200")
        XCTAssertEqual(lines.code, "200")
        XCTAssertEqual(lines.body, "\"a\\nb\\n\"")
        // An empty body (a HEAD-like answer) is still shown, as "".
        XCTAssertEqual(Demo.curlResult("\n204").body, "\"\"")
        XCTAssertEqual(Demo.curlResult("\n204").code, "204")
    }

    func testCaptureReturnsStandardOutputOnly() {
        XCTAssertEqual(Demo.capture(["/bin/sh", "-c", "echo out; echo err >&2"]), "out\n")
        XCTAssertEqual(Demo.capture(["/bin/sh", "-c", "printf 'a\\nb'; exit 3"]), "a\nb")
        // A command that cannot start gives nothing (the check then reports UNEXPECTED).
        XCTAssertEqual(Demo.capture(["/nonexistent/sluice-demo-test"]), "")
    }

    func testCommandLine() throws {
        XCTAssertFalse(try Demo.parse([]).keep)
        XCTAssertTrue(try Demo.parse(["--keep"]).keep)
        XCTAssertThrowsError(try Demo.parse(["--kept"]))
    }
}
