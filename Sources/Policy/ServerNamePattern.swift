import SluiceModel

/// A compiled `toPorts[].serverNames` entry, matched against a connection's TLS SNI as Cilium 1.18+
/// does: letters compare case-insensitively; an entry without `*` matches exactly; `*` alone (or
/// any run of only `*`) matches every name; a leading `**.` stands for one or more whole labels;
/// any other `*` stands for any run of characters inside one label (so `*.x` is exactly one label
/// before `x`, `api-*.x` one label starting `api-`). A connection without SNI never matches.
///
/// Names are compared without a trailing dot; one trailing dot on the entry or the name is ignored.
public struct ServerNamePattern: Hashable, Sendable, CustomStringConvertible {
    /// Why an entry cannot be a pattern. `description` is the message the policy loader shows.
    public enum SyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
        /// The entry is empty (Cilium: `empty server name is not allowed`).
        case empty
        /// A byte outside `[-a-zA-Z0-9_.*]`.
        case invalidCharacter
        /// `..`, a leading dot, or a lone dot.
        case emptyLabel
        /// `**` somewhere other than as the whole first label.
        case misplacedDoubleStar
        /// Longer than a DNS name (253 characters).
        case tooLong

        public var description: String {
            switch self {
            case .empty: return "empty server name is not allowed"
            case .invalidCharacter: return "only letters, digits, '-', '_', '.' and '*' are allowed"
            case .emptyLabel: return "empty label"
            case .misplacedDoubleStar:
                return "\"**\" is only allowed as the whole first label, as in \"**.example.com\""
            case .tooLong: return "longer than 253 characters"
            }
        }
    }

    private enum Matcher: Hashable, Sendable {
        /// `*`: any name at all (but never "no SNI").
        case anyName
        /// Labels matched right to left; `extraLabels` is true for a leading `**.`.
        case labels([[UInt8]], extraLabels: Bool)
    }

    private let matcher: Matcher
    /// The entry as written, lower-cased, without a trailing dot.
    public let description: String

    /// Compiles one `serverNames` entry.
    public init(_ text: String) throws(SyntaxError) {
        var bytes = Array(text.utf8)
        if bytes.isEmpty { throw .empty }
        if bytes.count > 1 && bytes.last == UInt8(ascii: ".") { bytes.removeLast() }
        if bytes.count > 253 { throw .tooLong }
        for index in bytes.indices {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): bytes[index] = byte | 0x20
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "*"):
                break
            default: throw .invalidCharacter
            }
        }
        description = String(decoding: bytes, as: UTF8.self)
        if bytes.allSatisfy({ $0 == UInt8(ascii: "*") }) {
            matcher = .anyName
            return
        }
        var labels = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).map(Array.init)
        if labels.contains(where: \.isEmpty) { throw .emptyLabel }
        let doubleStar: [UInt8] = [UInt8(ascii: "*"), UInt8(ascii: "*")]
        let extraLabels = labels.count > 1 && labels[0] == doubleStar
        if extraLabels { labels.removeFirst() }
        if labels.contains(where: { Self.containsRun(of: doubleStar, in: $0) }) { throw .misplacedDoubleStar }
        matcher = .labels(labels, extraLabels: extraLabels)
    }

    /// Whether a connection whose ClientHello carried `serverName` (nil: no SNI) matches.
    public func matches(_ serverName: String?) -> Bool {
        guard var name = serverName else { return false }
        return name.withUTF8 { matches(UnsafeRawBufferPointer($0)) }
    }

    /// Whether `serverName` (the SNI's bytes) matches; an empty name never does. Does not allocate.
    public func matches(_ serverName: UnsafeRawBufferPointer) -> Bool {
        var end = serverName.count
        if end > 1 && serverName[end - 1] == UInt8(ascii: ".") { end -= 1 }
        guard end > 0 else { return false }
        switch matcher {
        case .anyName:
            return true
        case .labels(let labels, let extraLabels):
            // Walk the name's labels from the right, one per pattern label.
            for label in labels.reversed() {
                guard end >= 0 else { return false }
                var start = end
                while start > 0 && serverName[start - 1] != UInt8(ascii: ".") { start -= 1 }
                let slice = UnsafeRawBufferPointer(rebasing: serverName[start..<end])
                guard !slice.isEmpty, Self.glob(label, matches: slice) else { return false }
                end = start - 1  // the dot before this label, or -1 at the start of the name
            }
            // All pattern labels used: the name must end here, or (with `**.`) go on with one or
            // more non-empty labels.
            return extraLabels ? end > 0 : end == -1
        }
    }

    /// `*` in `pattern` stands for any run of bytes; others compare case-insensitively.
    private static func glob(_ pattern: [UInt8], matches text: UnsafeRawBufferPointer) -> Bool {
        pattern.withUnsafeBytes { Glob.matches($0, text, foldingCase: true, starCovers: { _ in true }) }
    }

    private static func containsRun(of run: [UInt8], in label: [UInt8]) -> Bool {
        label.indices.dropLast().contains { label[$0] == run[0] && label[$0 + 1] == run[1] }
    }
}
