import HTTP1

/// Prepares a parsed HTTP/1 request head for the decide phase so that the policy decides on
/// exactly what is forwarded (docs/policy.md, "What a rule sees"):
/// - Host, and the authority of an absolute-form target, are validated (`Authority`); for an
///   absolute-form target the rule matches its authority and the forwarded Host is rewritten to it
///   (RFC 9112 section 3.2.2: the target's authority wins; added when there is no Host);
/// - the path is normalised (`PathNormalizer`) and the normalised path is both matched and
///   forwarded; an encoded slash or backslash is answered with a 307 to the unescaped path;
/// - header names with `_` are rejected, dropped or allowed (`HeadersWithUnderscoresAction`);
/// - a repeated identical Content-Length is forwarded as one field.
/// When anything changed, the head to forward is rebuilt in `rewrittenHead`; the common request
/// (canonical path, origin-form, nothing repeated) is forwarded byte for byte and costs one scan.
///
/// Owned by one `HTTP1Connection`, stored inline in it (noncopyable: it owns `storage`, freed
/// when the connection goes), loop thread only. `path` storage lives as long as this value. A
/// class of its own before, its object was one more cache miss per request under 50 keep-alive
/// connections (`prepare`'s first load took 60 % of its samples, docs/performance.md s23-own).
struct HTTP1RequestPreparer: ~Copyable {
    enum Outcome {
        /// Match with these views (into the request bytes or this object's storage), then forward.
        case forward(path: UnsafeRawBufferPointer, authority: UnsafeRawBufferPointer)
        /// Answer with the error's status and close.
        case reject(ParseError)
        /// Answer 307 with this `Location` (a view into this object's storage).
        case redirect(location: UnsafeRawBufferPointer)
    }

    private let storage: UnsafeMutableRawBufferPointer
    /// The head to forward instead of the received one; empty when the received one is forwarded.
    private(set) var rewrittenHead: [UInt8] = []
    /// Bytes of `rewrittenHead` already written upstream.
    var rewrittenWritten = 0

    init(maxTargetBytes: Int) {
        storage = .allocate(byteCount: max(maxTargetBytes, 0) + 2, alignment: 1)
    }

    deinit { storage.deallocate() }

    /// Whether a rebuilt head waits to be forwarded.
    var hasRewrittenHead: Bool { !rewrittenHead.isEmpty }

    /// Forgets the rebuilt head (it was forwarded, or the request was not).
    mutating func finishRewrite() {
        // Most requests never rebuild their head: skip the array's uniqueness check for them.
        if !rewrittenHead.isEmpty { rewrittenHead.removeAll(keepingCapacity: true) }
        rewrittenWritten = 0
    }

    /// Makes the `headerMatches` actions' edits (ADD, DELETE, REPLACE) to the head to forward:
    /// the rebuilt one, or the received `bytes[..<headLength]`.
    mutating func apply(_ edits: HTTPHeaderEdits, bytes: UnsafeRawBufferPointer, headLength: Int) {
        rewrittenHead =
            hasRewrittenHead
            ? rewrittenHead.withUnsafeBytes { edits.applied(toHead: $0) }
            : edits.applied(toHead: UnsafeRawBufferPointer(rebasing: bytes[..<headLength]))
        rewrittenWritten = 0
    }

