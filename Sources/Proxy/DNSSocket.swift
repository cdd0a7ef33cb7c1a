internal import CSluice
import Glibc
import SluiceIO

/// Datagram syscalls of the DNS proxy (wrappers of `CSluice_dns.h`). All sockets non-blocking.
enum DNSSocket {
    /// One received datagram: its length, sender, and the original destination from the
    /// IP_ORIGDSTADDR control message (address 0 when the socket does not ask for it).
    struct Datagram {
        var count: Int
        var source: DNSEndpointAddress
        var originalDestination: DNSEndpointAddress
        var truncated: Bool
    }

    /// Receive slots for `receiveBatch`: `count` buffers of `slotSize` bytes and their
    /// descriptions. Pages of a slot become resident only when a datagram is written into them.
    final class Batch {
        let count: Int
        let slotSize: Int
        let buffer: UnsafeMutableRawBufferPointer
        let datagrams: UnsafeMutablePointer<CSluice_udp_datagram>

        init(count: Int, slotSize: Int) {
            self.count = min(count, Int(CSLUICE_UDP_BATCH_MAX))
            self.slotSize = slotSize
            buffer = .allocate(byteCount: self.count * slotSize, alignment: 8)
            datagrams = .allocate(capacity: self.count)
        }

        deinit {
            buffer.deallocate()
            datagrams.deallocate()
        }

        /// recvmmsg errors in a row before a readiness event is abandoned.
        static let maxConsecutiveErrors = 64

        /// Edge-triggered drain of `fd`: every queued datagram to `body`, a batch per recvmmsg.
        /// A short batch means the queue was empty when it was taken; a datagram queued after
        /// that raises a new edge, so no further call is spent to hear EAGAIN. Queued ICMP errors
        /// (ECONNREFUSED...) are reported once each; a socket that keeps failing is left alone
        /// rather than spun on. Returns how many datagrams `body` got.
        @inline(__always) @discardableResult
        func drain(_ fd: Int32, _ body: (UnsafeMutableRawBufferPointer, Datagram) -> Void) -> Int {
            var errors = 0
            var total = 0
            while true {
                switch DNSSocket.receiveBatch(fd, into: self) {
                case .received(let received):
                    errors = 0
                    total += received
                    for i in 0..<received {
                        let (bytes, d) = datagram(i)
                        body(bytes, d)
                    }
                    if received < count { return total }
                case .wouldBlock:
                    return total
                case .error:
                    errors += 1
                    if errors > Self.maxConsecutiveErrors { return total }
                }
            }
        }

        /// The i-th received datagram (valid until the next `receiveBatch`).
        @inline(__always)
        func datagram(_ i: Int) -> (bytes: UnsafeMutableRawBufferPointer, datagram: Datagram) {
            let d = datagrams[i]
            let start = i * slotSize
            let bytes = UnsafeMutableRawBufferPointer(rebasing: buffer[start..<(start + Int(d.length))])
            return (
                bytes,
                Datagram(
                    count: Int(d.length),
                    source: DNSEndpointAddress(address: d.src_addr_be, port: d.src_port),
                    originalDestination: DNSEndpointAddress(address: d.orig_addr_be, port: d.orig_port),
                    truncated: d.truncated != 0)
            )
        }
    }

    enum BatchResult {
        /// This many datagrams are in the batch's slots (at least one).
        case received(Int)
        case wouldBlock
        case error(Int32)
    }

    /// recvmmsg of up to `batch.count` datagrams (CSluice_udp_recv4_batch).
    @inline(__always)
    static func receiveBatch(_ fd: Int32, into batch: Batch) -> BatchResult {
        let n = CSluice_udp_recv4_batch(
            fd, batch.buffer.baseAddress, batch.slotSize, batch.datagrams, Int32(batch.count))
        if n > 0 { return .received(Int(n)) }
        if -n == EAGAIN || -n == EWOULDBLOCK { return .wouldBlock }
        return .error(-n)
    }

    /// Datagrams queued to go out together: their bytes copied into one arena, sent with one
    /// sendmmsg per run of messages on the same socket (`flush`).
    final class Outbox: DatagramBatch {
        private var sockets: [Int32]

        override init(capacity: Int, arenaBytes: Int) {
            sockets = [Int32](repeating: -1, count: DatagramBatch.slots(capacity))
            super.init(capacity: capacity, arenaBytes: arenaBytes)
        }

        var isFull: Bool { count == capacity }

        /// Queues a copy of `bytes` for `destination` on `fd`; false when it does not fit (the
        /// caller flushes, or sends it alone).
        func append(_ bytes: UnsafeRawBufferPointer, fd: Int32, to destination: DNSEndpointAddress) -> Bool {
            let slot = count
            guard appendDatagram(bytes, to: destination) else { return false }
            sockets[slot] = fd
            return true
        }

