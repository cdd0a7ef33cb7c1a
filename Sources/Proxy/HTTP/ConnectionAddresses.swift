/// The four addresses of a proxied connection. Addresses are IPv4 in network order.
struct ConnectionAddresses {
    var clientAddress: UInt32
    var clientPort: UInt16
    /// Where the client was going (getsockname of the transparent socket).
    var originalDestinationAddress: UInt32
    var originalDestinationPort: UInt16
}
