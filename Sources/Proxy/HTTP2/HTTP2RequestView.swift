import HTTP2
import Policy
import SluiceModel

/// Adapts one HTTP/2 request header block to `Policy`'s protocol-neutral request, the same input
/// `RequestView` gives from HTTP/1, so both protocols go through one matcher. Views into the
/// block's storage: valid only inside `HTTP2RequestView.with`.
struct HTTP2RequestView: HTTPRequestFields {
    let bytes: UnsafeRawBufferPointer
    let block: HTTP2HeaderBlock
    let method: UnsafeRawBufferPointer
    let path: UnsafeRawBufferPointer
    let authority: UnsafeRawBufferPointer
    let isGRPC: Bool

    /// Calls `body` with the view of `block`.
    static func with<T>(_ block: HTTP2HeaderBlock, _ body: (HTTP2RequestView) -> T) -> T {
        block.storage.withUnsafeBytes { body(HTTP2RequestView(bytes: $0, block: block)) }
    }

    private init(bytes: UnsafeRawBufferPointer, block: HTTP2HeaderBlock) {
        self.bytes = bytes
        self.block = block
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        var method = empty, path = empty, authority: UnsafeRawBufferPointer? = nil, host: UnsafeRawBufferPointer? = nil
        var grpc = false
        for f in block.fields {
            let name = UnsafeRawBufferPointer(rebasing: bytes[f.name])
            let value = UnsafeRawBufferPointer(rebasing: bytes[f.value])
            if Self.equals(name, ":method") {
                method = value
            } else if Self.equals(name, ":path") {
                path = value
            } else if Self.equals(name, ":authority") {
                authority = value
            } else if Self.equals(name, "host") {
                host = value
            } else if Self.equals(name, "content-type") {
                grpc = Self.hasPrefix(value, "application/grpc")
            }
        }
        self.method = method
        self.path = path
        // RFC 9113 8.3.1: a request may carry Host instead of :authority; Envoy uses either.
        self.authority = authority ?? host ?? empty
        self.isGRPC = grpc
    }

    var isHEAD: Bool { Self.equals(method, "HEAD") }

    func forEachHeader(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool) {
        for f in block.fields {
            let name = UnsafeRawBufferPointer(rebasing: bytes[f.name])
            if name.first == 0x3A { continue }  // pseudo-headers are matched as method/path/authority
            if !body(name, UnsafeRawBufferPointer(rebasing: bytes[f.value])) { return }
        }
    }

    static func equals(_ a: UnsafeRawBufferPointer, _ s: StaticString) -> Bool {
        guard a.count == s.utf8CodeUnitCount else { return false }
        let p = s.utf8Start
        for i in 0..<a.count where a[i] != p[i] { return false }
        return true
    }

    static func hasPrefix(_ a: UnsafeRawBufferPointer, _ s: StaticString) -> Bool {
        guard a.count >= s.utf8CodeUnitCount else { return false }
        let p = s.utf8Start
        for i in 0..<s.utf8CodeUnitCount where ASCII.lower(a[i]) != p[i] { return false }
        return true
    }
}
