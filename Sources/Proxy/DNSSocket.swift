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

    enum ReceiveResult {
        case datagram(Datagram)
        case wouldBlock
        case error(Int32)
    }

    /// recvmsg into `buffer` (CSluice_udp_recv4).
    @inline(__always)
    static func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> ReceiveResult {
        var source = DNSEndpointAddress(address: 0, port: 0)
        var original = DNSEndpointAddress(address: 0, port: 0)
        var truncated: Int32 = 0
        let n = CSluice_udp_recv4(fd, buffer.baseAddress, buffer.count, &source.address, &source.port,
                                  &original.address, &original.port, &truncated)
        if n >= 0 {
            return .datagram(Datagram(count: Int(n), source: source, originalDestination: original,
                                      truncated: truncated != 0))
        }
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