    /// Checks and normalises `head` (parsed from `bytes`). May remove underscore fields from
    /// `head.headers` (drop-header), so the policy never sees them either.
    mutating func prepare(
        bytes: UnsafeRawBufferPointer, head: inout RequestHead,
        underscores: HeadersWithUnderscoresAction
    ) -> Outcome {
        finishRewrite()
        var rewrite = head.contentLengthRepeated
        if case .contentLength(let n) = head.framing, n > Int.max &- head.headLength {
            // Content-Length arithmetic saturates: head + body must fit in an Int.
            return .reject(.badContentLength)
        }
        if underscores != .allow, head.firstUnderscoreField(in: bytes) != nil {
            if underscores == .rejectRequest { return .reject(.underscoreInHeaderName) }
            head.headers.removeAll { field in field.name.contains { bytes[$0] == 0x5F } }
            rewrite = true
        }

        let host = head.host.map { UnsafeRawBufferPointer(rebasing: bytes[$0]) }
        if let host {
            do throws(ParseError) { try Authority.validate(host) } catch { return .reject(error) }
        }
        var target = UnsafeRawBufferPointer(rebasing: bytes[head.target])
        var authority = host ?? UnsafeRawBufferPointer(start: nil, count: 0)
        var newHost: UnsafeRawBufferPointer?
        var targetPrefix = UnsafeRawBufferPointer(start: nil, count: 0)
        if let split = RequestView.splitAbsoluteForm(target) {
            do throws(ParseError) { try Authority.validate(split.authority) } catch { return .reject(error) }
            if host == nil || !Authority.equal(host!, split.authority) {
                newHost = split.authority
                rewrite = true
            }
            authority = split.authority
            // `scheme://authority` stays in the forwarded request line; only the path may change.
            let prefixLength = (split.authority.baseAddress! - target.baseAddress!) + split.authority.count
            targetPrefix = UnsafeRawBufferPointer(rebasing: target[..<prefixLength])
            target = split.path
        }

        let outcome: PathNormalizer.Outcome
        do throws(ParseError) {
            outcome = try PathNormalizer.normalize(target, into: storage)
        } catch {
            return .reject(error)
        }
        var path = target
        switch outcome {
        case .unchanged:
            break
        case .normalized(let length):
            path = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(storage)[..<length])
            rewrite = true
        case .redirect(let length):
            return .redirect(location: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(storage)[..<length]))
        }
        if rewrite {
            buildHead(bytes: bytes, head: head, targetPrefix: targetPrefix, path: path, newHost: newHost)
        }
        return .forward(path: path, authority: authority)
    }

    /// Rebuilds the head: request line with `targetPrefix` + `path`, the fields in order (one
    /// Content-Length; Host replaced by, or added as, `newHost` when given), the final CRLF.
    private mutating func buildHead(
        bytes: UnsafeRawBufferPointer, head: RequestHead, targetPrefix: UnsafeRawBufferPointer,
        path: UnsafeRawBufferPointer, newHost: UnsafeRawBufferPointer?
    ) {
        var out = rewrittenHead
        out.removeAll(keepingCapacity: true)
        out.reserveCapacity(head.headLength + 32)
        out.append(contentsOf: bytes[head.method])
        out.append(0x20)
        out.append(contentsOf: targetPrefix)
        out.append(contentsOf: path)
        out.append(contentsOf: head.versionMinor == 0 ? Self.http10 : Self.http11)
        if let newHost, head.host == nil {
            out.append(contentsOf: Self.hostName)
            out.append(contentsOf: newHost)
            out.append(contentsOf: Self.crlf)
        }
        var sawContentLength = false
        for field in head.headers {
            let isContentLength =
                field.name.count == 14
                && Authority.equal(UnsafeRawBufferPointer(rebasing: bytes[field.name]), Self.contentLengthName)
            if isContentLength {
                if sawContentLength { continue }
                sawContentLength = true
                out.append(contentsOf: bytes[field.name])
                out.append(contentsOf: Self.colonSpace)
                if case .contentLength(let n) = head.framing { out.append(contentsOf: Array(String(n).utf8)) }
                out.append(contentsOf: Self.crlf)
                continue
            }
            out.append(contentsOf: bytes[field.name])
            out.append(contentsOf: Self.colonSpace)
            if let newHost, field.value == head.host {
                out.append(contentsOf: newHost)
            } else {
                out.append(contentsOf: bytes[field.value])
            }
            out.append(contentsOf: Self.crlf)
        }
        out.append(contentsOf: Self.crlf)
        rewrittenHead = out
    }

    private static let http10: [UInt8] = Array(" HTTP/1.0\r\n".utf8)
    private static let http11: [UInt8] = Array(" HTTP/1.1\r\n".utf8)
    private static let hostName: [UInt8] = Array("host: ".utf8)
    private static let colonSpace: [UInt8] = [0x3A, 0x20]
    private static let crlf: [UInt8] = [0x0D, 0x0A]
    private static let contentLengthName: UnsafeRawBufferPointer = {
        let text = Array("content-length".utf8)
        let p = UnsafeMutableRawBufferPointer.allocate(byteCount: text.count, alignment: 1)
        p.copyBytes(from: text)
        return UnsafeRawBufferPointer(p)
    }()
}
