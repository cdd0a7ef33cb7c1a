import Glibc
import XCTest

@testable import Datapath

final class BPFFilesystemTests: XCTestCase {
    private var root = ""

    override func setUp() {
        root = "/tmp/sluice-bpffs-test-\(getpid())"
    }

    override func tearDown() {
        for path in ["\(root)/a/b/c", "\(root)/a/b", "\(root)/a", root] { rmdir(path) }
    }

    func testMakeDirectoriesCreatesEachLevelPrivateAndIsIdempotent() throws {
        try BPFFilesystem.makeDirectories("\(root)/a/b/c")
        try BPFFilesystem.makeDirectories("\(root)/a/b/c")
        var info = stat()
        XCTAssertEqual(stat("\(root)/a/b/c", &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o700)
        XCTAssertTrue(BPFFilesystem.exists("\(root)/a/b"))
        XCTAssertFalse(BPFFilesystem.exists("\(root)/a/b/d"))
    }

    func testMakeDirectoriesReportsTheComponentThatFailed() throws {
        try BPFFilesystem.makeDirectories(root)
        let file = "\(root)/file"
        let fd = open(file, O_CREAT | O_WRONLY, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        close(fd)
        defer { unlink(file) }
        XCTAssertThrowsError(try BPFFilesystem.makeDirectories("\(file)/below")) {
            XCTAssertEqual($0 as? DatapathError, DatapathError(call: "mkdir", errno: ENOTDIR, context: "\(file)/below"))
        }
    }

    func testASecondLockOnTheDirectoryWaitsThenFailsAndSucceedsOnceTheFirstIsGone() throws {
        let first = try BPFFilesystem.lockDirectory("\(root)/a", waitMs: 0)
        // Another open of the directory is another lock holder, as another agent process is.
        XCTAssertThrowsError(try BPFFilesystem.lockDirectory("\(root)/a", waitMs: 200)) {
            XCTAssertEqual(($0 as? DatapathError)?.errno, EWOULDBLOCK)
            XCTAssertTrue(String(describing: $0).contains("another sluice-agent"), "\($0)")
        }
        close(first)
        let second = try BPFFilesystem.lockDirectory("\(root)/a", waitMs: 0)
        XCTAssertGreaterThanOrEqual(second, 0)
        close(second)
    }

    func testUnpinRemovesAndToleratesAMissingPin() throws {
        try BPFFilesystem.makeDirectories(root)
        let pin = "\(root)/sluice_x"
        close(open(pin, O_CREAT | O_WRONLY, 0o600))
        try BPFFilesystem.unpin(pin)
        XCTAssertFalse(BPFFilesystem.exists(pin))
        XCTAssertNoThrow(try BPFFilesystem.unpin(pin))
        XCTAssertThrowsError(try BPFFilesystem.unpin(root)) {
            XCTAssertEqual(($0 as? DatapathError)?.call, "unlink")
        }
    }

    func testBPFFSIsMountedWhereTheAgentPinsAndThePinNamesAreDistinct() throws {
        try BPFFilesystem.ensureMounted()
        let mounts = Self.read("/proc/self/mounts").split(separator: "\n").map { $0.split(separator: " ") }
        XCTAssertTrue(
            mounts.contains { $0.count > 2 && $0[1] == BPFFilesystem.mountPoint && $0[2] == "bpf" },
            "no bpf file system on \(BPFFilesystem.mountPoint) in /proc/self/mounts")
        XCTAssertEqual(Set(BPFFilesystem.pinnedNames).count, BPFFilesystem.pinnedNames.count)
        XCTAssertTrue(
            BPFFilesystem.pinnedNames.allSatisfy { $0.hasPrefix("sluice_") || $0 == Datapath.skLookupLinkName })
    }

    private static func read(_ path: String) -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = Glibc.read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            bytes += chunk[..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
