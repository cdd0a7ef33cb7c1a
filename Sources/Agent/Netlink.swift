import Glibc

/// The route-netlink framing `PodRoute` and `NodeAddresses` share: the message walk of one
/// reply buffer, the attribute walk of one message body, native-order reads that never trap,
/// and one request/reply exchange on a socket of its own. Pure but for `exchange`.
enum Netlink {
    static let headerSize = 16
    static let nlmsgError: UInt16 = 2
    static let nlmsgDone: UInt16 = 3
    /// NLM_F_REQUEST.
    static let flagRequest: UInt16 = 0x1
    /// NLM_F_DUMP (NLM_F_ROOT | NLM_F_MATCH).
    static let flagDump: UInt16 = 0x300

    /// The native-order bytes of `value` (the order netlink's fields are in).
    static func bytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value) { Array($0) }
    }

    /// A request's `nlmsghdr` (length, type, flags, sequence, port 0: the kernel) for a body of
    /// `bodyLength` bytes, which the caller appends.
    static func header(type: UInt16, flags: UInt16, sequence: UInt32, bodyLength: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(headerSize + bodyLength)
        out += bytes(UInt32(headerSize + bodyLength)) + bytes(type) + bytes(flags) + bytes(sequence) + bytes(UInt32(0))
        return out
    }

    /// How a walk of one reply buffer ended.
    enum Walk<T> {
        /// `visit` returned a value.
        case stopped(T)
        /// Every whole message was visited; `offset` is where the walk stopped (the buffer's
        /// length unless a truncated message follows).
        case ended(offset: Int)
        /// A message's length does not fit the buffer.
        case malformed(String)
    }

    /// Visits each message of `reply` whose sequence number is `sequence`, as its type and
    /// `start..<end` (the header included), until `visit` returns a value.
    static func walk<T>(
        _ reply: [UInt8], sequence: UInt32, _ visit: (_ type: UInt16, _ start: Int, _ end: Int) -> T?
    ) -> Walk<T> {
        var offset = 0
        while offset + headerSize <= reply.count {
            let length = Int(u32(reply, offset))
            guard length >= headerSize, offset + length <= reply.count else {
                return .malformed("malformed netlink message (length \(length) at \(offset) of \(reply.count))")
            }
            let start = offset
            offset += (length + 3) & ~3
            guard u32(reply, start + 8) == sequence else { continue }
            if let value = visit(u16(reply, start + 4), start, start + length) { return .stopped(value) }
        }
        return .ended(offset: offset)
    }

    /// Visits the attributes in `bytes[start..<end]` as type (flags masked off), value offset
    /// and whole length; returns the offset of a malformed one, nil when all were whole.
    static func attributes(
        _ bytes: [UInt8], from start: Int, to end: Int, _ visit: (_ type: UInt16, _ value: Int, _ length: Int) -> Void
    ) -> Int? {
        var offset = start
        while offset + 4 <= end {
            let length = Int(u16(bytes, offset))
            guard length >= 4, offset + length <= end else { return offset }
            visit(u16(bytes, offset + 2) & 0x3fff, offset + 4, length)
            offset += (length + 3) & ~3
        }
        return nil
    }

    /// The errno of an `NLMSG_ERROR` message at `start..<end` (0 is an acknowledgement), nil
    /// when the message is too short to hold one.
    static func errorCode(_ bytes: [UInt8], from start: Int, to end: Int) -> Int32? {
        guard end - start >= headerSize + 4 else { return nil }
        return -Int32(bitPattern: u32(bytes, start + headerSize))
    }

    static func u16(_ b: [UInt8], _ at: Int) -> UInt16 {
        var v: UInt16 = 0
        withUnsafeMutableBytes(of: &v) { for i in 0..<2 { $0[i] = b[at + i] } }
        return v
    }

    static func u32(_ b: [UInt8], _ at: Int) -> UInt32 {
        var v: UInt32 = 0
        withUnsafeMutableBytes(of: &v) { for i in 0..<4 { $0[i] = b[at + i] } }
        return v
    }

    /// Sends `message` on a NETLINK_ROUTE socket of its own (in this thread's network
    /// namespace, a 1 s receive timeout) and hands each reply buffer to `handle` until it
    /// returns a value, at most `reads` times (nil then).
    static func exchange<T>(
        _ message: [UInt8], bufferSize: Int, reads: Int, _ handle: ([UInt8]) -> T?
    ) -> Result<T?, NetlinkError> {
        // SOCK_RAW (3) | SOCK_CLOEXEC (0o2000000), protocol NETLINK_ROUTE (0): Linux's values,
        // spelled out because Glibc's socket-type enum is not visible in every build of the module.
        let fd = socket(AF_NETLINK, 3 | 0o2_000_000, 0)
        guard fd >= 0 else { return .failure(NetlinkError("netlink socket: \(String(cString: strerror(errno)))")) }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let sent = message.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard sent == message.count else {
            return .failure(NetlinkError("netlink send: \(String(cString: strerror(errno)))"))
        }
        var buffer = [UInt8](repeating: 0, count: bufferSize)
        for _ in 0..<reads {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return .failure(NetlinkError("netlink recv: \(String(cString: strerror(errno)))")) }
            if let value = handle(Array(buffer[0..<n])) { return .success(value) }
        }
        return .success(nil)
    }
}

/// Why a netlink exchange failed, in words for `sluice status`.
struct NetlinkError: Error, Equatable {
    var message: String
    init(_ message: String) { self.message = message }
}
