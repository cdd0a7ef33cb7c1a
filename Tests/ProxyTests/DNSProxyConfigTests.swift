import XCTest

@testable import Proxy

/// The DNS proxy's limits: the documented defaults, counts that cannot be below their floor, and
/// an upstream address as one dictionary key.
final class DNSProxyConfigTests: XCTestCase {
    func testDefaults() {
        let config = DNSProxyConfig()
        XCTAssertEqual(config.listenAddress, 0x0100_007F, "127.0.0.1 in network order")
        XCTAssertEqual(config.listenPort, 15053)
        XCTAssertEqual(config.forwardTimeoutNs, 10_000_000_000)
        XCTAssertEqual(config.tcpMaxMessageSize, 65535)
        XCTAssertEqual(config.upstreamSocketMaxQueries, 256)
        XCTAssertEqual(config.tcpMaxQueriesInFlight, 128)
        XCTAssertEqual(config.fqdnMaxEntries, 65536)
        XCTAssertNil(config.upstreamOverride)
    }

    func testCountsKeepTheirFloor() {
        let config = DNSProxyConfig(
            upstreamSocketMaxQueries: 0, tcpMaxBufferedBytes: -5, tcpMaxQueriesInFlight: -1, fqdnMaxEntries: 0)
        XCTAssertEqual(config.upstreamSocketMaxQueries, 1)
        XCTAssertEqual(config.tcpMaxBufferedBytes, 0)
        XCTAssertEqual(config.tcpMaxQueriesInFlight, 1)
        XCTAssertEqual(config.fqdnMaxEntries, 1)
    }

    func testAnUpstreamIsOneKey() {
        let a = DNSEndpointAddress(address: 0x0100_000A, port: 53)
        XCTAssertEqual(a.key, 0x0100_000A << 16 | 53)
        XCTAssertNotEqual(a.key, DNSEndpointAddress(address: 0x0100_000A, port: 5353).key)
        XCTAssertNotEqual(a.key, DNSEndpointAddress(address: 0x0200_000A, port: 53).key)
    }
}
