import Glibc
import SluiceAPI
import SluiceIO
import SluiceJSON
import SluiceModel
import XCTest

/// `ControlClient` against a real unix socket: the request it writes, the answer it reads, and
/// the errors when nobody listens or the answer is not JSON.
final class ControlClientTests: XCTestCase {
    private var path = ""

    override func setUpWithError() throws {
        var template = Array("/tmp/sluice-api-XXXXXX".utf8CString)
        let dir = String(cString: try XCTUnwrap(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }))
        path = dir + "/agent.sock"
    }

    override func tearDown() {
        unlink(path)
        rmdir(String(path.dropLast("/agent.sock".count)))
    }

    /// A one-shot server on `path` answering one connection with `reply(request bytes)`.
    private func serveOnce(_ reply: @escaping ([UInt8]) -> [UInt8]) throws -> WorkerThread {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        var addr = try ControlSocket.address(path)
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        XCTAssertEqual(r, 0)
        XCTAssertEqual(listen(fd, 1), 0)
        let thread = WorkerThread(name: "control-test") {
            let client = accept(fd, nil, nil)
            let request = ControlSocket.readAll(client)
            ControlSocket.writeAll(client, reply(request))
            close(client)
            close(fd)
        }
        try thread.start()
        return thread
    }

    func testSendsTheRequestAndReadsTheAnswer() throws {
        final class Seen: @unchecked Sendable { var bytes: [UInt8] = [] }
        let seen = Seen()
        let server = try serveOnce { request in
            seen.bytes = request
            return Array(#"{"ok":true,"message":"workers: 2"}"#.utf8)
        }
        let response = try ControlClient.send(ControlRequest(op: .status), path: path)
        server.join()
        XCTAssertTrue(response.ok)
        XCTAssertEqual(response.message, "workers: 2")
        XCTAssertEqual(try JSON.decode(ControlRequest.self, from: seen.bytes).op, .status)
    }

    func testQueryDecodesTheAnswersJSON() throws {
        let entries = [
            ConntrackEntry(
                proto: "TCP", source: "10.0.0.1", destination: "10.0.0.2", sourcePort: 1,
                destinationPort: 80, createdNs: 5, flags: ["from-pod"])
        ]
        let message = String(decoding: try JSON.encode(entries), as: UTF8.self)
        let answer = try JSON.encode(ControlResponse.success(message))
        let server = try serveOnce { _ in answer }
        XCTAssertEqual(try ControlClient.query(.conntrackList, as: [ConntrackEntry].self, path: path), entries)
        server.join()
    }

    func testAFailedAnswerIsAnError() throws {
        let server = try serveOnce { _ in Array(#"{"ok":false,"message":"ct-list: the datapath is not loaded"}"#.utf8) }
        defer { server.join() }
        XCTAssertThrowsError(try ControlClient.query(.conntrackList, as: [ConntrackEntry].self, path: path)) {
            XCTAssertEqual(String(describing: $0), "ct-list: the datapath is not loaded")
        }
    }

    func testAnAnswerThatIsNotJSONIsAnError() throws {
        let server = try serveOnce { _ in Array("garbage".utf8) }
        defer { server.join() }
        XCTAssertThrowsError(try ControlClient.send(ControlRequest(op: .get), path: path)) {
            XCTAssertEqual(String(describing: $0), "the agent gave no answer")
        }
    }

    func testNobodyListeningNamesTheSocket() {
        XCTAssertThrowsError(try ControlClient.send(ControlRequest(op: .get), path: path)) {
            XCTAssertTrue(String(describing: $0).hasPrefix("cannot reach the agent at \(path)"), "\($0)")
        }
    }
}
