/// A Hubble FQDN filter (`--fqdn`, `--from-fqdn`, `--to-fqdn`; cilium `pkg/hubble/filters`):
/// lower-cased, trimmed, the trailing dot dropped; only `[-a-zA-Z0-9_.*]`; `*` matches zero or
/// more of `[-a-zA-Z0-9_.]`, so it crosses dots; the whole name must match.
///
/// Not a policy `matchPattern` (Policy's `FQDNPattern`): there `*` never crosses a dot and `**.`
/// stands for whole labels. The two are different languages and keep different names.
public struct FQDNGlob: Sendable {
    private let pattern: [UInt8]

    /// Nil when the text is empty or has a character outside `[-a-zA-Z0-9_.*]`.
    public init?(_ text: String) {
        var t = ASCII.lowercased(text.trimmingSpaces)
        if t.hasSuffix(".") { t.removeLast() }
        let bytes = Array(t.utf8)
        guard !bytes.isEmpty, bytes.allSatisfy({ Self.isNameByte($0) || $0 == UInt8(ascii: "*") }) else { return nil }
        pattern = bytes
    }

    /// Whether `name` (as in `source_names`) matches the whole pattern.
    public func matches(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { text in
            pattern.withUnsafeBytes {
                Glob.matches($0, UnsafeRawBufferPointer(text), foldingCase: false, starCovers: Self.isNameByte)
            }
        }
    }

    private static func isNameByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
            return true
        default:
            return false
        }
    }
}
