import XCTest
@testable import Sandbox

final class SandboxPlaceholderTests: XCTestCase {
    func testBuilds() { XCTAssertTrue(true) }
}
