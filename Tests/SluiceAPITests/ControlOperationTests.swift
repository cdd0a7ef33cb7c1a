import SluiceAPI
import SluiceJSON
import XCTest

/// The control operations on the wire: the names older CLIs and scripts send, and a name this
/// build does not know, which must still decode (the agent answers it with an error).
final class ControlOperationTests: XCTestCase {
    func testEveryOperationHasItsWireName() throws {
        let names: [(ControlOperation, String)] = [
            (.apply, "apply"), (.get, "get"), (.delete, "delete"), (.status, "status"), (.introspect, "introspect"),
            (.conntrackList, "ct-list"), (.flowsPause, "flows-pause"), (.flowsResume, "flows-resume"),
        ]
        for (op, name) in names {
            XCTAssertEqual(op.name, name)
            XCTAssertEqual(ControlOperation(name: name), op)
            let bytes = try JSON.encode(ControlRequest(op: op))
            XCTAssertEqual(String(decoding: bytes, as: UTF8.self), "{\"op\":\"\(name)\"}")
            XCTAssertEqual(try JSON.decode(ControlRequest.self, from: bytes).op, op)
        }
    }

    func testAnUnknownNameDecodesAsUnknown() throws {
        let request = try JSON.decode(ControlRequest.self, from: Array(#"{"op":"reboot"}"#.utf8))
        XCTAssertEqual(request.op, .unknown("reboot"))
        XCTAssertEqual(request.op.name, "reboot")
        XCTAssertNil(request.documents)
    }

    func testARequestWithoutAnOperationIsMalformed() {
        XCTAssertThrowsError(try JSON.decode(ControlRequest.self, from: Array(#"{"file":"x.yaml"}"#.utf8)))
    }
}
