import CLibbpf
import CSluiceShared
import Proxy
import XCTest

@testable import Agent
@testable import Datapath

/// The steering table as the proxy sees it through the adapter, on a real datapath (maps pinned
/// in a test directory; needs root and bpffs, fails without them): a steered tuple comes back as
/// its `SteerInfo`, any other tuple as nil, and the epoch is the datapath's.
final class DatapathSteeringTests: XCTestCase {
    /// A path three levels below the repository, as `NodePolicyTests.bpfDirectory` counts (this file is one deeper).
    private static let repositoryFile = String(#filePath.dropLast(#filePath.split(separator: "/").last!.count + 1))
    private var pinDirectory = ""
    private var datapath: Datapath?

    override func setUpWithError() throws {
        pinDirectory = "/sys/fs/bpf/sluice-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        datapath = try Datapath.open(
            objectDirectory: NodePolicyTests.bpfDirectory(file: Self.repositoryFile), pinDirectory: pinDirectory)
    }

    override func tearDown() {
        datapath?.close()
        try? Datapath.unpinAll(pinDirectory: pinDirectory)
    }

    func testASteeredTupleComesBackAsItsSteerInfo() throws {
        let datapath = try XCTUnwrap(datapath)
        var key = sluice_tuple(
            src_ip4: 0x0B00_000A, dst_ip4: 0x0C00_000A, src_port: 40_000, dst_port: 80, proto: 6, _pad: (0, 0, 0))
        var value = sluice_steer_info()
        value.src_endpoint = 11
        value.dst_endpoint = 12
        value.src_identity = 256
        value.dst_identity = 257
        value.sides = 3
        value.created_ns = 123
        XCTAssertEqual(bpf_map_update_elem(datapath.steeredFD, &key, &value, 0), 0)

        let steering = DatapathSteering(datapath)
        let info = try XCTUnwrap(
            steering.lookup(
                sourceAddress: 0x0B00_000A, sourcePort: 40_000, destinationAddress: 0x0C00_000A, destinationPort: 80,
                protocol: 6))
        XCTAssertEqual(info.sourceEndpoint, 11)
        XCTAssertEqual(info.destinationEndpoint, 12)
        XCTAssertEqual(info.sourceIdentity, 256)
        XCTAssertEqual(info.destinationIdentity, 257)
        XCTAssertEqual(info.sides.rawValue, 3)
        XCTAssertEqual(info.createdNs, 123)
        XCTAssertNil(
            steering.lookup(
                sourceAddress: 0x0B00_000A, sourcePort: 40_000, destinationAddress: 0x0C00_000A, destinationPort: 80,
                protocol: 17),
            "another protocol is another tuple")
        XCTAssertNil(
            steering.lookup(
                sourceAddress: 0x0C00_000A, sourcePort: 80, destinationAddress: 0x0B00_000A, destinationPort: 40_000,
                protocol: 6),
            "the reversed tuple is not steered")
    }

    func testTheEpochIsTheDatapaths() throws {
        let datapath = try XCTUnwrap(datapath)
        let steering = DatapathSteering(datapath)
        let before = try XCTUnwrap(steering.changeEpoch)
        datapath.steeringEpoch.changed()
        let after = try XCTUnwrap(steering.changeEpoch)
        XCTAssertEqual(after.epoch, before.epoch + 1)
        XCTAssertGreaterThan(after.lastChangeNs, 0)
    }
}
