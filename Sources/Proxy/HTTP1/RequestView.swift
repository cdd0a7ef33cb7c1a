import HTTP1
import Policy

/// Adapts a parsed HTTP/1 request head to `Policy`'s protocol-neutral request: views into the
/// connection's buffer, no copies. Valid only while that buffer is untouched (the decide phase).
struct RequestView: HTTPRequestFields {
    let bytes: UnsafeRawBufferPointer
    let head: RequestHead
    let method: UnsafeRawBufferPointer
    let path: UnsafeRawBufferPointer
    let authority: UnsafeRawBufferPointer

    init(bytes: UnsafeRawBufferPointer, head: RequestHead) {
        self.bytes = bytes
        self.head = head
        method = UnsafeRawBufferPointer(rebasing: bytes[head.method])
        let target = UnsafeRawBufferPointer(rebasing: bytes[head.target])
        let host = head.host.map { UnsafeRawBufferPointer(rebasing: bytes[$0]) }
        // Absolute-form targets (RFC 9112 3.2.2) carry the authority; Envoy splits them into
        // :authority and :path the same way.
        if let split = RequestView.splitAbsoluteForm(target) {
            path = split.path
            authority = split.authority
        } else {
            path = target
            authority = host ?? UnsafeRawBufferPointer(start: nil, count: 0)
        }
    }

    /// A view whose path and authority were prepared by `HTTP1RequestPreparer` (the normalised
    /// path, the validated authority): what the policy matches is what is forwarded.
    init(
        bytes: UnsafeRawBufferPointer, head: RequestHead, path: UnsafeRawBufferPointer,
        authority: UnsafeRawBufferPointer
    ) {
        self.bytes = bytes
        self.head = head
        method = UnsafeRawBufferPointer(rebasing: bytes[head.method])
        self.path = path
        self.authority = authority
    }

    var isHEAD: Bool {
        method.count == 4 && method[0] == 0x48 && method[1] == 0x45 && method[2] == 0x41 && method[3] == 0x44
    }

    func forEachHeader(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool) {
        for field in head.headers {
            if !body(
                UnsafeRawBufferPointer(rebasing: bytes[field.name]),
                UnsafeRawBufferPointer(rebasing: bytes[field.value]))
            {
                return
            }
        }
    }

    /// `http://host[:port]/path?q` → (authority, path); nil for origin-form.
    static func splitAbsoluteForm(_ target: UnsafeRawBufferPointer)
        -> (authority: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer)?
    {
        guard target.count > 7, target[0] != 0x2F else { return nil }
        var i = 0
        while i < target.count && target[i] != 0x3A { i += 1 }  // ':'
        guard i + 2 < target.count, target[i + 1] == 0x2F, target[i + 2] == 0x2F else { return nil }
        let start = i + 3
        var end = start
        while end < target.count && target[end] != 0x2F && target[end] != 0x3F { end += 1 }
        let authority = UnsafeRawBufferPointer(rebasing: target[start..<end])
        if end == target.count {
            return (authority, UnsafeRawBufferPointer(start: RequestView.slash, count: 1))
        }
        return (authority, UnsafeRawBufferPointer(rebasing: target[end...]))
    }

    private static let slash: UnsafeRawPointer = {
        let p = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)
        p.storeBytes(of: 0x2F, as: UInt8.self)
        return UnsafeRawPointer(p)
    }()
}
