import Glibc
import HubbleObserver
import SluiceIO
import XCTest

@testable import ObserverHTTP

final class HTTPServiceTests: XCTestCase {
    func testStopClosesListenerAndConnections() throws {
        let loop = try EventLoop()
        let service = HTTPService()
        try service.start(loop: loop, address: ListenAddress(host: .init(hostOrder: 0x7f00_0001), port: 0)) { _ in
            HTTPResponse(status: 200, text: "x")
        }
        let port = try XCTUnwrap(service.acceptor?.boundPort)
        let fd = LoopbackClient.connect(port: port)
        defer { close(fd) }
        for _ in 0..<5 { loop.runOnce(timeoutMs: 5) }
        XCTAssertEqual(service.connectionCount, 1)
        service.stop()
        XCTAssertEqual(service.connectionCount, 0)
        let again = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(again) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(again, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        XCTAssertEqual(r, -1)  // nobody listens any more
    }
}
