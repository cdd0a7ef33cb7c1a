import XCTest
@testable import DNS

final class DNSPlaceholderTests: XCTestCase {
    func testBuilds() { XCTAssertTrue(true) }
}
