/// A parsed response head: offsets into the buffer it was parsed from, plus the framing and
/// persistence the proxy needs to relay the body.
///
/// Reused like `RequestHead`: parsing resets every field and keeps the capacity of `headers`.
public struct ResponseHead: Equatable, Sendable {
    /// The status code, 100...999.
    public var status: Int
    /// The reason phrase (may be empty).
    public var reason: Range<Int>
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    public var versionMinor: UInt8
    /// Every field line in order.
    public var headers: [HeaderField]
    /// Bytes from the start of the buffer through the final CRLFCRLF.
    public var headLength: Int
    /// How the response body is delimited; `.none` for HEAD requests, 1xx, 204 and 304.
    public var framing: BodyFraming
    /// Whether the server's connection persists after this response; false with `.untilClose`.
    public var keepAlive: Bool

    /// An empty head, ready to be parsed into.
    public init() {
        status = 0
        reason = 0..<0
        versionMinor = 1
        headers = []
        headLength = 0
        framing = .none
        keepAlive = false
    }

    /// Resets every field, keeping the capacity of `headers`.
    mutating func reset() {
        status = 0
        reason = 0..<0
        versionMinor = 1
        headers.removeAll(keepingCapacity: true)
        headLength = 0
        framing = .none
        keepAlive = false
    }

    /// Whether the status is informational (1xx): another response head follows on the connection.
    public var isInformational: Bool { status >= 100 && status < 200 }
}

extension ResponseHead {
    /// The reason phrase bytes within `bytes`, the buffer the head was parsed from.
    public func reason(in bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        bytes.slice(reason)
    }

    /// The value of the first field named `name` (ASCII case-insensitive), or nil.
    public func firstValue(named name: StaticString, in bytes: UnsafeRawBufferPointer) -> Range<Int>? {
        headers.firstValue(named: name, in: bytes)
    }
}
