import SluiceModel
import XCTest

@testable import HubbleObserver

final class ListenAddressTests: XCTestCase {
    func testHubbleSpellings() {
        XCTAssertEqual(ListenAddress(":4244"), ListenAddress(host: IPv4Address(hostOrder: 0), port: 4244))
        XCTAssertEqual(ListenAddress("10.244.0.1:9965"), ListenAddress(host: IPv4Address(10, 244, 0, 1), port: 9965))
        XCTAssertEqual(ListenAddress(":4244")?.description, ":4244")
        XCTAssertEqual(ListenAddress("10.244.0.1:12000")?.description, "10.244.0.1:12000")
    }

    func testRejectsWhatIsNotAnIPv4ListenAddress() {
        for text in ["", "4244", ":", ":99999", "localhost:4244", "10.244.0:1", "[::1]:4244", "1.2.3.4:x"] {
            XCTAssertNil(ListenAddress(text), text)
        }
    }
}
