/// Settings of the DNS proxy. Defaults follow Cilium's agent flags (cilium-semantics.md 3.2, 4.4,
/// 4.5); each field names the flag it mirrors.
public struct DNSProxyConfig: Sendable {
    /// The answer to a query the policy denies (`--tofqdns-dns-reject-response-code`).
    public enum RejectResponseCode: String, Sendable, CaseIterable {
        /// REFUSED (5), Cilium's default.
        case refused
        /// NXDOMAIN (3).
        case nameError
    }

    /// Address of the transparent UDP and TCP listeners (network order); 127.0.0.1.
    public var listenAddress: UInt32
    /// Port of both listeners (the sockmap, not the port, steers traffic to them).
    public var listenPort: UInt16
    public var rejectResponseCode: RejectResponseCode
    /// Time an upstream has to answer (Cilium `ProxyForwardTimeout`, 10 s); then the query is
    /// forgotten without an answer or a flow, only counted.
    public var forwardTimeoutNs: UInt64
    /// Longest time an answer for a toFQDNs name is held while its IPs are written into the
    /// datapath (`--tofqdns-proxy-response-max-delay`, 100 ms); then released anyway and counted.
    public var fqdnResponseMaxDelayNs: UInt64
    /// Lowest TTL a learned IP gets (`--tofqdns-min-ttl`, 0).
    public var fqdnMinTTL: UInt32
    /// Most IPs kept per name; the least recently seen go first
    /// (`--tofqdns-endpoint-max-ip-per-hostname`, 1000).
    public var fqdnMaxIPsPerName: Int
    /// Queries in flight per worker before new ones get SERVFAIL (Cilium
    /// `--dnsproxy-concurrency-limit` answers SERVFAIL when reached too).
    public var maxPendingPerWorker: Int
    /// A DNS-over-TCP client connection with nothing in flight is closed after this long
    /// (10 s; `--dns-tcp-idle-timeout-ms`; unbound's `tcp-idle-timeout` is 30 s, dnsdist's
    /// `setTCPRecvTimeout` 2 s).
    public var tcpIdleTimeoutNs: UInt64
    /// Largest DNS-over-TCP message accepted from either side.
    public var tcpMaxMessageSize: Int
    /// Upstream UDP sockets per worker that queries leave from, one drawn at random per query
    /// (each on a kernel-chosen random port).
    public var upstreamSocketPoolSize: Int
    /// Queries one upstream socket sends before it is replaced by a fresh one (a new port);
    /// the old one closes when its last query is answered or times out.
    public var upstreamSocketMaxQueries: Int
    /// DNS over TCP: with more answers than this buffered for a client the proxy stops reading
    /// its queries (resumed once the client reads); past this plus one largest message the
    /// connection is closed.
    public var tcpMaxBufferedBytes: Int
    /// DNS over TCP: queries of one connection in flight upstream before the proxy stops
    /// reading more of them (resumed as answers come back or time out).
    public var tcpMaxQueriesInFlight: Int
    /// DNS over TCP: most open client connections over all workers (split evenly, at least one
    /// each); a worker at its share stops accepting until one closes, the connections wait in
    /// the kernel's queue (`--dns-tcp-max-connections`, 4096).
    public var tcpMaxConnections: Int
    /// Most IPs in the toFQDNs cache over all names (node-wide); past it the least recently
    /// seen are evicted, down to 15/16 of it.
    public var fqdnMaxEntries: Int
    /// DNS over UDP: while a worker's wake-ups handle DNS datagrams only, 2 to 8 arrive per
    /// window and the worker is idle at least half the time, it sleeps out this window after each
    /// wake-up before waiting again, so the queries and answers that arrive meanwhile are read and
    /// sent together with one wake-up (`EventLoop.gatherWindowNs`; `--dns-gather-us`, 0 = off, the
    /// default; 250 µs gathers 8,000 to 32,000 datagrams/s, i.e. 4,000 to 16,000 forwarded queries/s).
    /// Each gathered datagram waits up to the window; a worker whose datagrams come seldom, one
    /// near saturation, and one that also serves connections are not affected.
    public var udpGatherWindowNs: UInt64
    /// Sends every allowed query to this server instead of the original destination (address in
    /// network order, port). For tests and for running in front of one fixed resolver; nil in
    /// the agent.
    public var upstreamOverride: DNSEndpointAddress?

    public init(
        listenAddress: UInt32 = 0x0100_007F, listenPort: UInt16 = 15053,
        rejectResponseCode: RejectResponseCode = .refused, forwardTimeoutNs: UInt64 = 10_000_000_000,
        fqdnResponseMaxDelayNs: UInt64 = 100_000_000, fqdnMinTTL: UInt32 = 0, fqdnMaxIPsPerName: Int = 1000,
        maxPendingPerWorker: Int = 16384, tcpIdleTimeoutNs: UInt64 = 10_000_000_000,
        tcpMaxMessageSize: Int = 65535, upstreamOverride: DNSEndpointAddress? = nil,
        upstreamSocketPoolSize: Int = 32, upstreamSocketMaxQueries: Int = 256,
        tcpMaxBufferedBytes: Int = 65536, tcpMaxQueriesInFlight: Int = 128, fqdnMaxEntries: Int = 65536,
        tcpMaxConnections: Int = 4096, udpGatherWindowNs: UInt64 = 0
    ) {
        self.listenAddress = listenAddress
        self.listenPort = listenPort
        self.rejectResponseCode = rejectResponseCode
        self.forwardTimeoutNs = forwardTimeoutNs
        self.fqdnResponseMaxDelayNs = fqdnResponseMaxDelayNs
        self.fqdnMinTTL = fqdnMinTTL
        self.fqdnMaxIPsPerName = fqdnMaxIPsPerName
        self.maxPendingPerWorker = maxPendingPerWorker
        self.tcpIdleTimeoutNs = tcpIdleTimeoutNs
        self.tcpMaxMessageSize = tcpMaxMessageSize
        self.upstreamOverride = upstreamOverride
        self.upstreamSocketPoolSize = upstreamSocketPoolSize
        self.upstreamSocketMaxQueries = max(1, upstreamSocketMaxQueries)
        self.tcpMaxBufferedBytes = max(0, tcpMaxBufferedBytes)
        self.tcpMaxQueriesInFlight = max(1, tcpMaxQueriesInFlight)
        self.fqdnMaxEntries = max(1, fqdnMaxEntries)
        self.tcpMaxConnections = max(1, tcpMaxConnections)
        self.udpGatherWindowNs = udpGatherWindowNs
    }
}

/// An IPv4 address (network order) and a port (host order). Made only inside Proxy (the
/// memberwise init is internal).
public struct DNSEndpointAddress: Sendable, Hashable {
    public var address: UInt32
    public var port: UInt16

    /// One integer for dictionary keys.
    var key: UInt64 { UInt64(address) << 16 | UInt64(port) }
}
