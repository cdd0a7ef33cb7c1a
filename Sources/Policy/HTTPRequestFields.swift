import SluiceModel

/// The protocol-neutral view of an HTTP request that policy decides on, adapted by the proxy
/// from its HTTP/1 parse or its HTTP/2 header block. Byte views only: no `String` on the hot path.
///
/// `method`, `path` and `authority` are the raw `:method`, `:path` (query included) and
/// `:authority` (port included when sent; the HTTP/1 `Host` header), exactly what Envoy matches.
public protocol HTTPRequestFields {
    /// `:method`, e.g. `GET`.
    var method: UnsafeRawBufferPointer { get }
    /// `:path`, e.g. `/anything/x?a=1`.
    var path: UnsafeRawBufferPointer { get }
    /// `:authority`, e.g. `backend.backend:8080`.
    var authority: UnsafeRawBufferPointer { get }
    /// Calls `body` with each regular header (name, value) in arrival order until it returns false.
    func forEachHeader(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool)
}

/// What the proxy should do with a `headerMatches` entry whose `mismatch` is set, after the rest
/// of the rule matched (cilium/proxy HeaderMatch): LOG, ADD, DELETE or REPLACE.
public struct HTTPHeaderAction: Sendable, Hashable {
    /// The mismatch action: SluiceModel's, whose words and record bits the flows share.
    public typealias Action = HeaderMismatchAction

    /// Header name as written.
    public var name: String
    /// Expected value; nil = presence check only.
    public var value: String?
    /// What to do when the header does not match.
    public var action: Action
}
