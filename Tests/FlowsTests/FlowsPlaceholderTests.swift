import XCTest
@testable import Flows

final class FlowsPlaceholderTests: XCTestCase {
    func testBuilds() { XCTAssertTrue(true) }
}
