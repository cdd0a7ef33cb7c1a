import Glibc
import HubbleObserver
import SluiceIO
import XCTest

@testable import ObserverHTTP

final class HTTPServerConnectionTests: XCTestCase {
    private func server() throws -> (EventLoop, HTTPService, UInt16) {
        let loop = try EventLoop()
        let service = HTTPService()
        try service.start(loop: loop, address: ListenAddress(host: .init(hostOrder: 0x7f00_0001), port: 0)) { request in
            HTTPResponse(status: request.path == "/ok" ? 200 : 404, text: "path=\(request.path)\n")
        }
        return (loop, service, try XCTUnwrap(service.acceptor?.boundPort))
    }

    func testKeepAlivePipelinedRequestsAndHead() throws {
        let (loop, service, port) = try server()
        defer { service.stop() }
        let fd = LoopbackClient.connect(port: port)
        defer { close(fd) }
        LoopbackClient.send(fd, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
        let two = LoopbackClient.read(fd, loop: loop) { $0.contains("path=/nope\n") }
        XCTAssertTrue(two.hasPrefix("HTTP/1.1 200 OK\r\n"), two)
        XCTAssertTrue(two.contains("path=/ok\nHTTP/1.1 404 Not Found\r\n"), two)
        LoopbackClient.send(fd, "HEAD /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let head = LoopbackClient.read(fd, loop: loop) { $0.hasSuffix("\r\n\r\n") }
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 200 OK\r\n"), head)
        XCTAssertTrue(head.contains("Content-Length: 9\r\n"))
        XCTAssertTrue(head.contains("Connection: close\r\n"))
        XCTAssertFalse(head.contains("path="))
        for _ in 0..<5 { loop.runOnce(timeoutMs: 5) }
        XCTAssertEqual(service.connectionCount, 0)
    }

    func testBadInputGetsAClearAnswerAndClose() throws {
        let (loop, service, port) = try server()
        defer { service.stop() }
        for (request, status) in [
            ("POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", "400"),
            ("DELETE /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "405"),
            ("GET /ok HTTP/1.1\r\nBad Header\r\n\r\n", "400"),
            ("GET /" + String(repeating: "a", count: 20000) + " HTTP/1.1\r\n\r\n", "4"),
        ] {
            let fd = LoopbackClient.connect(port: port)
            LoopbackClient.send(fd, request)
            let answer = LoopbackClient.read(fd, loop: loop) { $0.contains("\r\n\r\n") }
            XCTAssertTrue(answer.hasPrefix("HTTP/1.1 " + status), "\(request.prefix(30)): \(answer)")
            close(fd)
        }
    }
}
