internal import CSluice
import Glibc
import SluiceAPI
import SluiceIO
import SluiceJSON
import SluiceSync

/// Serves control requests (`ControlRequest`, SluiceAPI) on a unix stream socket: the client
/// writes a JSON request and shuts down its write side; the server answers with a JSON response
/// and closes.
///
/// One thread (the caller's) runs a poll loop over the listening socket and every client, so a
/// client that connects and sends nothing (or never reads its answer) holds nobody up: its
/// socket is non-blocking, and it is closed when it makes no progress for `clientTimeoutNs`
/// (no byte of its request read, or of its answer written). The handler's own time does not
/// count: a 100,000-rule apply takes seconds, and its answer gets the whole limit to be written.
/// A request's reading ends in any case `maxRequestTimeouts` limits after the accept, so a
/// client trickling bytes cannot hold its place forever. Requests are answered one at a time, in
/// the order they complete.
///
/// Who may connect: the socket is created mode 0600 (0660 with a control group) under a umask
/// that never lets it exist with wider bits, in a directory of mode 0700 (0710), both owned by
/// root; each accepted peer's credentials (SO_PEERCRED) are checked against `access` and a peer
/// that fails gets a refusal and is closed before anything it sends is read.
final class ControlServer {
    let path: String
    let access: ControlAccess
    let clientTimeoutNs: UInt64
    /// Answers a request. It owns the request: an apply frees its node trees as soon as the
    /// documents are parsed and stored, before the compile (docs/performance.md, s18-mem).
    let handler: (consuming ControlRequest, consuming DocumentsJSON?) -> ControlResponse
    /// Counters shown by `sluice status` (read from the serving thread only).
    private(set) var counters = Counters()
    private var listener: Int32 = -1
    private var clients: [Client] = []
    private var stopRequested = false
    /// A descriptor held in reserve (/dev/null): when accept fails with EMFILE/ENFILE because the
    /// proxy's connections took every descriptor, it is closed so that the control client can
    /// still be accepted and answered, and reopened once that client is gone.
    private var spare: Int32 = -1
    /// While the listener cannot accept (no descriptor even after the spare), it is left out of
    /// poll until then (monotonic ns), so the loop does not spin on a readable listener.
    private var listenerRestsUntil: UInt64 = 0
    private let stopLock = Lock()

    struct Counters: Equatable {
        var answered = 0
        var refused = 0
        var timedOut = 0
    }

    /// Requests larger than this are refused (a policy file of 10,000 rules is about 2 MB).
    static let maxRequestBytes = 64 << 20
    /// Most clients held at once; more wait in the listen queue.
    static let maxClients = 64
    /// Requests at least this large are followed by returning the heap's free pages.
    static let trimAfterBytes = 64 * 1024
    /// A request is read within this many `clientTimeoutNs` of its accept, however steadily its
    /// bytes come (a 64 MiB request over the local socket takes well under a second).
    static let maxRequestTimeouts: UInt64 = 12

    init(
        path: String, access: ControlAccess = ControlAccess(), clientTimeoutNs: UInt64 = 5_000_000_000,
        handler: @escaping (consuming ControlRequest, consuming DocumentsJSON?) -> ControlResponse
    ) {
        self.path = path
        self.access = access
        self.clientTimeoutNs = clientTimeoutNs
        self.handler = handler
    }

    deinit {
        for c in clients { close(c.fd) }
        if listener >= 0 { close(listener) }
        if spare >= 0 { close(spare) }
    }

    /// Binds the socket (see the type's note on modes); `serve` binds it itself when not done.
    func bind() throws {
        if listener < 0 { listener = try Self.bindListening(path: path, access: access) }
        if spare < 0 { spare = open("/dev/null", O_RDONLY | O_CLOEXEC) }
    }

    /// Serves until `stop()` (the agent never calls it: it serves until it is killed).
    func serve() throws {
        try bind()
        while !stopLock.withLock({ stopRequested }) { serveOnce(timeoutMs: 1000) }
    }

