import XCTest

@testable import HubbleObserver

final class ObserverOptionsTests: XCTestCase {
    func testDefaultsReadTheSandboxAgentsRingAndState() {
        let options = ObserverOptions()
        XCTAssertEqual(options.pinDirectory, "/sys/fs/bpf/sluice")
        XCTAssertEqual(options.stateDirectory, "/run/sluice/state")
        XCTAssertEqual(options.grpcAddress.port, 4244)
        XCTAssertEqual(options.pollIntervalMs, 20)
        XCTAssertNil(options.netns)
    }
}
