import SluiceAPI
import SluiceJSON
import XCTest

/// Control requests and answers on the wire: absent fields stay absent, and what is sent reads
/// back as sent.
final class ControlMessagesTests: XCTestCase {
    private func text(_ value: some Encodable) throws -> String {
        String(decoding: try JSON.encode(value, sortedKeys: true), as: UTF8.self)
    }

    func testARequestCarriesOnlyTheFieldsItSets() throws {
        XCTAssertEqual(try text(ControlRequest(op: .status)), #"{"op":"status"}"#)
        XCTAssertEqual(
            try text(ControlRequest(op: .delete, names: ["a", "b"], namespace: "backend", ignoreNotFound: true)),
            #"{"ignoreNotFound":true,"names":["a","b"],"namespace":"backend","op":"delete"}"#)
    }

    func testARequestReadsBack() throws {
        let request = try JSON.decode(
            ControlRequest.self, from: Array(#"{"op": "apply", "file": "p.yaml", "documents": []}"#.utf8))
        XCTAssertEqual(request.op, .apply)
        XCTAssertEqual(request.file, "p.yaml")
        XCTAssertEqual(request.documents?.count, 0)
        XCTAssertNil(request.names)
        XCTAssertNil(request.ignoreNotFound)
        XCTAssertThrowsError(try JSON.decode(ControlRequest.self, from: Array(#"{"file": "p.yaml"}"#.utf8)))
    }

    func testAnswersAndErrors() throws {
        XCTAssertEqual(try text(ControlResponse.failure("no")), #"{"message":"no","ok":false}"#)
        XCTAssertEqual(try text(ControlResponse.success("")), #"{"message":"","ok":true}"#)
        let answer = try JSON.decode(ControlResponse.self, from: Array(#"{"ok": true, "message": "{}"}"#.utf8))
        XCTAssertTrue(answer.ok)
        XCTAssertEqual(answer.message, "{}")
        XCTAssertEqual(ControlError(message: "cannot connect").description, "cannot connect")
    }
}
