import XCTest
@testable import Policy

final class PolicyPlaceholderTests: XCTestCase {
    func testBuilds() { XCTAssertTrue(true) }
}
