import CSluiceShared
import XCTest

@testable import Datapath

/// `sluice_config` in a real pinned map: each setter changes its own option and keeps the other,
/// and a second `Datapath` on the same pins reads what the first wrote (the options outlive an
/// agent restart and reach programs already attached).
final class DatapathConfigTests: XCTestCase {
    private var test: TestDatapath!

    override func setUpWithError() throws { test = try TestDatapath() }
    override func tearDown() { test?.close() }

    func testEachOptionIsWrittenWithoutTouchingTheOther() throws {
        let datapath = test.datapath
        XCTAssertEqual(try datapath.config().deny_response, UInt8(SLUICE_DENY_RESPONSE_NONE.rawValue), "default")
        XCTAssertEqual(try datapath.config().no_allowed_records, 0, "allowed traffic recorded by default")

        try datapath.setDenyResponse(.icmp)
        XCTAssertEqual(try datapath.config().deny_response, UInt8(SLUICE_DENY_RESPONSE_ICMP.rawValue))
        try datapath.setAllowedTrafficRecords(false)
        XCTAssertEqual(try datapath.config().no_allowed_records, 1)
        XCTAssertEqual(
            try datapath.config().deny_response, UInt8(SLUICE_DENY_RESPONSE_ICMP.rawValue), "kept by the other setter")

        try datapath.setDenyResponse(.none)
        XCTAssertEqual(try datapath.config().deny_response, UInt8(SLUICE_DENY_RESPONSE_NONE.rawValue))
        XCTAssertEqual(try datapath.config().no_allowed_records, 1, "kept by the other setter")
        try datapath.setAllowedTrafficRecords(true)
        XCTAssertEqual(try datapath.config().no_allowed_records, 0)
    }

    func testTheOptionsAreInThePinnedMapASecondOpenSees() throws {
        try test.datapath.setDenyResponse(.icmp)
        try test.datapath.setAllowedTrafficRecords(false)
        let again = try Datapath.open(objectDirectory: TestDatapath.objectDirectory(), pinDirectory: test.pinDirectory)
        defer { again.close() }
        let config = try again.config()
        XCTAssertEqual(config.deny_response, UInt8(SLUICE_DENY_RESPONSE_ICMP.rawValue))
        XCTAssertEqual(config.no_allowed_records, 1)
    }

    func testDenyResponseNamesAreTheAgentOptionValues() {
        XCTAssertEqual(Datapath.DenyResponse.allCases.map(\.rawValue), ["none", "icmp"])
        XCTAssertEqual(Datapath.DenyResponse(rawValue: "icmp"), .icmp)
        XCTAssertNil(Datapath.DenyResponse(rawValue: "reject"))
    }
}
