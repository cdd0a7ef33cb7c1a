import DNS
import SluiceModel
import XCTest

@testable import Agent

/// The datapath seam of the FQDN service: the no-op datapath takes every answer at once (so the
/// answer is released) and keeps no IP for a connection.
final class FQDNDatapathTests: XCTestCase {
    func testTheNoopDatapathInstallsEverythingAndHoldsNothing() throws {
        let datapath: any FQDNDatapath = NoopFQDNDatapath()
        let ip = try XCTUnwrap(IPAddress("192.0.2.1"))
        XCTAssertTrue(datapath.install(ips: [ip], for: "a.example.com."))
        XCTAssertTrue(datapath.install(ips: [], for: "b.example.com."))
        datapath.remove(ips: [ip], for: "a.example.com.")
        datapath.collectConnections()
        XCTAssertFalse(datapath.hasConnections(to: ip))
    }
}
