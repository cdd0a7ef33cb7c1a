/// An `--http-status` value: an exact code (`404`) or a prefix (`5+`, `40+`). Matches HTTP responses only.
struct HTTPStatusMatch: Equatable {
    /// Codes in `low ..< high` match.
    let low: UInt32
    let high: UInt32

    /// Parses `NNN` or `N+` / `NN+` (cilium `filters/http.go`); nil for anything else.
    init?(_ text: String) {
        let isPrefix = text.hasSuffix("+")
        let digits = isPrefix ? String(text.dropLast()) : text
        guard !digits.isEmpty, digits.count <= 3, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
            let value = UInt32(digits)
        else { return nil }
        if isPrefix {
            guard digits.count < 3 || value >= 100 else { return nil }
            var scale: UInt32 = 1
            for _ in digits.count..<3 { scale *= 10 }
            low = value * scale
            high = (value + 1) * scale
        } else {
            guard digits.count == 3, value >= 100 else { return nil }
            low = value
            high = value + 1
        }
    }

    func matches(_ f: Flow) -> Bool {
        guard let l7 = f.l7, l7.type == .response, let http = l7.http else { return false }
        return http.code >= low && http.code < high
    }
}
