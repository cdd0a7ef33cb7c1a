import SluiceModel

extension Flow {
    /// How a proxied exchange (an HTTP request or a DNS query) ended when a peer's connection
    /// failed (Sluice's own field: Hubble's HTTP and DNS records have none, so it shows in
    /// `Summary`): the side whose read, write or send failed and its errno, 0 when that peer
    /// closed (EOF) before the exchange was complete. The proxy's `PeerClose`, as the record
    /// keeps it.
    public typealias ConnectionError = PeerClose
}
