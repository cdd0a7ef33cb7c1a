import CLibbpf
import Glibc
import SluiceTestSupport
import XCTest

@testable import Datapath

/// The to-endpoint program on the egress of `lo` in a namespace of the test's own: created
/// with its clsact qdisc, attached idempotently beside the ingress filter, and detached (a
/// missing filter or device is no error).
final class DatapathAttachEgressTests: XCTestCase {
    private var test: TestDatapath!

    override func setUpWithError() throws { test = try TestDatapath() }
    override func tearDown() { test?.close() }

    func testTheToEndpointProgramIsAttachedToEgressBesideTheIngressFilter() throws {
        let datapath = test.datapath
        let toEndpoint = NetnsThread.programID(try datapath.tcObject.programFD(named: Datapath.toEndpointProgramName))
        let fromEndpoint = NetnsThread.programID(datapath.tcProgramFD)
        let seen = try NetnsThread.run { () throws -> [Int64] in
            try datapath.attachToEndpoint(ifindex: 1)  // creates the clsact qdisc
            try datapath.attachToEndpoint(ifindex: 1)
            try datapath.attachEndpoint(ifindex: 1)  // the qdisc exists now
            let both = [
                NetnsThread.tcFilterProgramID(ifindex: 1, BPF_TC_EGRESS),
                NetnsThread.tcFilterProgramID(ifindex: 1, BPF_TC_INGRESS),
            ]
            try datapath.detachToEndpoint(ifindex: 1)
            let after = [
                NetnsThread.tcFilterProgramID(ifindex: 1, BPF_TC_EGRESS),
                NetnsThread.tcFilterProgramID(ifindex: 1, BPF_TC_INGRESS),
            ]
            try datapath.detachToEndpoint(ifindex: 1)
            try datapath.detachToEndpoint(ifindex: 9999)
            return both + after
        }
        XCTAssertEqual(seen[0], toEndpoint)
        XCTAssertEqual(seen[1], fromEndpoint)
        XCTAssertLessThan(seen[2], 0, "egress detached")
        XCTAssertEqual(seen[3], fromEndpoint, "the ingress filter stays")
        XCTAssertNotEqual(toEndpoint, fromEndpoint)
    }

    func testAttachingToAMissingDeviceFailsNamingItsEgress() throws {
        let datapath = test.datapath
        let message = try NetnsThread.run { () -> String in
            do {
                try datapath.attachToEndpoint(ifindex: 9999)
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertTrue(message.contains("ifindex 9999 egress"), message)
    }
}
