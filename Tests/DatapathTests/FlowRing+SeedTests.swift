import Foundation
import XCTest

@testable import Datapath

/// The uuid seed every reader of a ring computes alike: the boot ID, then the pinned ring's inode
/// and change time, so a re-created ring gets a new seed and the same ring keeps its seed.
final class FlowRingSeedTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "sluice-seed-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private var boot: String {
        (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    func testWithoutThePinTheSeedIsTheBootID() {
        XCTAssertFalse(boot.isEmpty)
        XCTAssertEqual(FlowRing.uuidSeed(pinDirectory: directory), boot)
    }

    func testThePinsInodeAndChangeTimeFollowTheBootID() throws {
        let pin = directory + "/sluice_flows"
        XCTAssertTrue(FileManager.default.createFile(atPath: pin, contents: Data([1])))
        let seed = FlowRing.uuidSeed(pinDirectory: directory)
        var st = stat()
        XCTAssertEqual(stat(pin, &st), 0)
        XCTAssertEqual(seed, "\(boot)/\(st.st_ino)/\(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec)")
        XCTAssertEqual(FlowRing.uuidSeed(pinDirectory: directory), seed, "the same ring keeps its seed")

        // A re-created ring (another inode: the old one is still held open) gets another seed.
        let held = try FileHandle(forReadingFrom: URL(fileURLWithPath: pin))
        defer { try? held.close() }
        try FileManager.default.removeItem(atPath: pin)
        XCTAssertTrue(FileManager.default.createFile(atPath: pin, contents: Data([2])))
        XCTAssertNotEqual(FlowRing.uuidSeed(pinDirectory: directory), seed)
    }
}
