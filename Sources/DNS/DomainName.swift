import SluiceModel

/// A domain name held in uncompressed wire form (length-prefixed labels ending in a zero byte).
///
/// Label bytes are kept exactly as received, case included, so a transparent proxy can echo them
/// (0x20 case randomisation relies on that). Comparison and hashing are ASCII case-insensitive
/// (RFC 4343). Always valid: every label is 1...63 bytes and the wire form is at most 255 bytes.
public struct DomainName: Hashable, Sendable, CustomStringConvertible {
    /// Uncompressed wire form, the final zero byte included.
    public let wireBytes: [UInt8]

    /// The root name `.`.
    public static let root = DomainName(uncheckedWire: [0])

    /// Wraps wire bytes the caller has already validated.
    init(uncheckedWire: [UInt8]) {
        self.wireBytes = uncheckedWire
    }

    /// Builds a name from raw labels (no escaping involved).
    public init(labels: [[UInt8]]) throws(DNSParseError) {
        var wire: [UInt8] = []
        wire.reserveCapacity(labels.reduce(1) { $0 + $1.count + 1 })
        for label in labels {
            guard !label.isEmpty else { throw .emptyLabel }
            guard label.count <= DNSLimits.maxLabelLength else { throw .labelTooLong }
            wire.append(UInt8(label.count))
            wire.append(contentsOf: label)
        }
        wire.append(0)
        guard wire.count <= DNSLimits.maxNameWireLength else { throw .nameTooLong }
        self.wireBytes = wire
    }

    /// Parses presentation form: labels separated by `.`, an optional trailing dot, `\X` for a
    /// literal character and `\DDD` for a decimal byte (RFC 1035 5.1). `""` and `"."` are the root.
    public init(_ text: String) throws(DNSParseError) {
        var labels: [[UInt8]] = []
        var current: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        if text == "." { utf8 = [] }
        while let byte = utf8.popFirst() {
            switch byte {
            case UInt8(ascii: "."):
                guard !current.isEmpty else { throw .emptyLabel }
                labels.append(current)
                current = []
            case UInt8(ascii: "\\"):
                current.append(try Self.unescape(&utf8))
            default:
                current.append(byte)
            }
        }
        if !current.isEmpty { labels.append(current) }
        try self.init(labels: labels)
    }

