import SluiceAPI
import SluiceJSON
import XCTest

/// Named container ports in the sandbox's state file: the protocol defaults to TCP.
final class NamedPortTests: XCTestCase {
    private func decode(_ text: String) throws -> NamedPort {
        try JSON.decode(NamedPort.self, from: Array(text.utf8))
    }

    func testProtocolDefaultsToTCP() throws {
        XCTAssertEqual(try decode(#"{"name": "http", "port": 80}"#), NamedPort(name: "http", port: 80, protocol: "TCP"))
        XCTAssertEqual(try decode(#"{"name": "dns", "port": 53, "protocol": "UDP"}"#).protocol, "UDP")
        XCTAssertEqual(NamedPort(name: "http", port: 80).protocol, "TCP")
    }

    func testNameAndPortAreRequiredAndThePortFitsSixteenBits() {
        for text in [#"{"port": 80}"#, #"{"name": "http"}"#, #"{"name": "http", "port": 70000}"#] {
            XCTAssertThrowsError(try decode(text), text)
        }
    }

    func testEncodedPortReadsBackEqual() throws {
        let port = NamedPort(name: "sctp-port", port: 9, protocol: "SCTP")
        let bytes = try JSON.encode(port, sortedKeys: true)
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self), #"{"name":"sctp-port","port":9,"protocol":"SCTP"}"#)
        XCTAssertEqual(try JSON.decode(NamedPort.self, from: bytes), port)
    }
}
