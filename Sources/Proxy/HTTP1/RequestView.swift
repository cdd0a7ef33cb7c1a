import HTTP1
import Policy

/// Adapts a parsed HTTP/1 request head to `Policy`'s protocol-neutral request: views into the
/// connection's buffer and the head's field list, no copies. Lent to a closure (`with`) and valid
/// only inside it, while that buffer is untouched (the decide phase).
///
/// The field list is borrowed through the head's storage, not copied: a view that held the
/// `RequestHead` retained and released its list once per request (docs/performance.md s21-own).
struct RequestView: HTTPRequestFields {
    let bytes: UnsafeRawBufferPointer
    /// The head's field lines (offsets into `bytes`).
    let fields: UnsafeBufferPointer<HeaderField>
    let method: UnsafeRawBufferPointer
    let path: UnsafeRawBufferPointer
    let authority: UnsafeRawBufferPointer

    /// Calls `body` with the view of `head` as received: the path and authority of an
    /// absolute-form target, else the target and Host (a request answered before the decision).
    static func with<T>(bytes: UnsafeRawBufferPointer, head: inout RequestHead, _ body: (RequestView) -> T) -> T {
        let target = UnsafeRawBufferPointer(rebasing: bytes[head.target])
        // Absolute-form targets (RFC 9112 3.2.2) carry the authority; Envoy splits them into
        // :authority and :path the same way.
        if let split = splitAbsoluteForm(target) {
            return with(bytes: bytes, head: &head, path: split.path, authority: split.authority, body)
        }
        let host = head.host.map { UnsafeRawBufferPointer(rebasing: bytes[$0]) }
        return with(
            bytes: bytes, head: &head, path: target,
            authority: host ?? UnsafeRawBufferPointer(start: nil, count: 0), body)
    }

    /// Calls `body` with a view whose path and authority were prepared by `HTTP1RequestPreparer`
    /// (the normalised path, the validated authority): what the policy matches is what is
    /// forwarded. `head` is taken `inout` so its field list is lent in place (an inout access to
    /// the connection's head copies nothing; `withUnsafeMutableBufferPointer` on a uniquely held
    /// list neither).
    static func with<T>(
        bytes: UnsafeRawBufferPointer, head: inout RequestHead, path: UnsafeRawBufferPointer,
        authority: UnsafeRawBufferPointer, _ body: (RequestView) -> T
    ) -> T {
        let method = UnsafeRawBufferPointer(rebasing: bytes[head.method])
        return head.headers.withUnsafeMutableBufferPointer { fields in
            body(
                RequestView(
                    bytes: bytes, fields: UnsafeBufferPointer(fields), method: method, path: path,
                    authority: authority))
        }
    }

    var isHEAD: Bool {
        method.count == 4 && method[0] == 0x48 && method[1] == 0x45 && method[2] == 0x41 && method[3] == 0x44
    }

    func forEachHeader(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool) {
        for field in fields {
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
