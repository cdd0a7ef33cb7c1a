import SluiceModel

/// A compiled `matchName` or `matchPattern` (cilium pkg/fqdn/matchpattern, api/fqdn.go).
///
/// Names are compared as lower-cased FQDNs with a trailing dot. `matchName` is literal.
/// In `matchPattern`, a pattern made only of `*` (with an optional trailing dot) matches every
/// name, the root `.` included; a leading `**.` stands for one or more whole labels; any other run
/// of `*` stands for `[-a-zA-Z0-9_]*` and never crosses a dot; `.` is a literal dot.
public final class FQDNPattern: @unchecked Sendable, CustomStringConvertible, Equatable {
    /// Equal when they match the same names: `description` is the kind and the normalised text.
    public static func == (lhs: FQDNPattern, rhs: FQDNPattern) -> Bool { lhs.description == rhs.description }

    /// Longest pattern Cilium accepts.
    static let maxLength = 255
    /// Characters of one label that `*` may stand for.
    private static let labelCharacters = "[-a-zA-Z0-9_]"

    private enum Kind {
        case everything
        case literal
        case regex
    }

    // Kept apart, not as an enum with payloads: a switch binding a payload retains it, and
    // every DNS query runs `matches`.
    private let kind: Kind
    /// The name's bytes (`.literal`).
    private let literal: [UInt8]
    /// The compiled pattern (`.regex`).
    private let regex: Regex?
    /// `matchName: x.` or `matchPattern: *.x.`, normalised (lower-cased, trailing dot).
    public let description: String

    /// A literal name; characters are validated by the parser (`[-a-zA-Z0-9_.]`).
    public init(matchName: String) {
        let name = Self.normalise(matchName)
        kind = .literal
        literal = Array(name.utf8)
        regex = nil
        description = "matchName: \(name)"
    }

    /// A pattern; nil when it cannot be compiled (the parser validates the characters first).
    public init?(matchPattern: String) {
        let pattern = Self.normalise(matchPattern)
        description = "matchPattern: \(pattern)"
        literal = []
        let stem = pattern.dropLast()
        if !stem.isEmpty && stem.allSatisfy({ $0 == "*" }) {
            kind = .everything
            regex = nil
            return
        }
        var body = Substring(pattern)
        var expression = "(?i)"
        if body.hasPrefix("**.") {
            expression += "(?:\(Self.labelCharacters)+[.])+"
            body = body.dropFirst(3)
        }
        var previousWasStar = false
        for character in body {
            if character == "*" {
                if !previousWasStar { expression += Self.labelCharacters + "*" }
                previousWasStar = true
                continue
            }
            previousWasStar = false
            expression += character == "." ? "[.]" : String(character)
        }
        guard let regex = try? Regex.compile(expression, limit: nil) else { return nil }
        kind = .regex
        self.regex = regex
    }

    /// Whether `qname` (bytes of a lower-cased FQDN with trailing dot) matches.
    /// Letters are compared case-insensitively anyway. Does not allocate.
    public func matches(_ qname: UnsafeRawBufferPointer) -> Bool {
        switch kind {
        case .everything:
            return true
        case .regex:
            return regex?.fullMatch(qname) ?? false
        case .literal:
            return literal.withUnsafeBufferPointer { name in
                guard name.count == qname.count else { return false }
                for index in 0..<name.count where ASCII.lower(qname[index]) != name[index] {
                    return false
                }
                return true
            }
        }
    }

    /// Convenience for tests and tools: matches a name written as text (normalised first).
    public func matches(_ name: String) -> Bool {
        var normalised = Self.normalise(name)
        return normalised.withUTF8 { matches(UnsafeRawBufferPointer($0)) }
    }

    /// Lower-cases and appends the trailing dot (Cilium: `strings.ToLower(dns.Fqdn(name))`).
    static func normalise(_ name: String) -> String {
        let lowered = name.lowercased()
        return lowered.hasSuffix(".") ? lowered : lowered + "."
    }

}

/// One `rules.dns[]` or `toFQDNs[]` entry: exactly one of `matchName` / `matchPattern`.
struct FQDNSelector: Sendable, Equatable {
    var pattern: FQDNPattern

    var canonical: String { "{\(pattern.description)}" }
}
