import XCTest

@testable import Sandbox

/// The pure parts of the network steps: reading an ifindex from `ip -o link show` and the node's
/// sysctls (the steps themselves run in the integration scenarios, which build the sandbox).
final class SandboxManagerNetworkTests: XCTestCase {
    func testParseInterfaceIndex() {
        XCTAssertEqual(SandboxManager.parseInterfaceIndex("12: lxc1a2b3c4d@if2: <BROADCAST> mtu 1500"), 12)
        XCTAssertNil(SandboxManager.parseInterfaceIndex("garbage"))
    }

    func testInterfaceIndexIsTheLeadingNumberOnly() {
        XCTAssertEqual(SandboxManager.parseInterfaceIndex("7: eth0@if8: <BROADCAST,UP> mtu 1500"), 7)
        XCTAssertEqual(SandboxManager.parseInterfaceIndex(" 3 : lxc0: <UP>"), 3)
        XCTAssertNil(SandboxManager.parseInterfaceIndex(": lxc0"))
        XCTAssertNil(SandboxManager.parseInterfaceIndex("eth0: <UP>"))
        XCTAssertNil(SandboxManager.parseInterfaceIndex(""))
    }

    func testTheNodeForwardsWithoutReversePathFiltering() {
        XCTAssertEqual(
            SandboxManager.nodeSysctls,
            ["net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"])
    }
}
