/// A `--fqdn` / `--from-fqdn` / `--to-fqdn` value (cilium `pkg/hubble/filters` FQDN filter):
/// lower-cased, trimmed, the trailing dot dropped; only `[-a-zA-Z0-9_.*]`; `*` matches zero or
/// more of `[-a-zA-Z0-9_.]` (so it crosses dots); the whole name must match.
struct FQDNPattern {
    private let pattern: [UInt8]

    init?(_ text: String) {
        var t = String(Substring(text.lowercased()).trimmingSpaces)
        if t.hasSuffix(".") { t.removeLast() }
        let bytes = Array(t.utf8)
        guard !bytes.isEmpty, bytes.allSatisfy({ Self.isNameByte($0) || $0 == UInt8(ascii: "*") }) else { return nil }
        pattern = bytes
    }

    /// Whether `name` (as in `source_names`) matches the whole pattern. Iterative glob matching:
    /// linear in practice, no regex.
    func matches(_ name: String) -> Bool {
        let s = Array(name.utf8)
        var p = 0, i = 0
        var star = -1, mark = 0
        while i < s.count {
            if p < pattern.count && pattern[p] == UInt8(ascii: "*") {
                star = p
                mark = i
                p += 1
            } else if p < pattern.count && pattern[p] == s[i] {
                p += 1
                i += 1
            } else if star >= 0 && Self.isNameByte(s[mark]) {
                p = star + 1
                mark += 1
                i = mark
            } else {
                return false
            }
        }
        while p < pattern.count && pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
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

