import Glibc
import SluiceIO
import SluiceModel
import SluiceTestSupport
import XCTest

@testable import Proxy

/// `SocketHTTP2Transport`'s client link on a real non-blocking socketpair: the read and write
/// steps with their readiness, and close (FIN, once). The in-memory link used by
/// `HTTP2ConnectionEmbeddedTests` is `EmbeddedHTTP2Link`.
final class HTTP2LinkTests: XCTestCase {
    private final class Ignore: EventHandler {
        func handleEvents(_ events: UInt32, tag: UInt32) {}
    }

    private func context() throws -> WorkerContext {
        let snapshot = try TestPolicy.snapshot(TestPolicy.yaml(port: 8080))
        return WorkerContext(
            loop: try EventLoop(clock: ManualClock()), config: ProxyConfig(workers: 1), steering: FixedSteering(nil),
            flows: CollectingSink(), snapshot: snapshot)
    }

    private func transport(_ ctx: WorkerContext, fd: Int32) -> SocketHTTP2Transport {
        SocketHTTP2Transport(
            ctx: ctx, fd: fd, tls: nil,
            addresses: ConnectionAddresses(
                clientAddress: 0, clientPort: 0, originalDestinationAddress: UInt32(bigEndian: 0x7F00_0001),
                originalDestinationPort: 1),
            steer: nil, origination: nil)
    }

    func testClientLinkReadsWritesAndClosesOnce() throws {
        let ctx = try context()
        var sv: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &sv), 0)
        defer { Glibc.close(sv[1]) }
        let handler = Ignore()
        let link = try XCTUnwrap(transport(ctx, fd: sv[0]).client(handler: handler))
        XCTAssertFalse(link.isTLS)
        XCTAssertTrue(link.readable && link.writable, "a handed-over client is read and written at once")

        let out: [UInt8] = Array("frames".utf8)
        XCTAssertEqual(out.withUnsafeBytes { link.write($0) }, .progress(6))
        var got = [UInt8](repeating: 0, count: 16)
        XCTAssertEqual(recv(sv[1], &got, got.count, 0), 6)
        XCTAssertEqual(Array(got[..<6]), out)

        let input = IOBuffer(capacity: 64, limit: 64)
        XCTAssertEqual(link.read(into: input), .blocked)
        XCTAssertFalse(link.readable, "EAGAIN ends readability until the next edge")
        XCTAssertEqual(send(sv[1], "abc", 3, 0), 3)
        link.readable = true
        XCTAssertEqual(link.read(into: input), .progress(3))
        XCTAssertEqual(Array(input.readable), Array("abc".utf8))

        link.close(reset: false)
        link.close(reset: false)
        XCTAssertEqual(recv(sv[1], &got, got.count, 0), 0, "the peer reads EOF (FIN)")
        XCTAssertEqual(fcntl(sv[0], F_GETFD), -1, "the descriptor is closed")
    }

    func testAClientThatCannotBeRegisteredIsRefused() throws {
        let ctx = try context()
        XCTAssertNil(transport(ctx, fd: -1).client(handler: Ignore()))
    }
}
