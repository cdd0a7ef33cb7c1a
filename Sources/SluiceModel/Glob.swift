/// Wildcard matching over bytes, shared by Hubble's FQDN filter (`FQDNGlob`) and TLS
/// `serverNames` labels (Policy's `ServerNamePattern`).
public enum Glob {
    /// Whether all of `text` matches all of `pattern`, where `*` stands for any run (empty
    /// included) of bytes for which `starCovers` holds and other bytes compare exactly, after
    /// ASCII case folding of `text` when `foldingCase` (the pattern is then lower case).
    /// Iterative with one backtrack point: linear in practice, no regex, no allocation.
    @inlinable
    public static func matches(
        _ pattern: UnsafeRawBufferPointer, _ text: UnsafeRawBufferPointer, foldingCase: Bool,
        starCovers: (UInt8) -> Bool
    ) -> Bool {
        let star = UInt8(ascii: "*")
        var p = 0, t = 0
        var starP = -1, mark = 0
        while t < text.count {
            let byte = foldingCase ? ASCII.lower(text[t]) : text[t]
            if p < pattern.count && pattern[p] == star {
                starP = p
                mark = t
                p += 1
            } else if p < pattern.count && pattern[p] == byte {
                p += 1
                t += 1
            } else if starP >= 0 && starCovers(text[mark]) {
                p = starP + 1
                mark += 1
                t = mark
            } else {
                return false
            }
        }
        while p < pattern.count && pattern[p] == star { p += 1 }
        return p == pattern.count
    }
}
