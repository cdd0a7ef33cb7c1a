internal import CRE2
import Synchronization

/// The shapes of pattern `Regex` matches without RE2, recognised from the pattern's bytes, with
/// the program size RE2 would give them, so that applying 10,000 rules does not compile 10,000
/// RE2 programs (RE2 took ~50 µs per pattern here: half a second for the policy-scale file).
///
/// - `literal`: no metacharacter. FullMatch is byte equality; RE2's program is the literal's
///   bytes plus 4 instructions.
/// - `prefix`: a literal then `.*`: starts with the literal, no `\n` after it; bytes plus 6.
/// - `classRun`: a literal, then one bracket class of printable ASCII bytes and ranges (no
///   negation, escapes or nested brackets), then `+` or `*`, e.g. `/items/[0-9]+`: starts with
///   the literal, then one or more (or zero or more) bytes of the class. RE2's program is the
///   literal's bytes plus the size of the class and its quantifier alone, which depends on how
///   RE2 lays out the class; that size is asked of RE2 once per distinct class text (a handful
///   in practice) and kept.
///
/// `RegexShapeTests` hold every shape to RE2's own syntax check, program size and FullMatch
/// answers over random patterns and subjects. Anything else is compiled by RE2 (`Regex`).
enum RegexShape: Equatable {
    case literal([UInt8])
    case prefix([UInt8])
    /// `literal`, then bytes of `members` (ASCII: a 128-bit set as two words), `atLeastOne` for `+`.
    case classRun(literal: [UInt8], members: ClassBits, atLeastOne: Bool, tail: [UInt8])

    /// The bytes a class admits: a class run's members are printable ASCII (`classMembers`), so
    /// two words, bytes 0-63 and 64-127, hold them (16 bytes in a `Regex` object).
    struct ClassBits: Equatable, Sendable {
        var low: UInt64 = 0
        var high: UInt64 = 0

        /// The bytes of the two words in a `Regex` object.
        static let byteCount = 16

        mutating func insert(_ byte: UInt8) {
            precondition(byte < 128, "a class run's members are ASCII")
            let bit = UInt64(1) << UInt64(byte & 63)
            if byte < 64 { low |= bit } else { high |= bit }
        }

        @inline(__always)
        func contains(_ byte: UInt8) -> Bool {
            guard byte < 128 else { return false }
            return (byte < 64 ? low : high) >> UInt64(byte & 63) & 1 == 1
        }
    }

    /// The shape of `bytes`, or nil when RE2 must compile it.
    static func of(_ bytes: [UInt8]) -> RegexShape? {
        let open = bytes.firstIndex(where: isMeta) ?? bytes.count
        let literal = Array(bytes[..<open])
        if open == bytes.count { return .literal(literal) }
        let rest = bytes[open...]
        if rest.elementsEqual([UInt8(ascii: "."), UInt8(ascii: "*")]) { return .prefix(literal) }
        guard rest.first == UInt8(ascii: "["), let close = rest.firstIndex(of: UInt8(ascii: "]")),
            close + 2 == bytes.count, bytes[close + 1] == UInt8(ascii: "+") || bytes[close + 1] == UInt8(ascii: "*"),
            let members = classMembers(bytes[(open + 1)..<close])
        else { return nil }
        return .classRun(
            literal: literal, members: members, atLeastOne: bytes[close + 1] == UInt8(ascii: "+"),
            tail: Array(bytes[open...]))
    }

    /// The members of a class body (between the brackets): printable ASCII bytes other than
    /// `\`, `[`, `]` and `^`, and ranges `a-z` with the low end at most the high end; a `-` at
    /// either end is itself. nil for anything else (RE2 decides those).
    private static func classMembers(_ body: ArraySlice<UInt8>) -> ClassBits? {
        let items = Array(body)
        guard !items.isEmpty else { return nil }
        for byte in items {
            guard byte >= 0x20, byte <= 0x7E, byte != UInt8(ascii: "\\"), byte != UInt8(ascii: "["),
                byte != UInt8(ascii: "]"), byte != UInt8(ascii: "^")
            else { return nil }
        }
        var bits = ClassBits()
        var i = 0
        let dash = UInt8(ascii: "-")
        while i < items.count {
            if i + 2 < items.count, items[i + 1] == dash {
                let (low, high) = (items[i], items[i + 2])
                guard low != dash, high != dash, low <= high else { return nil }
                for byte in low...high { bits.insert(byte) }
                i += 3
            } else {
                // a lone byte; a `-` only at either end (RE2 refuses `a-` ranges like `[a-b-c]`)
                if items[i] == dash, i != 0, i != items.count - 1 { return nil }
                bits.insert(items[i])
                i += 1
            }
        }
        return bits
    }

    /// RE2's metacharacters: a pattern without any of them matches itself only.
    static func isMeta(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "\\"), UInt8(ascii: "."), UInt8(ascii: "+"), UInt8(ascii: "*"), UInt8(ascii: "?"),
            UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "|"), UInt8(ascii: "["), UInt8(ascii: "]"),
            UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "^"), UInt8(ascii: "$"):
            return true
        default:
            return false
        }
    }

    /// The size RE2 gives the whole pattern's program (`RE2::ProgramSize`), or nil when RE2
    /// refused the class text (then the caller compiles the pattern to get RE2's message).
    var programSize: Int? {
        switch self {
        case .literal(let literal): return literal.count + 4
        case .prefix(let literal): return literal.count + 6
        case .classRun(let literal, _, _, let tail):
            return Self.tailSize(tail).map { literal.count + $0 }
        }
    }

    /// FullMatch of all of `bytes` against a `classRun` (no allocation).
    @inline(__always)
    static func classRunMatch(
        _ bytes: UnsafeRawBufferPointer, literal: UnsafeRawBufferPointer, members: ClassBits, atLeastOne: Bool
    ) -> Bool {
        guard bytes.count >= literal.count + (atLeastOne ? 1 : 0) else { return false }
        for i in 0..<literal.count where bytes[i] != literal[i] { return false }
        for i in literal.count..<bytes.count where !members.contains(bytes[i]) { return false }
        return true
    }

    /// Program size of a class and its quantifier alone, asked of RE2 once per text.
    private static let tailSizes = Mutex([[UInt8]: Int]())

    private static func tailSize(_ tail: [UInt8]) -> Int? {
        if let known = tailSizes.withLock({ $0[tail] }) { return known }
        var message: UnsafeMutablePointer<CChar>?
        let compiled: OpaquePointer? = tail.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { cre2_compile($0.baseAddress, $0.count, &message) }
        }
        guard let compiled else {
            cre2_free_error(message)
            return nil
        }
        let size = Int(cre2_program_size(compiled))
        cre2_free(compiled)
        tailSizes.withLock { table in
            if table.count > 4096 { table.removeAll() }
            table[tail] = size
        }
        return size
    }
}
