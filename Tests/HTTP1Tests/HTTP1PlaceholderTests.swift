import XCTest
@testable import HTTP1

final class HTTP1PlaceholderTests: XCTestCase {
    func testBuilds() { XCTAssertTrue(true) }
}
