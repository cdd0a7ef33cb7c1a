internal import CSluice
import Glibc

/// A kernel pipe that carries body bytes from one socket to another with splice(2), so they
/// never enter user space: `fill` moves bytes from a socket into the pipe, `drain` from the pipe
/// into a socket. Both ends are non-blocking. `count` is the bytes the pipe holds (filled, not
/// yet drained), kept here because the kernel does not say it without a syscall.
///
/// The readiness rules match `SocketPeer`'s: a drain cut short means the socket's send buffer is
/// full (its writability ends until the next edge). A fill cut short does NOT mean the socket is
/// drained: the pipe's slots hold one page fragment each and may run out first, so only EAGAIN
/// (`.blocked`) ends the socket's readability; the caller fills again after draining.
///
/// Not thread-safe: owned by one connection on one loop thread (pooled per worker between
/// connections, `SplicePipePool` in Proxy).
public struct SplicePipe {
    public private(set) var readFD: Int32
    public private(set) var writeFD: Int32
    /// The pipe's size (F_GETPIPE_SZ): the most one fill may move.
    public let capacity: Int
    /// Bytes in the pipe.
    public private(set) var count = 0

    /// A new pipe of `size` bytes (the kernel's default, 64 KiB, when it refuses the size);
    /// nil when no pipe can be had (EMFILE...).
    public static func open(size: Int) -> SplicePipe? {
        var fds: (Int32, Int32) = (-1, -1)
        let capacity = withUnsafeMutableBytes(of: &fds) { raw in
            CSluice_pipe(raw.baseAddress!.assumingMemoryBound(to: Int32.self), Int32(clamping: size))
        }
        guard capacity > 0 else { return nil }
        return SplicePipe(readFD: fds.0, writeFD: fds.1, capacity: Int(capacity))
    }

    private init(readFD: Int32, writeFD: Int32, capacity: Int) {
        self.readFD = readFD
        self.writeFD = writeFD
        self.capacity = capacity
    }

    public var isOpen: Bool { readFD >= 0 }
    public var isEmpty: Bool { count == 0 }

    /// Closes both ends (whatever the pipe holds is dropped).
    public mutating func close() {
        guard readFD >= 0 else { return }
        Socket.close(readFD)
        Socket.close(writeFD)
        readFD = -1
        writeFD = -1
        count = 0
    }

    /// Moves up to `max` bytes (and at most the pipe's free room) from the socket `fd` into the
    /// pipe: `.progress(n)`, `.blocked` (EAGAIN: nothing to read, or no room), `.closed(side, 0)` at
    /// the socket's EOF, `.closed(side, errno)` when it failed.
    @inline(__always)
    public mutating func fill(from fd: Int32, max: Int, side: PeerSide) -> IOStep {
        let room = Swift.min(max, capacity - count)
        guard room > 0 else { return .blocked }
        let n = CSluice_splice(fd, writeFD, room, 0)
        if n > 0 {
            count += n
            return .progress(n)
        }
        if n == 0 { return .closed(PeerClose(side: side, errno: 0)) }
        let e = Int32(-n)
        if e == EAGAIN || e == EWOULDBLOCK { return .blocked }
        return .closed(PeerClose(side: side, errno: e))
    }

    /// Moves what the pipe holds into the socket `fd`: `.progress(n)` (fewer than `count`: the
    /// socket is full), `.blocked` (EAGAIN), `.closed(side, errno)` when the socket failed (EPIPE,
    /// ECONNRESET; SIGPIPE is ignored by the processes that splice). `more`: bytes of the same
    /// message follow these (SPLICE_F_MORE, as MSG_MORE: TCP sends full segments and keeps the
    /// partial last one for the next drain or write, or the next ACK); false at its end, where
    /// everything must go out at once.
    @inline(__always)
    public mutating func drain(to fd: Int32, side: PeerSide, more: Bool = false) -> IOStep {
        guard count > 0 else { return .progress(0) }
        let n = CSluice_splice(readFD, fd, count, more ? 1 : 0)
        if n > 0 {
            count -= n
            return .progress(n)
        }
        // 0 from a non-empty pipe cannot happen; treat it as a stalled socket.
        if n == 0 { return .blocked }
        let e = Int32(-n)
        if e == EAGAIN || e == EWOULDBLOCK { return .blocked }
        return .closed(PeerClose(side: side, errno: e))
    }
}

extension SocketPeer {
    /// `fill` from this peer's socket, with its readiness rule: only EAGAIN into an empty pipe
    /// ends readability (into a pipe that holds bytes, EAGAIN may mean its slots ran out).
    @inline(__always)
    public mutating func fill(_ pipe: inout SplicePipe, max: Int) -> IOStep {
        let wasEmpty = pipe.isEmpty
        let result = pipe.fill(from: fd, max: max, side: side)
        if case .blocked = result, wasEmpty { readable = false }
        return result
    }

    /// `drain` into this peer's socket, with its readiness rule: a short or blocked drain ends
    /// writability until the next edge.
    @inline(__always)
    public mutating func drain(_ pipe: inout SplicePipe, more: Bool = false) -> IOStep {
        let before = pipe.count
        let result = pipe.drain(to: fd, side: side, more: more)
        switch result {
        case .progress(let n): if n < before { writable = false }
        case .blocked: writable = false
        case .closed: break
        }
        return result
    }
}
