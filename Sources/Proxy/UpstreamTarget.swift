import SluiceIO

/// Where the upstream socket of a proxied connection goes and with which SO_MARK: the client's
/// original destination, marked with the client's identity (`ProxyMarks.upstream(for:)`). The
/// same three values key `UpstreamPool`, so a pooled connection is only reused for the same
/// destination and identity.
struct UpstreamTarget: Hashable {
    /// IPv4 address in network order.
    var address: UInt32
    var port: UInt16
    var mark: UInt32

    init(address: UInt32, port: UInt16, mark: UInt32) {
        self.address = address
        self.port = port
        self.mark = mark
    }

    /// The upstream of a connection to `addresses` steered with `steer`.
    init(_ addresses: ConnectionAddresses, steer: SteerInfo?) {
        self.init(
            address: addresses.originalDestinationAddress, port: addresses.originalDestinationPort,
            mark: ProxyMarks.upstream(for: steer))
    }

    /// A new non-blocking TCP socket connecting to the target (`Socket.connectTCP`).
    func connect() throws(SyscallError) -> Int32 {
        try Socket.connectTCP(address: address, port: port, mark: mark)
    }
}