    private static func unescape(_ rest: inout ArraySlice<UInt8>) throws(DNSParseError) -> UInt8 {
        guard let first = rest.popFirst() else { throw .badEscape }
        guard Self.isDigit(first) else { return first }
        var value = Int(first - UInt8(ascii: "0"))
        for _ in 0..<2 {
            guard let digit = rest.popFirst(), Self.isDigit(digit) else { throw .badEscape }
            value = value * 10 + Int(digit - UInt8(ascii: "0"))
        }
        guard value <= 255 else { throw .badEscape }
        return UInt8(value)
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// True for the root name.
    public var isRoot: Bool { wireBytes.count == 1 }

    /// Length of the uncompressed wire form.
    public var wireLength: Int { wireBytes.count }

    /// The labels, root excluded, bytes as received.
    public var labels: [[UInt8]] {
        var result: [[UInt8]] = []
        var index = 0
        while index < wireBytes.count, wireBytes[index] != 0 {
            let length = Int(wireBytes[index])
            result.append(Array(wireBytes[index + 1..<index + 1 + length]))
            index += 1 + length
        }
        return result
    }

    /// Number of labels, root excluded.
    public var labelCount: Int {
        var count = 0
        var index = 0
        while index < wireBytes.count, wireBytes[index] != 0 {
            count += 1
            index += 1 + Int(wireBytes[index])
        }
        return count
    }

    /// Presentation form with the case as received and a trailing dot (`"."` for the root),
    /// escaped like miekg/dns so Cilium and Hubble print the same string.
    public var text: String { render(lowercase: false) }

    /// Presentation form lower-cased (ASCII only) with a trailing dot: the `qname` Cilium checks
    /// DNS rules against and Hubble prints.
    public var lowercasedText: String { render(lowercase: true) }

    /// `lowercasedText` as UTF-8 bytes, without making the `String` (the proxy's query path).
    public var lowercasedTextBytes: [UInt8] { renderBytes(lowercase: true) }

    public var description: String { text }

    private func render(lowercase: Bool) -> String {
        String(decoding: renderBytes(lowercase: lowercase), as: UTF8.self)
    }

    private func renderBytes(lowercase: Bool) -> [UInt8] {
        wireBytes.withUnsafeBytes { Self.renderBytes(wire: $0, lowercase: lowercase) }
    }

    /// The presentation form of the valid wire-form name at the start of `wire` (labels up to
    /// the zero byte or the end of `wire`). Two passes: the rendered length, then the bytes into
    /// one array of exactly that size (one allocation, no growth; the query path renders every
    /// query's name, `QueryHead.lowercasedQuestionName(in:)`). A name with nothing to escape (as
    /// long as its labels and dots) is copied label by label.
    static func renderBytes(wire: UnsafeRawBufferPointer, lowercase: Bool) -> [UInt8] {
        if wire.count <= 1 { return [UInt8(ascii: ".")] }
        var length = 0
        var index = 0
        while index < wire.count, wire[index] != 0 {
            let end = index + 1 + Int(wire[index])
            guard end < wire.count else { break }  // not reached: the wire form is valid
            for i in (index + 1)..<end {
                length += Self.escapedCount(wire[i])  // case does not change it
            }
            length += 1
            index = end
        }
        if length == index {  // one byte per label byte: nothing escaped
            return [UInt8](unsafeUninitializedCapacity: length) { out, count in
                var n = 0
                var index = 0
                while n < length {
                    let end = index + 1 + Int(wire[index])
                    for i in (index + 1)..<end {
                        out[n] = lowercase ? ASCII.lower(wire[i]) : wire[i]
                        n += 1
                    }
                    out[n] = UInt8(ascii: ".")
                    n += 1
                    index = end
                }
                count = n
            }
        }
        return [UInt8](unsafeUninitializedCapacity: length) { out, count in
            var n = 0
            var index = 0
            while index < wire.count, wire[index] != 0 {
                let end = index + 1 + Int(wire[index])
                guard end < wire.count else { break }
                for i in (index + 1)..<end {
                    let e = Self.escaped(lowercase ? ASCII.lower(wire[i]) : wire[i])
                    out[n] = e.1
                    if e.count > 1 { out[n + 1] = e.2 }
                    if e.count > 2 {
                        out[n + 2] = e.3
                        out[n + 3] = e.4
                    }
                    n += e.count
                }
                out[n] = UInt8(ascii: ".")
                n += 1
                index = end
            }
            count = n
        }
    }

    /// How many presentation bytes `escaped` gives for `byte` (1, 2 or 4), the same for its
    /// lower-cased form.
    @inline(__always)
    static func escapedCount(_ byte: UInt8) -> Int {
        switch byte {
        case UInt8(ascii: "."), UInt8(ascii: " "), UInt8(ascii: "'"), UInt8(ascii: "@"),
            UInt8(ascii: ";"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "\""),
            UInt8(ascii: "\\"):
            return 2
        case 0x21...0x7E:
            return 1
        default:
            return 4
        }
    }

    /// The presentation bytes of one label byte (1, 2 or 4 of them, in order), as miekg/dns
    /// `escapeLabel` writes it: shared by the rendering above and `DNSWire`'s comparison of a
    /// name on the wire against rendered text.
    @inline(__always)
    static func escaped(_ byte: UInt8) -> (count: Int, UInt8, UInt8, UInt8, UInt8) {
        switch byte {
        case UInt8(ascii: "."), UInt8(ascii: " "), UInt8(ascii: "'"), UInt8(ascii: "@"),
            UInt8(ascii: ";"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "\""),
            UInt8(ascii: "\\"):
            return (2, UInt8(ascii: "\\"), byte, 0, 0)
        case 0x21...0x7E:
            return (1, byte, 0, 0, 0)
        default:
            return (
                4, UInt8(ascii: "\\"), UInt8(ascii: "0") + byte / 100, UInt8(ascii: "0") + byte / 10 % 10,
                UInt8(ascii: "0") + byte % 10
            )
        }
    }

    /// Case-insensitive equality (RFC 4343): length bytes compare exactly, label bytes ASCII-folded.
    public static func == (lhs: DomainName, rhs: DomainName) -> Bool {
        guard lhs.wireBytes.count == rhs.wireBytes.count else { return false }
        for index in lhs.wireBytes.indices where ASCII.lower(lhs.wireBytes[index]) != ASCII.lower(rhs.wireBytes[index])
        {
            return false
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        for byte in wireBytes {
            hasher.combine(ASCII.lower(byte))
        }
    }
}
