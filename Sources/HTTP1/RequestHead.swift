import SluiceModel

/// A parsed request head: offsets into the buffer it was parsed from, plus what the proxy needs to
/// decide and relay (framing, persistence, Host, Expect, upgrades).
///
/// Owned by the connection that parses into it; `HTTP1Parser.parseRequestHead` resets every field and
/// reuses the capacity of `headers`, so one value per connection avoids allocation after the first
/// request. Contents are meaningful only after `.complete`.
public struct RequestHead: Equatable, Sendable {
    /// The method token (case-sensitive), after any skipped leading empty lines.
    public var method: Range<Int>
    /// The request-target exactly as sent (origin-, absolute-, authority- or asterisk-form).
    public var target: Range<Int>
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    public var versionMinor: UInt8
    /// Every field line in order.
    public var headers: [HeaderField]
    /// Bytes from the start of the buffer through the final CRLFCRLF, leading empty lines included.
    /// The body (or the next pipelined request) starts here.
    public var headLength: Int
    /// How the request body is delimited.
    public var framing: BodyFraming
    /// Whether the client's connection persists after this exchange (RFC 9112 section 9.3).
    public var keepAlive: Bool
    /// The Host field value (at most one is accepted; HTTP/1.1 requires it).
    public var host: Range<Int>?
    /// Whether Content-Length was given more than once with the same value (two fields, or a list
    /// such as `3, 3`): the proxy forwards it as one field (RFC 9110 section 8.6).
    public var contentLengthRepeated: Bool
    /// Whether the request carries `Expect: 100-continue`.
    public var expectContinue: Bool
    /// Whether this is an HTTP/1.1 h2c upgrade: `Upgrade: h2c`, `Connection: Upgrade, HTTP2-Settings`
    /// and one HTTP2-Settings field (RFC 7540 section 3.2).
    public var upgradeH2C: Bool
    /// The Upgrade field value when `Connection` lists `upgrade` (HTTP/1.1 only), else nil.
    public var upgrade: Range<Int>?

    /// An empty head, ready to be parsed into.
    public init() {
        method = 0..<0
        target = 0..<0
        versionMinor = 1
        headers = []
        headLength = 0
        framing = .none
        keepAlive = false
        host = nil
        contentLengthRepeated = false
        expectContinue = false
        upgradeH2C = false
        upgrade = nil
    }

    /// Resets every field, keeping the capacity of `headers`. Field by field and in place: swapping
    /// the list out and assigning a fresh head released the empty list twice per request (two
    /// atomic operations on the runtime's shared empty array, docs/performance.md s21-own).
    mutating func reset() {
        method = 0..<0
        target = 0..<0
        versionMinor = 1
        if !headers.isEmpty { headers.removeAll(keepingCapacity: true) }
        headLength = 0
        framing = .none
        keepAlive = false
        host = nil
        contentLengthRepeated = false
        expectContinue = false
        upgradeH2C = false
        upgrade = nil
    }
}

extension RequestHead {
    /// The method bytes within `bytes`, the buffer the head was parsed from.
    public func method(in bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        bytes.slice(method)
    }

    /// The request-target bytes within `bytes`.
    public func target(in bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        bytes.slice(target)
    }

    /// The Host value bytes within `bytes`, or nil when the request has none.
    public func host(in bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        host.map { bytes.slice($0) }
    }

    /// Whether the method is exactly `name` (methods are case-sensitive, RFC 9110 section 9.1).
    public func methodIs(_ name: StaticString, in bytes: UnsafeRawBufferPointer) -> Bool {
        ASCII.equals(bytes, method, name)
    }

    /// The first field whose name holds `_`, or nil. A backend that maps `_` to `-` (CGI, many
    /// frameworks) would read `x_role` as a second `x-role` the policy never saw.
    public func firstUnderscoreField(in bytes: UnsafeRawBufferPointer) -> HeaderField? {
        for field in headers {
            for index in field.name where bytes[index] == 0x5F { return field }
        }
        return nil
    }

    /// The value of the first field named `name` (ASCII case-insensitive), or nil.
    public func firstValue(named name: StaticString, in bytes: UnsafeRawBufferPointer) -> Range<Int>? {
        headers.firstValue(named: name, in: bytes)
    }
}
