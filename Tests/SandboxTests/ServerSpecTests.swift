import XCTest

@testable import Sandbox

final class ServerSpecTests: XCTestCase {
    func testParsesEveryKind() throws {
        XCTAssertEqual(try ServerSpec.parse("httpbin:80"), ServerSpec(kind: .httpbin, port: 80))
        XCTAssertEqual(try ServerSpec.parse("http-static:8080"), ServerSpec(kind: .httpStatic, port: 8080))
        XCTAssertEqual(try ServerSpec.parse("tcp:65535"), ServerSpec(kind: .tcp, port: 65535))
        XCTAssertEqual(try ServerSpec.parse(" tcp : 6379 "), ServerSpec(kind: .tcp, port: 6379))
        XCTAssertEqual(try ServerSpec.parse("https:443"), ServerSpec(kind: .https, port: 443))
    }

    func testTLSKinds() throws {
        XCTAssertEqual(ServerKind.allCases.filter(\.usesTLS), [.https, .h2TLS, .grpcTLS])
        XCTAssertEqual(try ServerSpec.parse("h2-tls:8443"), ServerSpec(kind: .h2TLS, port: 8443))
        XCTAssertEqual(try ServerSpec.parse("grpc-tls:50051"), ServerSpec(kind: .grpcTLS, port: 50051))
    }

    func testRejectsUnknownKind() {
        XCTAssertThrowsError(try ServerSpec.parse("nginx:80")) { error in
            XCTAssertEqual(error as? ServerSpec.ParseFailure, .unknownKind("nginx"))
        }
    }

    func testRejectsBadPorts() {
        for text in ["tcp:0", "tcp:65536", "tcp:-1", "tcp:http", "tcp:123456"] {
            XCTAssertThrowsError(try ServerSpec.parse(text), text) { error in
                guard case .badPort = error as? ServerSpec.ParseFailure else {
                    return XCTFail("\(text): \(error)")
                }
            }
        }
    }

    func testRejectsMalformed() {
        for text in ["tcp", ":80", "tcp:", ""] {
            XCTAssertThrowsError(try ServerSpec.parse(text), text) { error in
                guard case .malformed = error as? ServerSpec.ParseFailure else {
                    return XCTFail("\(text): \(error)")
                }
            }
        }
    }

    func testDescriptionRoundTrips() throws {
        for kind in ServerKind.allCases {
            let spec = ServerSpec(kind: kind, port: 443)
            XCTAssertEqual(try ServerSpec.parse(spec.description), spec)
        }
    }
}
