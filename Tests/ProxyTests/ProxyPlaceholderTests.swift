import XCTest
@testable import Proxy

final class ProxyPlaceholderTests: XCTestCase {
    func testBuilds() { XCTAssertTrue(true) }
}