    /// Makes `serve` return within a second (tests).
    func stop() { stopLock.withLock { stopRequested = true } }

    /// One poll round: accepts, reads, answers and writes what is ready, then closes the clients
    /// past their deadline.
    func serveOnce(timeoutMs: Int32) {
        let now = SystemClock.monotonicNs()
        let listening = clients.count < Self.maxClients && now >= listenerRestsUntil
        var fds = [pollfd(fd: listener, events: Int16(listening ? POLLIN : 0), revents: 0)]
        for c in clients {
            fds.append(pollfd(fd: c.fd, events: Int16(c.writing && !c.draining ? POLLOUT : POLLIN), revents: 0))
        }
        var wait = timeoutMs
        if now < listenerRestsUntil { wait = min(wait, Int32((listenerRestsUntil - now) / 1_000_000 + 1)) }
        if let next = clients.map(\.deadline).min() {
            wait = min(wait, Int32(clamping: (next > now ? next - now : 0) / 1_000_000 + 1))
        }
        let ready = poll(&fds, nfds_t(fds.count), wait)
        if ready > 0 {
            for i in clients.indices where fds[i + 1].revents != 0 { progress(clients[i]) }
            if fds[0].revents & Int16(POLLIN) != 0 { acceptPending() }
        }
        let later = SystemClock.monotonicNs()
        for c in clients where !c.done && c.deadline <= later {
            counters.timedOut += 1
            c.done = true
        }
        clients.removeAll { c in
            if c.done { close(c.fd) }
            return c.done
        }
        if spare < 0 && clients.isEmpty { spare = open("/dev/null", O_RDONLY | O_CLOEXEC) }
    }

    // MARK: clients

    private final class Client {
        let fd: Int32
        /// When it is closed unless it makes progress before (monotonic ns).
        var deadline: UInt64
        /// The latest deadline reading its request may reach.
        let readingEnds: UInt64
        var request: [UInt8] = []
        var response: [UInt8] = []
        var written = 0
        var writing = false
        var done = false
        /// Refused: after the answer, what it sends is read and dropped until it shuts down its
        /// side (so its write does not fail with EPIPE before it reads the refusal).
        var refused = false
        var draining = false
        init(fd: Int32, deadline: UInt64, readingEnds: UInt64) {
            self.fd = fd
            self.deadline = deadline
            self.readingEnds = readingEnds
        }
    }

    private func acceptPending() {
        while clients.count < Self.maxClients {
            var fd = accept(listener, nil, nil)
            if fd < 0 && (errno == EMFILE || errno == ENFILE) && spare >= 0 {
                close(spare)
                spare = -1
                fd = accept(listener, nil, nil)
            }
            if fd < 0 {
                if errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM {
                    listenerRestsUntil = SystemClock.monotonicNs() + 100_000_000
                }
                return  // EAGAIN: nothing more waits
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            let now = SystemClock.monotonicNs()
            let client = Client(
                fd: fd, deadline: now + clientTimeoutNs, readingEnds: now + Self.maxRequestTimeouts * clientTimeoutNs)
            clients.append(client)
            if let refusal = refusal(fd) {
                counters.refused += 1
                client.refused = true
                respond(client, .failure(refusal))
            }
        }
    }

    /// Why the peer on `fd` may not send requests, or nil when it may.
    private func refusal(_ fd: Int32) -> String? {
        guard let peer = ControlAccess.peerCredentials(fd) else {
            return "permission denied: the control socket could not read the peer's credentials"
        }
        if access.allows(uid: peer.uid, gid: peer.gid, supplementaryGroups: { ControlAccess.groups(ofUser: peer.uid) })
        {
            return nil
        }
        return "permission denied: uid \(peer.uid) (gid \(peer.gid)) is not root"
            + (access.group.map { " and not in the control group \($0)" } ?? "")
    }

    private func progress(_ c: Client) {
        if c.draining {
            drain(c)
            return
        }
        if c.writing {
            flush(c)
            return
        }
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { read(c.fd, $0.baseAddress, $0.count) }
            if n > 0 {
                c.request.append(contentsOf: buf[0..<n])
                c.deadline = min(SystemClock.monotonicNs() + clientTimeoutNs, c.readingEnds)
                if c.request.count > Self.maxRequestBytes {
                    respond(
                        c,
                        .failure("control request larger than \(Self.maxRequestBytes) bytes")
                    )
                    return
                }
            } else if n == 0 {
                answer(c)
                return
            } else if errno == EINTR {
                continue
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                return
            } else {
                c.done = true
                return
            }
        }
    }