        /// Sends everything queued; returns how many datagrams could not be sent.
        func flush() -> Int {
            var failed = 0
            var start = 0
            while start < count {
                var end = start + 1
                while end < count, sockets[end] == sockets[start] { end += 1 }
                var next = start
                while next < end {
                    let n = CSluice_udp_send4_batch(sockets[start], messages + next, Int32(end - next))
                    if n > 0 {
                        next += Int(n)
                    } else {
                        failed += 1  // the first of the rest failed: count it, go on after it
                        next += 1
                    }
                }
                start = end
            }
            removeAll()
            return failed
        }
    }

    /// sendto (CSluice_udp_send4). Returns 0 or the errno.
    @inline(__always)
    static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, to destination: DNSEndpointAddress) -> Int32 {
        let n = CSluice_udp_send4(fd, bytes.baseAddress, bytes.count, destination.address, destination.port)
        return n < 0 ? -n : 0
    }

    /// sendmsg with SO_MARK `mark` for this datagram only (CSluice_udp_send4_mark). Returns 0 or
    /// the errno.
    static func send(
        _ fd: Int32, _ bytes: UnsafeRawBufferPointer, to destination: DNSEndpointAddress,
        mark: UInt32
    ) -> Int32 {
        let n = CSluice_udp_send4_mark(fd, bytes.baseAddress, bytes.count, destination.address, destination.port, mark)
        return n < 0 ? -n : 0
    }

    /// The transparent UDP listener of one worker: IP_TRANSPARENT + IP_RECVORIGDSTADDR,
    /// SO_REUSEPORT (all workers form one group), bound to address:port. `reusePort: false` for a
    /// lone listener on an ephemeral port (tests): the kernel hands a port-0 bind with
    /// SO_REUSEPORT a port that another SO_REUSEPORT socket of the same user already holds, and
    /// the two then share its datagrams.
    static func listenUDP(address: UInt32, port: UInt16, reusePort: Bool = true) throws(SyscallError) -> Int32 {
        let fd = CSluice_udp_bind4(address, port, 1, reusePort ? 1 : 0, 0)
        if fd < 0 { throw SyscallError("bind(udp)", negated: fd) }
        return fd
    }

    /// A socket that answers *from* `source` (an address that is not ours): the steering recipe's
    /// reply socket (IP_TRANSPARENT + SO_REUSEADDR, CSluice_udp_reply_socket4).
    static func replySocket(from source: DNSEndpointAddress) throws(SyscallError) -> Int32 {
        let fd = CSluice_udp_reply_socket4(source.address, source.port)
        if fd < 0 { throw SyscallError("bind(reply)", negated: fd) }
        return fd
    }

    /// An unbound UDP socket with SO_MARK `mark`, for queries to upstream servers.
    static func upstreamSocket(mark: UInt32) throws(SyscallError) -> Int32 {
        let fd = CSluice_udp_upstream_socket4(mark)
        if fd < 0 { throw SyscallError("socket(udp)", negated: fd) }
        return fd
    }

    /// getsockname (CSluice_sock_local4): the address a socket is bound to.
    static func localAddress(_ fd: Int32) -> DNSEndpointAddress? {
        var local = DNSEndpointAddress(address: 0, port: 0)
        return CSluice_sock_local4(fd, &local.address, &local.port) == 0 ? local : nil
    }
}

/// Datagrams copied into one arena (8-byte aligned), each with its destination, for sendmmsg
/// (`CSluice_udp_send4_batch*`): what the UDP listener's replies (`DNSSocket.Outbox`) and the
/// forwarder's queries (`QueryOutbox`) share; each adds its per-datagram fields. Loop-thread only.
class DatagramBatch {
    // `final`: read and written directly from the subclasses' send loops, no dispatch.
    final let capacity: Int
    private final let arena: UnsafeMutableRawBufferPointer
    private final var used = 0
    final let messages: UnsafeMutablePointer<CSluice_udp_out>
    private(set) final var count = 0

    /// The slots a batch asked for `capacity` has (at most `CSLUICE_UDP_BATCH_MAX`).
    static func slots(_ capacity: Int) -> Int { min(capacity, Int(CSLUICE_UDP_BATCH_MAX)) }

    init(capacity: Int, arenaBytes: Int) {
        self.capacity = DatagramBatch.slots(capacity)
        arena = .allocate(byteCount: arenaBytes, alignment: 8)
        messages = .allocate(capacity: self.capacity)
    }

    deinit {
        arena.deallocate()
        messages.deallocate()
    }

    /// Queues a copy of `bytes` for `destination` in slot `count`; false when it does not fit.
    final func appendDatagram(_ bytes: UnsafeRawBufferPointer, to destination: DNSEndpointAddress) -> Bool {
        guard count < capacity, bytes.count <= arena.count - used else { return false }
        let start = arena.baseAddress! + used
        if bytes.count > 0 { start.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
        messages[count] = CSluice_udp_out(
            base: UnsafeRawPointer(start), length: UInt32(bytes.count), addr_be: destination.address,
            port: destination.port)
        count += 1
        used += (bytes.count + 7) & ~7
        return true
    }

    /// Empties the batch (after a send).
    final func removeAll() {
        count = 0
        used = 0
    }
}
