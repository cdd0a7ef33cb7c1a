import SluiceModel

/// Path normalisation before policy matching, as Cilium configures Envoy by default
/// (`http-normalize-path`: `normalize_path`, `merge_slashes`, `path_with_escaped_slashes_action:
/// UNESCAPE_AND_REDIRECT`). The policy and the backend then see one path, so `/public/../private`
/// cannot pass a rule for `/public/.*` and reach `/private`.
///
/// Order, as in Envoy's `ConnectionManagerUtility::maybeNormalizePath`:
/// 1. `%2F` and `%5C` (any case) are unescaped to `/` and `\`; when there was one the answer is a
///    redirect to the fully normalised path (query kept), never a forward: the request is not
///    matched nor forwarded with the slash encoded, and never normalised across it.
/// 2. Percent-encoded unreserved characters (RFC 3986 section 2.3) are decoded (`%2e` is `.`,
///    `%41` is `A`); other escapes keep their bytes with the hex digits in upper case; a `%` not
///    followed by two hex digits is 400. A `\` is a `/` (as Envoy's URL canonicaliser treats it).
/// 3. Dot segments are removed (RFC 3986 section 5.2.4).
/// 4. Runs of `/` are merged into one.
/// The query (from the first `?`) is kept byte for byte. A `#` anywhere in the target is 400.
/// Targets not starting with `/` (`*`, authority-form) are left to the caller.
///
/// Pure: the input is only read; a changed path is written to caller-provided storage.
public enum PathNormalizer {
    /// What became of a path.
    public enum Outcome: Equatable, Sendable {
        /// Already canonical: match and forward the bytes as they are.
        case unchanged
        /// The canonical path (and query) is the first `length` bytes written to the output.
        case normalized(length: Int)
        /// An encoded slash or backslash: answer 307 with this many output bytes as `Location`.
        case redirect(length: Int)
    }

    /// Bytes the output may need for `path`: never more than the input, plus one.
    public static func outputCapacity(for path: UnsafeRawBufferPointer) -> Int { path.count &+ 1 }

    /// Normalises `target` (an origin-form path with optional query) into `output`, which must hold
    /// at least `outputCapacity(for: target)` bytes.
    public static func normalize(
        _ target: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) throws(ParseError) -> Outcome {
        let n = target.count
        var pathEnd = n
        var needsWork = false
        var previous: UInt8 = 0
        var i = 0
        // One pass decides whether anything can change; the common canonical path ends here.
        while i < n {
            let c = target[i]
            if c == 0x23 { throw .fragmentInTarget }  // '#'
            if c == 0x3F && pathEnd == n { pathEnd = i }  // '?'
            if pathEnd == n {
                if c == 0x25 || c == 0x5C { needsWork = true }  // '%' '\'
                if c == 0x2F && previous == 0x2F { needsWork = true }  // "//"
                if c == 0x2E && (previous == 0x2F) { needsWork = true }  // "/." may start a dot segment
            }
            previous = c
            i &+= 1
        }
        guard n > 0, target[0] == 0x2F, needsWork else { return .unchanged }
        precondition(output.count >= outputCapacity(for: target), "PathNormalizer output too small")

        // Steps 1 and 2 into `output`.
        var redirect = false
        var out = 0
        i = 0
        while i < pathEnd {
            var c = target[i]
            if c == 0x25 {
                guard i &+ 2 < pathEnd, let hi = ASCII.hexValue(target[i &+ 1]), let lo = ASCII.hexValue(target[i &+ 2])
                else { throw .badPercentEncoding }
                let decoded = UInt8(hi &* 16 &+ lo)
                if decoded == 0x2F || decoded == 0x5C {
                    redirect = true
                    c = decoded
                } else if isUnreserved(decoded) {
                    c = decoded
                } else {
                    output[out] = 0x25
                    output[out &+ 1] = upperHex(hi)
                    output[out &+ 2] = upperHex(lo)
                    out &+= 3
                    i &+= 3
                    continue
                }
                i &+= 3
            } else {
                i &+= 1
            }
            output[out] = c == 0x5C ? 0x2F : c
            out &+= 1
        }
        let length = removeDotSegmentsAndMergeSlashes(output, count: out)
        var total = length
        for k in pathEnd..<n {
            output[total] = target[k]
            total &+= 1
        }
        if redirect { return .redirect(length: total) }
        if total == n && memcmpEqual(output, target, n) { return .unchanged }
        return .normalized(length: total)
    }

    /// RFC 3986 section 5.2.4 then slash merging, in place on `buffer[0..<count]` (which starts
    /// with `/`); returns the new length. Segments are copied down; a `..` drops back to the
    /// previous `/` in the output, never before the first one.
    static func removeDotSegmentsAndMergeSlashes(_ buffer: UnsafeMutableRawBufferPointer, count: Int) -> Int {
        var read = 0
        var write = 0
        while read < count {
            // At a '/': find the segment that follows it.
            var segEnd = read &+ 1
            while segEnd < count, buffer[segEnd] != 0x2F { segEnd &+= 1 }
            let segLength = segEnd &- read &- 1
            let isLast = segEnd >= count
            if segLength == 1 && buffer[read &+ 1] == 0x2E {
                // "." : dropped; a final one leaves the trailing slash.
                if isLast { buffer[write] = 0x2F; write &+= 1 }
            } else if segLength == 2 && buffer[read &+ 1] == 0x2E && buffer[read &+ 2] == 0x2E {
                // "..": remove the last output segment (back to its '/').
                if write > 0 {
                    write &-= 1
                    while write > 0, buffer[write] != 0x2F { write &-= 1 }
                }
                if isLast { buffer[write] = 0x2F; write &+= 1 }
            } else {
                for k in read..<segEnd {
                    buffer[write] = buffer[k]
                    write &+= 1
                }
            }
            read = segEnd
        }
        if write == 0 { buffer[0] = 0x2F; write = 1 }
        // Merge slashes.
        var merged = 0
        for k in 0..<write {
            let c = buffer[k]
            if c == 0x2F && merged > 0 && buffer[merged &- 1] == 0x2F { continue }
            buffer[merged] = c
            merged &+= 1
        }
        return merged
    }

    /// ALPHA / DIGIT / "-" / "." / "_" / "~" (RFC 3986 section 2.3).
    @inline(__always)
    static func isUnreserved(_ c: UInt8) -> Bool {
        switch c {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x2E, 0x5F, 0x7E: return true
        default: return false
        }
    }

    @inline(__always)
    private static func upperHex(_ v: Int) -> UInt8 { v < 10 ? UInt8(0x30 &+ v) : UInt8(0x41 &+ v &- 10) }

    private static func memcmpEqual(_ a: UnsafeMutableRawBufferPointer, _ b: UnsafeRawBufferPointer, _ n: Int) -> Bool {
        for k in 0..<n where a[k] != b[k] { return false }
        return true
    }
}