    /// Decodes and answers a complete request. Everything it allocated is released when it returns.
    private func answer(_ c: Client) {
        let size = c.request.count
        let response: ControlResponse
        do {
            let (request, range) = try ControlRequestReader.decodeLocatingDocuments(c.request)
            // The request's text is decoded: the handler gets it only as the documents' JSON
            // (the same buffer, no copy), to store, and frees it before it parses and compiles
            // a policy file (megabytes less at the peak of a 10,000-rule apply).
            let raw = range.map { DocumentsJSON(bytes: c.request, range: $0) }
            c.request = []
            response = handler(consume request, consume raw)
        } catch {
            response = .failure("malformed control request: \(error)")
        }
        c.request = []
        counters.answered += 1
        respond(c, response)
        // A large request (a policy file) leaves its text, its decoded trees and the policy
        // it replaced freed but resident, scattered between live blocks where free() cannot
        // give them back; hand those pages to the kernel once it is answered.
        if size >= Self.trimAfterBytes { _ = CSluice_release_free_memory() }
    }

    private func respond(_ c: Client, _ response: ControlResponse) {
        c.response = (try? JSON.encode(response)) ?? []
        c.writing = true
        // The answer's clock starts now: the time the handler took (an apply) is not the client's.
        c.deadline = SystemClock.monotonicNs() + clientTimeoutNs
        flush(c)
    }

    private func flush(_ c: Client) {
        while c.written < c.response.count {
            let n = c.response.withUnsafeBytes { write(c.fd, $0.baseAddress! + c.written, $0.count - c.written) }
            if n > 0 {
                c.written += n
                c.deadline = SystemClock.monotonicNs() + clientTimeoutNs
            } else if n < 0 && errno == EINTR {
                continue
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                return
            } else {
                break
            }
        }
        if c.refused && c.written == c.response.count {
            c.draining = true
            shutdown(c.fd, Int32(SHUT_WR))
            drain(c)
        } else {
            c.done = true
        }
    }

    /// Reads and drops what a refused client sends; done at its end of file (or an error).
    private func drain(_ c: Client) {
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { read(c.fd, $0.baseAddress, $0.count) }
            if n > 0 { continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
            c.done = true
            return
        }
    }

    // MARK: the socket

    /// A listening socket at `path` (an old one is replaced): the directory is made `access`'s
    /// directory mode and owned by root (and the control group), and the socket is bound under a
    /// umask that leaves it `access.socketMode` from its first moment.
    static func bindListening(path: String, access: ControlAccess = ControlAccess()) throws -> Int32 {
        let directory = Files.directory(of: path)
        try Files.createDirectories(directory)
        try checkOwnDirectory(directory)
        guard chown(directory, 0, access.group ?? 0) == 0, chmod(directory, access.directoryMode) == 0 else {
            throw ControlError(message: "securing \(directory): \(String(cString: strerror(errno)))")
        }
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlError(message: "socket: \(String(cString: strerror(errno)))") }
        var addr = try ControlSocket.address(path)
        let old = umask(0o777 & ~access.socketMode)
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        let bindErrno = errno
        umask(old)
        guard r == 0 else {
            close(fd)
            throw ControlError(message: "bind \(path): \(String(cString: strerror(bindErrno)))")
        }
        guard chown(path, 0, access.group ?? 0) == 0, chmod(path, access.socketMode) == 0, listen(fd, 64) == 0,
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0
        else {
            let e = errno
            close(fd)
            throw ControlError(message: "listen \(path): \(String(cString: strerror(e)))")
        }
        return fd
    }
}

