import Glibc
import SluiceIO
import XCTest

@testable import Agent

/// The export file's rotation (Hubble's exporter, lumberjack): a line that would make the file
/// larger than its limit goes into a new file after the old one is renamed with its time; only
/// the newest backups are kept. Real files in a temporary directory.
final class FlowExporterTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        var template = Array("/tmp/sluice-export-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in
            mkdtemp(buffer.baseAddress!).map { String(cString: $0) }
        }
        directory = try XCTUnwrap(made)
    }

    override func tearDown() {
        for name in Files.list(directory) { Files.remove(directory + "/" + name) }
        rmdir(directory)
    }

    private func text(_ path: String) -> String {
        String(decoding: Files.readIfPresent(path) ?? [], as: UTF8.self)
    }

    func testTheFileRotatesBeforeALineWouldPassTheLimitAndKeepsTheNewestBackups() throws {
        let path = directory + "/flows.json"
        var file = RotatingFile(path: path, maxSizeBytes: 20, maxBackups: 2)
        let second: UInt64 = 1_000_000_000
        let t0: UInt64 = 1_764_000_000 * second
        try file.write("line-0001", nowNs: t0)  // 10 bytes
        try file.write("line-0002", nowNs: t0)  // 20 bytes: at the limit, no rotation
        XCTAssertEqual(text(path), "line-0001\nline-0002\n")
        XCTAssertEqual(RotatingFile.backups(of: path), [])
        try file.write("line-0003", nowNs: t0 + 1 * second)  // would be 30: rotate first
        XCTAssertEqual(text(path), "line-0003\n")
        let first = RotatingFile.backupName(path, nowNs: t0 + 1 * second)
        XCTAssertEqual(first, directory + "/flows-2025-11-24T16-00-01.000.json")
        XCTAssertEqual(RotatingFile.backups(of: path), [first])
        XCTAssertEqual(text(first), "line-0001\nline-0002\n")
        for i in 4...9 { try file.write("line-000\(i)", nowNs: t0 + UInt64(i) * second) }
        // 0003+0004 rotated at 5 s, 0005+0006 at 7 s, 0007+0008 at 9 s; the oldest went.
        let backups = RotatingFile.backups(of: path)
        XCTAssertEqual(
            backups,
            [
                RotatingFile.backupName(path, nowNs: t0 + 7 * second),
                RotatingFile.backupName(path, nowNs: t0 + 9 * second),
            ])
        XCTAssertEqual(text(backups[0]), "line-0005\nline-0006\n")
        XCTAssertEqual(text(backups[1]), "line-0007\nline-0008\n")
        XCTAssertEqual(text(path), "line-0009\n")
        file.close()
    }

    func testAReopenedFileCountsWhatItHoldsAndTwoRotationsInOneMillisecondKeepBoth() throws {
        let path = directory + "/export"
        var file = RotatingFile(path: path, maxSizeBytes: 12, maxBackups: 5)
        try file.write("0123456789", nowNs: 5_000_000)
        file.close()
        var again = RotatingFile(path: path, maxSizeBytes: 12, maxBackups: 5)
        try again.write("abc", nowNs: 5_000_000)  // 11 + 4 > 12: the existing bytes count
        try again.write("abcdefghij", nowNs: 5_000_000)
        XCTAssertEqual(text(path), "abcdefghij\n")
        let backups = RotatingFile.backups(of: path)
        XCTAssertEqual(backups.count, 2, "\(backups)")
        XCTAssertEqual(backups.map(text).sorted(), ["0123456789\n", "abc\n"])
        again.close()
    }
}
