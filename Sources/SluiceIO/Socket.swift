internal import CSluice
import Glibc

/// Syscall wrappers on raw descriptors used by the event loops. All sockets are non-blocking.
public enum Socket {
    /// Result of a read or write on a non-blocking socket.
    public enum IOResult: Equatable {
        case bytes(Int)
        case wouldBlock
        case eof
        case error(Int32)
    }

    /// After a call returned -1: nil for EINTR (make the call again), `.wouldBlock` for
    /// EAGAIN, else `.error(errno)`.
    @inline(__always)
    static func failedCall() -> IOResult? {
        let e = Glibc.errno
        if e == EINTR { return nil }
        return e == EAGAIN || e == EWOULDBLOCK ? .wouldBlock : .error(e)
    }

    /// read(2) into `buffer`'s free space.
    @inline(__always)
    public static func read(_ fd: Int32, into buffer: IOBuffer) -> IOResult {
        while true {
            let n = Glibc.read(fd, buffer.writePointer, buffer.writableCount)
            if n > 0 {
                buffer.writeIndex += n
                return .bytes(n)
            }
            if n == 0 { return .eof }
            if let failed = failedCall() { return failed }
        }
    }

    /// write(2) of `bytes` (send with MSG_NOSIGNAL so a closed peer gives EPIPE, not SIGPIPE).
    @inline(__always)
    public static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> IOResult {
        while true {
            let n = Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            if n >= 0 { return .bytes(n) }
            if let failed = failedCall() { return failed }
        }
    }

    /// sendmsg(2) of up to three pieces in one syscall (empty pieces are skipped), with
    /// MSG_NOSIGNAL like `write`. Used where the proxy drops or inserts a line in a head it
    /// otherwise relays straight from its buffer.
    public static func write(
        _ fd: Int32, _ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer,
        _ c: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)
    ) -> IOResult {
        withUnsafeTemporaryAllocation(of: iovec.self, capacity: 3) { v in
            var count = 0
            @inline(__always) func add(_ piece: UnsafeRawBufferPointer) {
                guard piece.count > 0 else { return }
                v[count] = iovec(iov_base: UnsafeMutableRawPointer(mutating: piece.baseAddress), iov_len: piece.count)
                count += 1
            }
            add(a)
            add(b)
            add(c)
            var message = msghdr()
            message.msg_iov = v.baseAddress
            message.msg_iovlen = count
            while true {
                let n = Glibc.sendmsg(fd, &message, Int32(MSG_NOSIGNAL))
                if n >= 0 { return .bytes(n) }
                if let failed = failedCall() { return failed }
            }
        }
    }

    /// sendmsg(2) of `iovecs` (at most IOV_MAX), MSG_NOSIGNAL like `write`: a batch of frames
    /// gathered from several buffers in one syscall (the observer's gRPC output).
    public static func write(_ fd: Int32, iovecs: UnsafeBufferPointer<Glibc.iovec>) -> IOResult {
        var message = msghdr()
        message.msg_iov = UnsafeMutablePointer(mutating: iovecs.baseAddress)
        message.msg_iovlen = iovecs.count
        while true {
            let n = Glibc.sendmsg(fd, &message, Int32(MSG_NOSIGNAL))
            if n >= 0 { return .bytes(n) }
            if let failed = failedCall() { return failed }
        }
    }

    /// Closes a descriptor we own.
    @inline(__always)
    public static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// Sends RST instead of FIN on close (SO_LINGER 0): used to drop a connection.
    public static func closeWithReset(_ fd: Int32) {
        var l = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        _ = Glibc.close(fd)
    }

    /// shutdown(SHUT_WR): half-close after the last byte.
    public static func shutdownWrite(_ fd: Int32) {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    /// A listening TCP socket on an IPv4 address (network order).
    public static func listenTCP(
        address: UInt32, port: UInt16, backlog: Int32 = 4096,
        transparent: Bool, reusePort: Bool
    ) throws(SyscallError) -> Int32 {
        let fd = CSluice_tcp_listen4(address, port, backlog, transparent ? 1 : 0, reusePort ? 1 : 0)
        if fd < 0 { throw SyscallError("listen", negated: fd) }
        return fd
    }

    /// TCP_DEFER_ACCEPT on a listener: `accept` hands out a connection only once its first bytes
    /// are there, so the proxy reads the request at once instead of a read that would block and
    /// a second wakeup. For protocols whose client speaks first (HTTP/1.1, HTTP/2); no connection
    /// is lost: after `seconds` the kernel completes it anyway.
    public static func deferAccept(_ listener: Int32, seconds: Int32) throws(SyscallError) {
        let r = CSluice_tcp_defer_accept(listener, seconds)
        if r < 0 { throw SyscallError("setsockopt(TCP_DEFER_ACCEPT)", negated: r) }
    }

    /// An accepted connection: descriptor, peer and local (original destination) addresses.
    public struct Accepted {
        public var fd: Int32
        public var peerAddress: UInt32
        public var peerPort: UInt16
        public var localAddress: UInt32
        public var localPort: UInt16
    }

    /// accept4 + getsockname. nil when no connection is pending.
    public static func accept(_ listener: Int32) throws(SyscallError) -> Accepted? {
        var a = Accepted(fd: -1, peerAddress: 0, peerPort: 0, localAddress: 0, localPort: 0)
        let fd = CSluice_accept4(listener, &a.peerAddress, &a.peerPort, &a.localAddress, &a.localPort)
        if fd < 0 {
            if -fd == EAGAIN || -fd == EWOULDBLOCK { return nil }
            throw SyscallError("accept4", negated: fd)
        }
        a.fd = fd
        return a
    }

    /// Starts a non-blocking connect; completion is reported by EPOLLOUT + `pendingError`.
    public static func connectTCP(address: UInt32, port: UInt16, mark: UInt32) throws(SyscallError) -> Int32 {
        let fd = CSluice_tcp_connect4(address, port, mark)
        if fd < 0 { throw SyscallError("connect", negated: fd) }
        return fd
    }

    /// SO_ERROR of a socket (0 = none).
    public static func pendingError(_ fd: Int32) -> Int32 { CSluice_socket_error(fd) }

    /// Enters the network namespace at `path` for the calling thread (and threads it creates).
    public static func enterNetworkNamespace(path: String) throws(SyscallError) {
        let r = CSluice_setns_net(path)
        if r < 0 { throw SyscallError("setns(\(path))", negated: r) }
    }
}
