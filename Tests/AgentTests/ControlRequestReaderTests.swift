import Foundation
import Policy
import PolicyYAML
import SluiceAPI
import SluiceJSON
import SluiceTestSupport
import XCTest

@testable import Agent

/// `ControlRequestReader` reads an apply's documents without SluiceJSON's value tree; every
/// request, well-formed or not, must come out exactly as `JSON.decode` gives it (or fail with
/// its error).
final class ControlRequestReaderTests: XCTestCase {
    /// The request (or error) as text, to compare the two decoders.
    private func outcome(_ result: Result<ControlRequest, JSONError>) -> String {
        switch result {
        case .success(let request): return "ok " + ((try? JSON.encodeString(request)) ?? "?")
        case .failure(let error): return "error \(error)"
        }
    }

    private func assertSameAsSluiceJSON(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        let reference = outcome(Result { () throws(JSONError) in try JSON.decode(ControlRequest.self, from: bytes) })
        let read = outcome(Result { () throws(JSONError) in try ControlRequestReader.decode(bytes) })
        XCTAssertEqual(read, reference, String(decoding: bytes.prefix(200), as: UTF8.self), file: file, line: line)
    }

    private func exampleRequests() throws -> [[UInt8]] {
        let files = try FileManager.default.subpathsOfDirectory(atPath: PolicyFixtures.examples.path)
            .filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertGreaterThan(files.count, 20)
        return try files.map { file in
            try JSON.encode(
                ControlRequest(
                    op: .apply, file: file,
                    documents: try PolicyYAML.documents(try PolicyFixtures.example(file), fileName: file)
                ))
        }
    }

    /// What the CLI sends takes the direct path and decodes to the same request.
    func testEveryExampleApplyIsReadDirectlyAsSluiceJSONDecodesIt() throws {
        for bytes in try exampleRequests() {
            let direct = try XCTUnwrap(ControlRequestReader.direct(bytes))
            let reference = try JSON.decode(ControlRequest.self, from: bytes)
            XCTAssertEqual(direct.documents, reference.documents)
            XCTAssertEqual(try JSON.encodeString(direct), try JSON.encodeString(reference))
        }
    }

    /// The direct path says where the documents' array is, and those bytes in a stored file's
    /// object decode to the same documents (the agent stores them as sent); SluiceJSON's path
    /// says nothing.
    func testTheDocumentsBytesTheDirectPathLocatesAreAStoredFilesDocuments() throws {
        for bytes in try exampleRequests() {
            let (request, range) = try ControlRequestReader.decodeLocatingDocuments(bytes)
            let located = try XCTUnwrap(range)
            let stored = Array(#"{"file":"a \"b\".yaml","documents":"#.utf8) + bytes[located] + [UInt8(ascii: "}")]
            let decoded = try JSON.decode(StoredPolicy.self, from: stored)
            XCTAssertEqual(decoded.documents, request.documents)
            XCTAssertEqual(decoded.file, #"a "b".yaml"#)
            XCTAssertNil(decoded.removed)
        }
        let escaped = Array(#"{"op":"apply","documents":[["p",1,1,"\u0041"]]}"#.utf8)
        let (request, range) = try ControlRequestReader.decodeLocatingDocuments(escaped)
        XCTAssertNil(range)
        XCTAssertEqual(request.documents, [.scalar("A", line: 1, column: 1)])
    }

    /// Requests the direct path leaves to SluiceJSON, or that are malformed: same answer.
    func testOtherFormsAndMalformedRequestsGetSluiceJSONsAnswer() throws {
        let cases = [
            #"{"op":"status"}"#, #"{"op":"apply","file":"f","documents":null}"#,
            #"{"op":"apply","documents":[["p",1,1,"\u0041"]]}"#,
            #"{"op":"apply","documents":[["p",1,1,"a"]],"documents":[]}"#,
            #"{"op":"apply","docu\u006dents":[["p",1,1,"a"]]}"#,
            #"{"op":"apply","documents":[["p",1.0,1,"a"]]}"#, #"{"op":"apply","documents":[["p",01,1,"a"]]}"#,
            #"{"op":"apply","documents":[["p",-1,1,"a"]]}"#, #"{"op":"apply","documents":[["p",1,1,"a"]]"#,
            #"{"op":"apply","documents":[["p",1,1,"a"]],}"#, #"{"op":"apply","documents":[["p",1,1,"a"],]}"#,
            #"{"op":"apply","documents":[["p",1,1,"a\/b\"c\\d\n"]], "file" : "x" }"#,
            #"  {"file":"{\"[","documents":[ ["m" , 2 , 3 , ["p",1,1,"k"] , ["l",1,1] ] ],"op":"apply"}  "#,
            #"{"op":"apply","documents":[["m",1,1,["p",1,1,"k"]]]}"#, #"{"op":"apply","documents":{}}"#,
            #"{"op":"apply","documents":[["x",1,1,"a"]]}"#, #"{"op":"apply","documents":[["p",1,1,"a"]]} x"#,
            #"{"op":"nope","documents":[]}"#, #"{"documents":[]}"#, "", "{", #"{"op":"apply","documents":["#,
            "\u{FEFF}" + #"{"op":"apply","documents":[]}"#,
        ]
        for text in cases { assertSameAsSluiceJSON(Array(text.utf8)) }
        assertSameAsSluiceJSON(
            Array(#"{"op":"apply","documents":[["p",1,1,""#.utf8) + [0xC3, 0x28] + Array(#""]]}"#.utf8))
        assertSameAsSluiceJSON(Array(#"{"op":"apply","documents":[["p",1,1,""#.utf8) + [0x01] + Array(#""]]}"#.utf8))
        let deep = String(repeating: #"["l",1,1,"#, count: 450) + #"["p",1,1,"x"]"# + String(repeating: "]", count: 450)
        assertSameAsSluiceJSON(Array((#"{"op":"apply","documents":["# + deep + "]}").utf8))
    }

    /// Random corruptions of real requests (bytes replaced, removed, doubled): both decoders give
    /// the same request or the same error.
    func testCorruptedRequestsGetSluiceJSONsAnswer() throws {
        var random = SeededRandom(seed: 0x5C_A1E_19)
        let requests = try exampleRequests()
        let alphabet = Array(#"[]{}",:\/0123456789-.eE pmslu"#.utf8) + [0x0A, 0x00, 0xC3, 0xFF]
        for _ in 0..<1000 {
            var bytes = requests[Int.random(in: 0..<requests.count, using: &random)]
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let at = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[at] = alphabet.randomElement(using: &random)!
                case 1: bytes.remove(at: at)
                default: bytes.insert(bytes[at], at: at)
                }
            }
            assertSameAsSluiceJSON(bytes)
        }
    }
}
