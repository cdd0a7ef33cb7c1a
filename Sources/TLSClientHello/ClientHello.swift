/// What Sluice reads from a TLS ClientHello before any decision: the SNI and the ALPN offer.
public struct ClientHello: Equatable, Sendable {
    /// The `server_name` extension's `host_name` (RFC 6066 section 3), lower-cased, a single
    /// trailing dot removed; nil when the client sent no `server_name` (as curl does for an IP
    /// literal URL). A present name is never empty and never an IP address literal: those are
    /// `ClientHelloError`s.
    public var serverName: String?
    /// The `application_layer_protocol_negotiation` offer in the client's order (RFC 7301), e.g.
    /// `["h2", "http/1.1"]`; empty when the extension is absent. Names that are not UTF-8 are
    /// decoded with replacement characters.
    public var alpnProtocols: [String]
    /// `legacy_version` of the ClientHello body (0x0303 for TLS 1.2 and 1.3 clients).
    public var legacyVersion: UInt16
    /// Bytes from the start of the stream through the end of the last TLS record that carries
    /// the ClientHello. The proxy forwards the buffered bytes untouched; this says where the hello ends.
    public var recordBytes: Int

    /// Creates a value (tests, tools).
    public init(serverName: String?, alpnProtocols: [String], legacyVersion: UInt16, recordBytes: Int) {
        self.serverName = serverName
        self.alpnProtocols = alpnProtocols
        self.legacyVersion = legacyVersion
        self.recordBytes = recordBytes
    }
}

/// The outcome of one attempt to read a ClientHello from the first bytes of a connection.
public enum ClientHelloResult: Equatable, Sendable {
    /// The bytes so far are a valid prefix of a ClientHello's records; call again with more bytes
    /// (from the same start).
    case needMore
    /// The ClientHello is complete and well formed.
    case parsed(ClientHello)
    /// The stream does not start with a TLS handshake record (plain text, SSLv2, another protocol).
    case notTLS
    /// The stream starts like TLS but the ClientHello can never become valid.
    case malformed(ClientHelloError)
}
