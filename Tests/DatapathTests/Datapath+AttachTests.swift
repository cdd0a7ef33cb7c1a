import CLibbpf
import CSluice
import Glibc
import SluiceTestSupport
import XCTest

@testable import Datapath

/// Attaching in a network namespace of the test's own (`NetnsThread`): the tc program on the
/// ingress of `lo` with Sluice's handle and priority, idempotently, and detached again (a
/// missing filter or device is no error); the sk_lookup program linked to the namespace, pinned,
/// and re-used by the next attach instead of a second link.
final class DatapathAttachTests: XCTestCase {
    private var test: TestDatapath!

    override func setUpWithError() throws { test = try TestDatapath() }
    override func tearDown() { test?.close() }

    func testTheTCProgramIsAttachedToIngressOnceAndDetached() throws {
        let datapath = test.datapath
        let expected = NetnsThread.programID(datapath.tcProgramFD)
        XCTAssertGreaterThan(expected, 0)
        let seen = try NetnsThread.run { () throws -> [Int64] in
            var seen = [NetnsThread.tcFilterProgramID(ifindex: 1, BPF_TC_INGRESS)]
            try datapath.attachEndpoint(ifindex: 1)
            seen.append(NetnsThread.tcFilterProgramID(ifindex: 1, BPF_TC_INGRESS))
            try datapath.attachEndpoint(ifindex: 1)  // again: replaces, no second filter
            seen.append(NetnsThread.tcFilterProgramID(ifindex: 1, BPF_TC_INGRESS))
            seen.append(NetnsThread.tcFilterProgramID(ifindex: 1, BPF_TC_EGRESS))
            try datapath.detachEndpoint(ifindex: 1)
            seen.append(NetnsThread.tcFilterProgramID(ifindex: 1, BPF_TC_INGRESS))
            try datapath.detachEndpoint(ifindex: 1)  // gone already
            try datapath.detachEndpoint(ifindex: 9999)  // no such device
            return seen
        }
        XCTAssertLessThan(seen[0], 0, "nothing attached before")
        XCTAssertEqual(seen[1], expected)
        XCTAssertEqual(seen[2], expected)
        XCTAssertLessThan(seen[3], 0, "egress is not this call's")
        XCTAssertLessThan(seen[4], 0, "detached")
    }

    func testAttachingToAMissingDeviceNamesIt() throws {
        let datapath = test.datapath
        let error = try NetnsThread.run { () -> (any Error)? in
            do {
                try datapath.attachEndpoint(ifindex: 9999)
                return nil
            } catch {
                return error
            }
        }
        XCTAssertTrue("\(error.map { "\($0)" } ?? "no error")".contains("ifindex 9999"), "\(String(describing: error))")
    }

    func testSkLookupIsLinkedToTheNamespacePinnedAndReusedByTheNextAttach() throws {
        let datapath = test.datapath
        let linkPath = test.pinDirectory + "/" + Datapath.skLookupLinkName
        let (netns, linked, again) = try NetnsThread.run { () throws -> (UInt32, UInt32, UInt32) in
            try datapath.attachSkLookup(netnsPath: "/proc/thread-self/ns/net")
            var linked: UInt32 = 0
            _ = CSluice_bpf_link_netns_ino(datapath.skLookupLinkFD, &linked)
            // An agent restart: a second Datapath on the same pins finds the pinned link.
            let restarted = try Datapath.open(
                objectDirectory: TestDatapath.objectDirectory(), pinDirectory: self.test.pinDirectory)
            defer { restarted.close() }
            try restarted.attachSkLookup(netnsPath: "/proc/thread-self/ns/net")
            var again: UInt32 = 0
            _ = CSluice_bpf_link_netns_ino(restarted.skLookupLinkFD, &again)
            return (NetnsThread.inode(), linked, again)
        }
        XCTAssertTrue(BPFFilesystem.exists(linkPath), "the link is pinned")
        XCTAssertEqual(linked, netns)
        XCTAssertEqual(again, netns, "the restarted datapath holds the link of the same namespace")
        XCTAssertThrowsError(try datapath.attachSkLookup(netnsPath: "/proc/no-such/ns/net")) {
            XCTAssertTrue("\($0)".contains("/proc/no-such/ns/net"), "\($0)")
        }
    }
}
