import Glibc
import SluiceModel

/// The two peers of a proxied connection (defined in SluiceModel, where flow records share it).
public typealias PeerSide = SluiceModel.PeerSide
/// How one peer's stream ended (defined in SluiceModel, where flow records share it).
public typealias PeerClose = SluiceModel.PeerClose

/// The outcome of one read or write on a non-blocking socket: bytes moved, nothing possible
/// until the next readiness edge, or the peer's stream is over.
public enum IOStep: Equatable {
    case progress(Int)
    case blocked
    case closed(PeerClose)
}

/// The step helpers every connection handler uses: one read(2) or send(2)/sendmsg(2) turned
/// into an `IOStep`, EINTR retried, EAGAIN as `.blocked`, EOF as `.closed(side, 0)`, every other
/// errno kept in `.closed(side, errno)`.
extension Socket {
    /// Reads into `buffer`'s free space (the caller makes room first: with none it is `.blocked`,
    /// never a 0-byte read that would look like EOF).
    @inline(__always)
    public static func readStep(_ fd: Int32, into buffer: IOBuffer, side: PeerSide) -> IOStep {
        guard buffer.writableCount > 0 else { return .blocked }
        return step(read(fd, into: buffer), side)
    }

    /// Reads into `scratch` (a buffer the caller consumes at once).
    @inline(__always)
    public static func readStep(_ fd: Int32, into scratch: UnsafeMutableRawBufferPointer, side: PeerSide) -> IOStep {
        guard scratch.count > 0 else { return .blocked }
        while true {
            let n = Glibc.read(fd, scratch.baseAddress, scratch.count)
            if n > 0 { return .progress(n) }
            if n == 0 { return .closed(PeerClose(side: side, errno: 0)) }
            if let failed = failedCall() { return step(failed, side) }
        }
    }

    /// Writes `bytes` (MSG_NOSIGNAL: a closed peer is `.closed(side, EPIPE)`).
    @inline(__always)
    public static func writeStep(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, side: PeerSide) -> IOStep {
        step(write(fd, bytes), side)
    }

    /// Writes up to three pieces in one sendmsg(2).
    @inline(__always)
    public static func writeStep(
        _ fd: Int32, _ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer,
        _ c: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
        side: PeerSide
    ) -> IOStep {
        step(write(fd, a, b, c), side)
    }

    /// Writes `iovecs` in one sendmsg(2).
    public static func writeStep(_ fd: Int32, iovecs: UnsafeBufferPointer<Glibc.iovec>, side: PeerSide) -> IOStep {
        step(write(fd, iovecs: iovecs), side)
    }

    @inline(__always)
    private static func step(_ result: IOResult, _ side: PeerSide) -> IOStep {
        switch result {
        case .bytes(let n): return .progress(n)
        case .wouldBlock: return .blocked
        case .eof: return .closed(PeerClose(side: side, errno: 0))
        case .error(let e): return .closed(PeerClose(side: side, errno: e))
        }
    }
}

/// One peer of a connection handler: read and write steps plus the readiness remembered between
/// events. `SocketPeer` is the socket; a test gives the handler in-memory peers instead
/// (bytes in, bytes out), so handlers are generic over it and the socket path costs nothing.
public protocol ConnectionPeer {
    var side: PeerSide { get }
    var readable: Bool { get set }
    var writable: Bool { get set }
    var isOpen: Bool { get }
    mutating func read(into buffer: IOBuffer) -> IOStep
    mutating func write(_ bytes: UnsafeRawBufferPointer) -> IOStep
    mutating func write(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, _ c: UnsafeRawBufferPointer)
        -> IOStep
}

extension ConnectionPeer {
    /// One gathered write of two pieces.
    @inline(__always)
    public mutating func write(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> IOStep {
        write(a, b, UnsafeRawBufferPointer(start: nil, count: 0))
    }
}

/// One peer's socket as a connection handler sees it: the descriptor, which side it is, and the
/// edge-triggered readiness remembered between events. `read` and `write` are the step helpers
/// plus the readiness rule: a short read or write, or EAGAIN, means the socket is drained or
/// full until the next edge, so no syscall is spent to hear EAGAIN.
public struct SocketPeer: ConnectionPeer {
    public var fd: Int32
    public let side: PeerSide
    public var readable: Bool
    public var writable: Bool

    public init(fd: Int32, side: PeerSide, readable: Bool = false, writable: Bool = false) {
        self.fd = fd
        self.side = side
        self.readable = readable
        self.writable = writable
    }

    @inline(__always) public var isOpen: Bool { fd >= 0 }

    /// One read into `buffer`'s free space.
    @inline(__always)
    public mutating func read(into buffer: IOBuffer) -> IOStep {
        let room = buffer.writableCount
        let result = Socket.readStep(fd, into: buffer, side: side)
        switch result {
        case .progress(let n): if n < room { readable = false }
        case .blocked: if room > 0 { readable = false }
        case .closed: break
        }
        return result
    }

    /// One write of `bytes`.
    @inline(__always)
    public mutating func write(_ bytes: UnsafeRawBufferPointer) -> IOStep {
        noteWrite(Socket.writeStep(fd, bytes, side: side), of: bytes.count)
    }

    /// One sendmsg of up to three pieces.
    @inline(__always)
    public mutating func write(
        _ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer,
        _ c: UnsafeRawBufferPointer
    ) -> IOStep {
        noteWrite(Socket.writeStep(fd, a, b, c, side: side), of: a.count + b.count + c.count)
    }

    @inline(__always)
    private mutating func noteWrite(_ result: IOStep, of count: Int) -> IOStep {
        switch result {
        case .progress(let n): if n < count { writable = false }
        case .blocked: writable = false
        case .closed: break
        }
        return result
    }
}
