/// The one edit HTTP/1 relaying makes to heads: the client's sole `Connection: close` line is
/// not forwarded (it is hop-by-hop, and without it the upstream connection stays reusable), and
/// the final response then gets `connection: close` (RFC 9112 9.6) inserted before the end of its
/// head. Both are done in the gathered write of the bytes around them, never by copying a head.
struct ConnectionCloseEdit {
    /// The request's line still to skip, offsets from `down`'s read position.
    var skip: Range<Int>?
    /// The line was dropped: the final response gets one inserted.
    var dropped = false
    /// Where the inserted line goes, offset from `up`'s read position, until all of it is out.
    var insertAt: Int?
    /// Bytes of the inserted line already written.
    var inserted = 0

    static let line: StaticString = "connection: close\r\n"
}
