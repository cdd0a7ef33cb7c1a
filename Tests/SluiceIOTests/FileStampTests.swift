import Glibc
import SluiceIO
import XCTest

/// `FileStamp` on real files: a missing file, a rewrite in place, a replacement by rename.
final class FileStampTests: XCTestCase {
    private var dir = ""

    override func setUpWithError() throws {
        var template = Array("/tmp/sluice-stamp-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        dir = String(cString: try XCTUnwrap(made))
    }

    override func tearDown() {
        for name in Files.list(dir) { unlink(dir + "/" + name) }
        rmdir(dir)
    }

    func testMissingFileHasNoStamp() {
        let stamp = FileStamp(path: dir + "/missing.pem")
        XCTAssertEqual(stamp.size, -1)
        XCTAssertEqual(stamp.inode, 0)
        XCTAssertEqual(stamp.mtimeNs, 0)
    }

    func testStampFollowsTheFilesStatAndChangesWithItsContent() throws {
        let path = dir + "/cert.pem"
        try Files.writeAtomically(path, Array("first".utf8))
        let first = FileStamp(path: path)
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0)
        XCTAssertEqual(first.inode, UInt64(st.st_ino))
        XCTAssertEqual(first.size, 5)
        XCTAssertEqual(first.mtimeNs, Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec))
        XCTAssertEqual(FileStamp(path: path), first)

        // A replacement by rename (how certificates are renewed) is a new inode and size.
        try Files.writeAtomically(path, Array("second!".utf8))
        let second = FileStamp(path: path)
        XCTAssertEqual(second.size, 7)
        XCTAssertNotEqual(second, first)
    }
}
