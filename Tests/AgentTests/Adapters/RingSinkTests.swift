import CSluiceShared
import Datapath
import XCTest

@testable import Agent

/// The proxy's flow sink writes in place into the pinned ring `sluice observe` reads (a real
/// datapath's maps pinned in a test directory; needs root and bpffs, fails without them).
final class RingSinkTests: XCTestCase {
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

    func testRecordsAppendedThroughTheSinkAreReadInOrder() throws {
        let sink = RingSink(try FlowRing.openForWriting(pinDirectory: pinDirectory))
        let reader = try FlowRing.openForReading(pinDirectory: pinDirectory)
        XCTAssertNil(reader.read(seq: 0))
        for port: UInt16 in [80, 443] {
            sink.append { record in
                record.pointee.dst_port = port
                record.pointee.l4_proto = 6
            }
        }
        XCTAssertEqual(try XCTUnwrap(reader.read(seq: 0)).dst_port, 80)
        XCTAssertEqual(try XCTUnwrap(reader.read(seq: 1)).dst_port, 443)
        XCTAssertEqual(reader.read(seq: 1)?.l4_proto, 6)
        XCTAssertNil(reader.read(seq: 2))
    }
}
