import SluiceJSON
import XCTest

@testable import Flows

/// The agent writes `<state>/fqdn.json` and `sluice observe` reads it: the documented shape, byte for byte.
final class FQDNCacheFileTests: XCTestCase {
    private let documented =
        #"{"names":{"api.example.com.":{"93.184.216.34":{"expiresNs":2000,"lastSeenNs":1000}}},"version":1}"#

    func testDocumentedShapeDecodes() throws {
        let file = try JSON.decode(FQDNCacheFile.self, from: documented)
        XCTAssertEqual(file.version, 1)
        XCTAssertEqual(
            file.names["api.example.com."]?["93.184.216.34"], FQDNCacheFile.Item(expiresNs: 2000, lastSeenNs: 1000))
        XCTAssertEqual(file.names.count, 1)
    }

    func testEncodesToTheDocumentedShape() throws {
        let file = FQDNCacheFile(names: [
            "api.example.com.": ["93.184.216.34": FQDNCacheFile.Item(expiresNs: 2000, lastSeenNs: 1000)]
        ])
        XCTAssertEqual(try JSON.encodeString(file, sortedKeys: true), documented)
    }

    func testDefaultsAndMissingFields() {
        XCTAssertEqual(FQDNCacheFile().version, 1)
        XCTAssertTrue(FQDNCacheFile().names.isEmpty)
        XCTAssertThrowsError(try JSON.decode(FQDNCacheFile.self, from: #"{"version":1}"#))
        XCTAssertThrowsError(
            try JSON.decode(FQDNCacheFile.self, from: #"{"version":1,"names":{"a.":{"1.2.3.4":{"expiresNs":1}}}}"#))
    }
}
