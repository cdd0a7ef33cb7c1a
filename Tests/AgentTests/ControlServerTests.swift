import Glibc
import SluiceAPI
import SluiceIO
import SluiceJSON
import XCTest

@testable import Agent

/// `ControlServer` on a real unix socket in a temporary directory, served by its own thread: the
/// modes of the socket and its directory, peer credentials, a client that sends nothing (it is
/// timed out and does not hold up the others), the limit counted as progress (not the handler's
/// time, not a request that keeps coming, up to the reading limit), and a malformed request.
final class ControlServerTests: XCTestCase {
    private var directory = ""
    private var path: String { directory + "/run/agent.sock" }

    override func setUpWithError() throws {
        var template = Array("/tmp/sluice-control-XXXXXX".utf8CString)
        directory = String(
            cString: try XCTUnwrap(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }))
    }

    override func tearDown() {
        unlink(path)
        rmdir(directory + "/run")
        rmdir(directory)
    }

    /// A server answering `status` with "pong" and `get` with its timed-out count (read on the
    /// serving thread), served on a thread until the test ends.
    /// `slowStatus`: `status` takes that long and answers with a megabyte (more than the socket
    /// holds, so the answer is written over several poll rounds), as a large apply does.
    private func startServer(
        access: ControlAccess = ControlAccess(), timeoutNs: UInt64 = 5_000_000_000, slowStatus: UInt32? = nil
    ) throws -> (ControlServer, WorkerThread) {
        final class Box { weak var server: ControlServer? }
        let box = Box()
        let server = ControlServer(path: path, access: access, clientTimeoutNs: timeoutNs) { request, _ in
            if request.op == .get {
                return .success("\(box.server?.counters.timedOut ?? -1)")
            }
            if request.op == .status, let slowStatus {
                usleep(slowStatus)
                return .success(String(repeating: "x", count: 1 << 20))
            }
            return request.op == .status ? .success("pong") : .failure("pong")
        }
        box.server = server
        try server.bind()
        let thread = WorkerThread(name: "control-test") { try? server.serve() }
        try thread.start()
        return (server, thread)
    }

    private func stopServer(_ s: (ControlServer, WorkerThread)) {
        s.0.stop()
        s.1.join()
    }

    private func mode(_ path: String) -> mode_t {
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0, "stat \(path)")
        return st.st_mode & 0o7777
    }

    /// A connected client socket that sends nothing yet.
    private func connectIdle() throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = try ControlSocket.address(path)
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        XCTAssertEqual(r, 0)
        return fd
    }

    func testSocketIs0600InA0700DirectoryByDefault() throws {
        let s = try startServer()
        defer { stopServer(s) }
        XCTAssertEqual(mode(path), 0o600)
        XCTAssertEqual(mode(directory + "/run"), 0o700)
        let response = try ControlClient.send(ControlRequest(op: .status), path: path)
        XCTAssertTrue(response.ok)
        XCTAssertEqual(response.message, "pong")
    }

    func testAControlGroupMakesTheSocket0660AndTheDirectory0710OwnedByIt() throws {
        let s = try startServer(access: ControlAccess(group: 4321))
        defer { stopServer(s) }
        XCTAssertEqual(mode(path), 0o660)
        XCTAssertEqual(mode(directory + "/run"), 0o710)
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0)
        XCTAssertEqual(st.st_uid, 0)
        XCTAssertEqual(st.st_gid, 4321)
    }

    func testTheSocketIsNeverWiderThanItsModeEvenUnderAPermissiveUmask() throws {
        let old = umask(0)
        defer { umask(old) }
        let fd = try ControlServer.bindListening(path: path)
        defer { close(fd) }
        XCTAssertEqual(mode(path), 0o600)
        XCTAssertEqual(umask(0), 0, "the process umask is restored after bind")
    }

    func testAnIdleClientDoesNotHoldUpOthersAndIsTimedOut() throws {
        // 2 s for the idle client: an answer well before it shows the other client was not held up
        // (generous so a loaded machine cannot make it look held up).
        let s = try startServer(timeoutNs: 2_000_000_000)
        defer { stopServer(s) }
        let idle = try connectIdle()
        defer { close(idle) }
        let start = SystemClock.monotonicNs()
        let response = try ControlClient.send(ControlRequest(op: .status), path: path)
        XCTAssertEqual(response.message, "pong")
        XCTAssertLessThan(SystemClock.monotonicNs() - start, 1_500_000_000, "answered while the idle client waits")
        // The idle client is closed by the server at its deadline: its read sees end of file.
        var pfd = pollfd(fd: idle, events: Int16(POLLIN), revents: 0)
        XCTAssertEqual(poll(&pfd, 1, 6000), 1, "closed within the deadline")
        var byte: UInt8 = 0
        XCTAssertEqual(read(idle, &byte, 1), 0)
        // The counters are the serving thread's: read them through a request, which runs on it.
        XCTAssertEqual(try ControlClient.send(ControlRequest(op: .get), path: path).message, "1", "counted")
    }

    func testAHandlerSlowerThanTheTimeoutDoesNotCostTheClientItsAnswer() throws {
        // The handler takes 1.5 s against a 1 s limit, and its answer does not fit the socket of
        // a client that starts reading 0.3 s after it: the answer is still written whole (before,
        // the client was closed half-way through it, past the deadline counted from the accept).
        let s = try startServer(timeoutNs: 1_000_000_000, slowStatus: 1_500_000)
        defer { stopServer(s) }
        let fd = try connectIdle()
        defer { close(fd) }
        ControlSocket.writeAll(fd, try JSON.encode(ControlRequest(op: .status)))
        shutdown(fd, Int32(SHUT_WR))
        usleep(1_800_000)
        let response = try JSON.decode(ControlResponse.self, from: ControlSocket.readAll(fd))
        XCTAssertTrue(response.ok)
        XCTAssertEqual(response.message.utf8.count, 1 << 20)
        XCTAssertEqual(try ControlClient.send(ControlRequest(op: .get), path: path).message, "0", "none timed out")
    }

    func testARequestThatKeepsComingIsReadPastTheTimeout() throws {
        // Five pieces 0.25 s apart against a 0.4 s limit: each piece is progress.
        let s = try startServer(timeoutNs: 400_000_000)
        defer { stopServer(s) }
        let fd = try connectIdle()
        defer { close(fd) }
        let request = try JSON.encode(ControlRequest(op: .status))
        let piece = (request.count + 4) / 5
        for start in stride(from: 0, to: request.count, by: piece) {
            let bytes = Array(request[start..<min(start + piece, request.count)])
            // MSG_NOSIGNAL: a server that closed early fails the test, not the test process.
            XCTAssertEqual(send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)), bytes.count, "still open")
            usleep(250_000)
        }
        shutdown(fd, Int32(SHUT_WR))
        let response = try JSON.decode(ControlResponse.self, from: ControlSocket.readAll(fd))
        XCTAssertEqual(response.message, "pong")
    }

    func testATricklingRequestEndsAtTheReadingLimit() throws {
        // A space every 20 ms keeps a 0.1 s limit from expiring; reading still ends at 12 limits
        // (1.2 s) after the accept, and the client is closed without an answer.
        let s = try startServer(timeoutNs: 100_000_000)
        defer { stopServer(s) }
        let fd = try connectIdle()
        defer { close(fd) }
        let start = SystemClock.monotonicNs()
        var closedAfter: UInt64?
        var space: UInt8 = 0x20
        while SystemClock.monotonicNs() - start < 4_000_000_000 {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 20) == 1 || send(fd, &space, 1, Int32(MSG_NOSIGNAL)) < 0 {
                closedAfter = SystemClock.monotonicNs() - start
                break
            }
        }
        let after = try XCTUnwrap(closedAfter, "still open after 4 s")
        XCTAssertGreaterThanOrEqual(after, 1_100_000_000, "the trickle counted as progress")
        XCTAssertLessThan(after, 3_000_000_000)
        var byte: UInt8 = 0
        XCTAssertLessThanOrEqual(read(fd, &byte, 1), 0, "no answer")
        XCTAssertEqual(try ControlClient.send(ControlRequest(op: .get), path: path).message, "1", "counted")
    }

    func testASharedDirectoryIsNeverMadePrivate() {
        for shared in ["/tmp/agent.sock", "/run/agent.sock", "/agent.sock"] {
            XCTAssertThrowsError(try ControlServer.bindListening(path: shared), shared) {
                XCTAssertTrue("\($0)".contains("is shared"), "\($0)")
            }
        }
        var st = stat()
        XCTAssertEqual(stat("/tmp", &st), 0)
        XCTAssertEqual(st.st_mode & 0o7777, 0o1777, "/tmp untouched")
    }

    func testAMalformedRequestGetsAClearAnswer() throws {
        let s = try startServer()
        defer { stopServer(s) }
        let fd = try connectIdle()
        defer { close(fd) }
        ControlSocket.writeAll(fd, Array("{not json".utf8))
        shutdown(fd, Int32(SHUT_WR))
        let response = try JSON.decode(ControlResponse.self, from: ControlSocket.readAll(fd))
        XCTAssertFalse(response.ok)
        XCTAssertTrue(response.message.hasPrefix("malformed control request"), response.message)
    }

    func testPeerCredentialsAreThoseOfTheConnectingProcess() throws {
        var fds: [Int32] = [-1, -1]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
        defer {
            close(fds[0])
            close(fds[1])
        }
        let peer = try XCTUnwrap(ControlAccess.peerCredentials(fds[0]))
        XCTAssertEqual(peer.pid, getpid())
        XCTAssertEqual(peer.uid, getuid())
        XCTAssertEqual(peer.gid, getgid())
        let file = open("/dev/null", O_RDONLY)
        defer { close(file) }
        XCTAssertNil(ControlAccess.peerCredentials(file), "not a socket")
    }

    func testOnlyRootOrTheControlGroupIsAllowed() {
        var asked = 0
        let groups: () -> [UInt32] = {
            asked += 1
            return [20, 30]
        }
        let rootOnly = ControlAccess()
        XCTAssertTrue(rootOnly.allows(uid: 0, gid: 0, supplementaryGroups: groups))
        XCTAssertTrue(rootOnly.allows(uid: 0, gid: 999, supplementaryGroups: groups))
        XCTAssertFalse(rootOnly.allows(uid: 65534, gid: 65534, supplementaryGroups: groups))
        XCTAssertFalse(rootOnly.allows(uid: 1000, gid: 0, supplementaryGroups: groups), "gid 0 alone is not root")
        XCTAssertEqual(asked, 0, "without a control group no group list is read")
        let group = ControlAccess(group: 30)
        XCTAssertTrue(group.allows(uid: 1000, gid: 30, supplementaryGroups: groups), "primary group")
        XCTAssertTrue(group.allows(uid: 1000, gid: 1000, supplementaryGroups: groups), "supplementary group")
        XCTAssertFalse(ControlAccess(group: 40).allows(uid: 1000, gid: 1000, supplementaryGroups: groups))
    }

    func testGroupsResolveByNameOrNumber() {
        XCTAssertEqual(ControlAccess.resolveGroup("0"), 0)
        XCTAssertEqual(ControlAccess.resolveGroup("root"), 0)
        XCTAssertEqual(ControlAccess.resolveGroup("1234"), 1234)
        XCTAssertNil(ControlAccess.resolveGroup("no-such-group-sluice"))
        XCTAssertTrue(ControlAccess.groups(ofUser: 0).contains(0), "root is in group root")
    }
}
