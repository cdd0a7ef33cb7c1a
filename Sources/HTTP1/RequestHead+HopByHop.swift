import SluiceModel

extension RequestHead {
    /// The byte range (name through CRLF) of the request's only `Connection` field line when its
    /// one option is `close`, on an HTTP/1.1 request; nil otherwise.
    ///
    /// `Connection` is hop-by-hop (RFC 9110 section 7.6.1): a proxy removes it before forwarding.
    /// Dropping this one line lets the proxy keep its upstream connection for the next client
    /// while it still closes the client's connection after the answer, as Envoy and nginx do.
    /// Any other `Connection` options (keep-alive, upgrade, listed fields) leave the head as is.
    public func soleConnectionCloseLine(in bytes: UnsafeRawBufferPointer) -> Range<Int>? {
        guard versionMinor == 1, !keepAlive, upgrade == nil else { return nil }
        var found: HeaderField?
        for field in headers where ASCII.equalsIgnoringCase(bytes, field.name, "connection") {
            guard found == nil else { return nil }
            found = field
        }
        guard let field = found, ASCII.equalsIgnoringCase(bytes, field.value, "close") else { return nil }
        var end = field.value.upperBound
        while end < headLength, bytes[end] != ASCII.lf { end &+= 1 }
        guard end < headLength else { return nil }
        return field.name.lowerBound..<(end &+ 1)
    }
}
