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

        /// The i-th received datagram (valid until the next `receiveBatch`).
        @inline(__always)
        func datagram(_ i: Int) -> (bytes: UnsafeMutableRawBufferPointer, datagram: Datagram) {
            let d = datagrams[i]
            let start = i * slotSize
            let bytes = UnsafeMutableRawBufferPointer(rebasing: buffer[start..<(start + Int(d.length))])
            return (bytes, Datagram(count: Int(d.length),
                                    source: DNSEndpointAddress(address: d.src_addr_be, port: d.src_port),
                                    originalDestination: DNSEndpointAddress(address: d.orig_addr_be, port: d.orig_port),
                                    truncated: d.truncated != 0))
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
        let n = CSluice_udp_recv4_batch(fd, batch.buffer.baseAddress, batch.slotSize, batch.datagrams, Int32(batch.count))
        if n > 0 { return .received(Int(n)) }
        if -n == EAGAIN || -n == EWOULDBLOCK { return .wouldBlock }
        return .error(-n)
    }

    /// sendto (CSluice_udp_send4). Returns 0 or the errno.
    @inline(__always)
    static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, to destination: DNSEndpointAddress) -> Int32 {
        let n = CSluice_udp_send4(fd, bytes.baseAddress, bytes.count, destination.address, destination.port)
        return n < 0 ? -n : 0
    }

    /// The transparent UDP listener of one worker: IP_TRANSPARENT + IP_RECVORIGDSTADDR,
    /// SO_REUSEPORT (all workers form one group), bound to address:port.
    static func listenUDP(address: UInt32, port: UInt16) throws(SyscallError) -> Int32 {
        let fd = CSluice_udp_bind4(address, port, 1, 1, 0)
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
