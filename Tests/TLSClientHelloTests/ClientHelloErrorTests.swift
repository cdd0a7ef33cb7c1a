import XCTest

@testable import TLSClientHello

final class ClientHelloErrorTests: XCTestCase {
    func testDescriptionsNameTheProblemAndItsValue() {
        XCTAssertEqual(ClientHelloError.badRecordLength(16385).description, "TLS record length 16385 out of range")
        XCTAssertEqual(
            ClientHelloError.interleavedRecord(contentType: 21).description,
            "TLS record of content type 21 inside the ClientHello")
        XCTAssertEqual(
            ClientHelloError.notClientHello(handshakeType: 2).description,
            "first handshake message has type 2, not ClientHello")
        XCTAssertEqual(ClientHelloError.helloTooLarge(20000).description, "ClientHello of 20000 bytes is too large")
        XCTAssertEqual(ClientHelloError.badLength(.alpnList).description, "bad length in ALPN protocol list")
        XCTAssertEqual(ClientHelloError.duplicateExtension(16).description, "duplicate TLS extension 16")
        XCTAssertEqual(ClientHelloError.unknownServerNameType(1).description, "server_name entry of unknown type 1")
        XCTAssertEqual(ClientHelloError.serverNameIsIPAddress.description, "server name is an IP address literal")
    }

    func testEveryCaseHasItsOwnText() {
        let all: [ClientHelloError] = [
            .badRecordLength(0), .badRecordVersion, .interleavedRecord(contentType: 23), .tooManyRecords,
            .notClientHello(handshakeType: 2), .helloTooLarge(1), .trailingHandshakeData, .badLength(.body),
            .duplicateExtension(0), .duplicateServerName, .unknownServerNameType(1), .emptyServerName,
            .serverNameIsIPAddress, .invalidServerName,
        ]
        XCTAssertEqual(Set(all.map(\.description)).count, all.count)
        let parts: [ClientHelloError.Part] = [
            .body, .sessionID, .cipherSuites, .compressionMethods, .extensions, .extensionData, .serverNameList,
            .hostName, .alpnList, .protocolName,
        ]
        XCTAssertEqual(Set(parts.map { ClientHelloError.badLength($0).description }).count, parts.count)
    }

    func testLimitsDefaultsAndTheParserHonoursThem() {
        XCTAssertEqual(ClientHelloLimits.default.maxHelloLength, 16384)
        XCTAssertEqual(ClientHelloLimits.default.maxRecords, 64)
        let fixture = ClientHelloFixtures.opensslSniAlpn
        guard case .parsed = ClientHelloParser.parse(fixture) else { return XCTFail("fixture does not parse") }
        guard
            case .malformed(.helloTooLarge) = ClientHelloParser.parse(
                fixture, limits: ClientHelloLimits(maxHelloLength: 64))
        else {
            return XCTFail("a 64-byte limit was not enforced")
        }
    }
}