extension ControlServer {
    /// Directories the agent must never make private: the socket needs a directory of its own.
    static let sharedDirectories: Set<String> = ["/", "/run", "/var/run", "/tmp", "/var/tmp", "/dev/shm", "/var"]

    /// Throws when `directory` is shared (a system directory, or sticky or writable by others,
    /// like /tmp): making it 0700 would break everything else in it.
    static func checkOwnDirectory(_ directory: String) throws {
        var st = stat()
        guard stat(directory, &st) == 0 else {
            throw ControlError(message: "control socket directory \(directory): \(String(cString: strerror(errno)))")
        }
        if sharedDirectories.contains(directory) || st.st_mode & 0o1002 != 0 {  // sticky or writable by others
            throw ControlError(
                message: "control socket directory \(directory) is shared (a system or world-writable directory); "
                    + "give --socket a path in a directory of its own (it is made 0700)")
        }
    }
}

/// Who may use the control socket: root, and the members of one group when the agent is given
/// `--control-group`.
public struct ControlAccess: Equatable {
    /// The group whose members may send requests besides root; nil: root only.
    public var group: UInt32?

    public init(group: UInt32? = nil) { self.group = group }

    /// The socket's mode: read-write for root (and the group).
    var socketMode: mode_t { group == nil ? 0o600 : 0o660 }
    /// The socket directory's mode: root only (the group may pass through, not list).
    var directoryMode: mode_t { group == nil ? 0o700 : 0o710 }

    /// Whether a peer with user `uid` and group `gid` may send requests: root always; anyone
    /// else only when the control group is its primary group or one of `supplementaryGroups`
    /// (asked only then).
    func allows(uid: uid_t, gid: gid_t, supplementaryGroups: () -> [gid_t]) -> Bool {
        if uid == 0 { return true }
        guard let group else { return false }
        return gid == group || supplementaryGroups().contains(group)
    }

    /// The connected peer's process, user and group (SO_PEERCRED: as they were at connect()).
    static func peerCredentials(_ fd: Int32) -> (pid: Int32, uid: uid_t, gid: gid_t)? {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
        var cred: (Int32, UInt32, UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout.size(ofValue: cred))
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) == 0, length == 12 else { return nil }
        return (cred.0, cred.1, cred.2)
    }

    /// The groups `uid` belongs to by /etc/group (empty when the user is unknown).
    static func groups(ofUser uid: uid_t) -> [gid_t] {
        guard let entry = getpwuid(uid) else { return [] }
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(entry.pointee.pw_name, entry.pointee.pw_gid, &groups, &count) < 0 {
            groups = [gid_t](repeating: 0, count: Int(count))
            guard getgrouplist(entry.pointee.pw_name, entry.pointee.pw_gid, &groups, &count) >= 0 else { return [] }
        }
        return Array(groups.prefix(Int(count)))
    }

    /// A group given by name or number (`--control-group`), or nil when there is no such group.
    public static func resolveGroup(_ text: String) -> UInt32? {
        if let number = UInt32(text, radix: 10) { return number }
        guard let entry = getgrnam(text) else { return nil }
        return entry.pointee.gr_gid
    }
}

/// An apply request's documents as the client sent them: the request's bytes and where the
/// documents' JSON array is in them (`ControlRequestReader.decodeLocatingDocuments`).
struct DocumentsJSON {
    var bytes: [UInt8]
    var range: Range<Int>
}
