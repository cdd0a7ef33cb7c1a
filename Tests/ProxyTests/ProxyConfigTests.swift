import XCTest

@testable import Proxy

/// The proxy's configuration: the default connection cap for an open-file limit, and the CPUs it
/// sizes the workers by.
final class ProxyConfigTests: XCTestCase {
    func testTheDefaultCapLeavesRoomForTwoDescriptorsPerConnectionAndAReserve() {
        XCTAssertEqual(ProxyConfig.connectionCap(openFileLimit: 1_048_576), (1_048_576 - 1024) / 2)
        XCTAssertEqual(ProxyConfig.connectionCap(openFileLimit: 1024), (1024 - 256) / 2)
        XCTAssertEqual(ProxyConfig.connectionCap(openFileLimit: 20), 16, "never below 16")
        XCTAssertEqual(ProxyConfig.connectionCap(openFileLimit: UInt64.max), 1_000_000)
    }

    func testCoresIsOnlineCPUs() {
        XCTAssertEqual(ProxyConfig.cores, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        XCTAssertGreaterThan(ProxyConfig.cores, 0)
    }
}
