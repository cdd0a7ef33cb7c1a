import XCTest

@testable import Sandbox

final class SandboxManagerObserverTests: XCTestCase {
    func testTheObserverListensOnTheNodeAddressOnHubblesPorts() {
        let argv = SandboxManager.observerArguments(executable: "/x/sluice-observer", nodeIP: "10.244.0.1")
        XCTAssertEqual(
            argv,
            [
                "/x/sluice-observer", "--grpc-address", "10.244.0.1:4244", "--metrics-address", "10.244.0.1:9965",
                "--ui-address", "10.244.0.1:12000", "--metrics", "flow,drop,tcp,policy,httpV2,dns",
            ])
        XCTAssertTrue(argv[0].contains(SandboxManager.observerMarker), "down finds it by its marker")
        XCTAssertEqual(
            SandboxManager.observerArguments(executable: "o", nodeIP: "1.2.3.4", extra: ["--max-flows", "9"]).suffix(2),
            ["--max-flows", "9"])
    }
}
