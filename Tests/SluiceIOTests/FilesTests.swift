import Glibc
import SluiceIO
import SluiceSync
import XCTest

/// The agent's file and lock helpers (no Foundation in the agent): real files in a temporary
/// directory, a real condition variable.
final class FilesTests: XCTestCase {
    private var dir = ""

    override func setUpWithError() throws {
        var template = Array("/tmp/sluice-files-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        dir = String(cString: try XCTUnwrap(made))
    }

    override func tearDown() {
        for name in Files.list(dir) { unlink(dir + "/" + name) }
        rmdir(dir + "/a/b/c"); rmdir(dir + "/a/b"); rmdir(dir + "/a")
        rmdir(dir)
    }

    func testAtomicWriteThenReadGivesTheBytesAndLeavesNoTemporaryFile() throws {
        let path = dir + "/state.json"
        let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try Files.writeAtomically(path, bytes)
        XCTAssertEqual(try Files.read(path), bytes)
        try Files.writeAtomically(path, Array("{}".utf8))
        XCTAssertEqual(Files.readIfPresent(path), Array("{}".utf8))
        XCTAssertEqual(Files.list(dir), ["state.json"])
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o644)
    }

    func testAtomicWriterReplacesOnCommitOnlyAndCleansUpWhenDropped() throws {
        let path = dir + "/policy.json"
        try Files.writeAtomically(path, Array("old".utf8))
        do {
            let dropped = try Files.AtomicWriter(path: path)
            try dropped.write(Array("half".utf8)[...])
            XCTAssertEqual(Files.list(dir).count, 2)  // the file and its temporary
        }
        XCTAssertEqual(try Files.read(path), Array("old".utf8))
        XCTAssertEqual(Files.list(dir), ["policy.json"])

        let writer = try Files.AtomicWriter(path: path, mode: 0o600)
        try writer.write(Array("{\"a\":".utf8)[...])
        try writer.write(Array("[1, 2]}".utf8)[1...])
        XCTAssertEqual(try Files.read(path), Array("old".utf8))
        try writer.commit()
        XCTAssertEqual(try Files.read(path), Array("{\"a\":1, 2]}".utf8))
        XCTAssertEqual(Files.list(dir), ["policy.json"])
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        XCTAssertThrowsError(try writer.commit())
        XCTAssertThrowsError(try Files.AtomicWriter(path: dir + "/missing/policy.json"))
    }

    func testMissingFilesAndDirectories() {
        XCTAssertNil(Files.readIfPresent(dir + "/absent"))
        XCTAssertThrowsError(try Files.read(dir + "/absent")) { error in
            XCTAssertEqual((error as? SyscallError)?.errno, ENOENT)
        }
        XCTAssertEqual(Files.list(dir + "/absent"), [])
        XCTAssertFalse(Files.exists(dir + "/absent"))
        XCTAssertThrowsError(try Files.writeAtomically(dir + "/no/such/dir/f", [1]))
    }

    func testCreateDirectoriesIsMkdirP() throws {
        try Files.createDirectories(dir + "/a/b/c")
        try Files.createDirectories(dir + "/a/b/c")
        XCTAssertTrue(Files.exists(dir + "/a/b/c"))
        try Files.writeAtomically(dir + "/file", [1])
        XCTAssertThrowsError(try Files.createDirectories(dir + "/file")) { error in
            XCTAssertEqual((error as? SyscallError)?.errno, ENOTDIR)
        }
    }

    func testDirectoryOfAPath() {
        XCTAssertEqual(Files.directory(of: "/run/sluice/agent.sock"), "/run/sluice")
        XCTAssertEqual(Files.directory(of: "/agent.sock"), "/")
        XCTAssertEqual(Files.directory(of: "agent.sock"), ".")
        XCTAssertTrue(Files.executablePath()?.hasPrefix("/") ?? false)
    }

    func testConditionTimesOutAndWakesOnSignal() throws {
        let condition = Condition()
        condition.lock()
        let start = SystemClock.monotonicNs()
        XCTAssertFalse(condition.wait(untilMonotonicNs: start + 50_000_000))
        XCTAssertGreaterThanOrEqual(SystemClock.monotonicNs() - start, 50_000_000)
        condition.unlock()

        // The thread can set `ready` only while this thread waits (it holds the lock until then),
        // so the wait that sees it was woken by the signal, not by the deadline.
        nonisolated(unsafe) var ready = false
        let thread = WorkerThread(name: "condition-test") {
            condition.lock()
            ready = true
            condition.signal()
            condition.unlock()
        }
        condition.lock()
        try thread.start()
        var woke = false
        while !ready {
            woke = condition.wait(untilMonotonicNs: SystemClock.monotonicNs() + 5_000_000_000)
        }
        condition.unlock()
        thread.join()
        XCTAssertTrue(woke)
    }

    func testLockSerialisesThreads() throws {
        let lock = Lock()
        nonisolated(unsafe) var counter = 0
        let threads = (0..<2).map { _ in
            WorkerThread(name: "lock-test") { for _ in 0..<100_000 { lock.withLock { counter += 1 } } }
        }
        for t in threads { try t.start() }
        for t in threads { t.join() }
        XCTAssertEqual(lock.withLock { counter }, 200_000)
    }

    func testThreadCarriesItsNameCutToFifteenBytes() throws {
        nonisolated(unsafe) var names: [String] = []
        for name in ["worker-3", "a-name-longer-than-fifteen"] {
            let thread = WorkerThread(name: name) {
                let comm = (try? Files.read("/proc/thread-self/comm")) ?? []
                names.append(String(decoding: comm, as: UTF8.self))
            }
            try thread.start()
            thread.join()
        }
        XCTAssertEqual(names, ["worker-3\n", "a-name-longer-t\n"])
    }
}
