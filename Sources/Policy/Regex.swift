internal import CRE2
import Glibc
import Synchronization

/// One compiled pattern of Cilium's HTTP rules (and of DNS `matchPattern`), matched like Envoy's
/// RE2 `FullMatch` in Latin-1: every byte of the subject is one character.
///
/// Most patterns users write are a literal (`GET`, `/public`), a literal followed by `.*`
/// (`/api/v1/.*`) or by one character class (`/items/[0-9]+`). Those are matched by comparing
/// bytes, keep no RE2 program and are not compiled by RE2 at all (`RegexShape`: their syntax is
/// checked by recognising it, and RE2's program size for Envoy's limit follows from their
/// bytes): for a literal, FullMatch is byte equality; for `L.*` it is "starts with L, and no
/// `\n` follows", because RE2's `.` matches every byte but newline; for `L[class]+` every byte
/// after L is in the class. Every other pattern is compiled by RE2 and keeps its program.
///
/// Compiled patterns are interned: compiling a pattern that is already in use returns the same
/// object, so 10,000 rules that say `method: GET` hold one, and re-applying a file shares the
/// objects of the policy it replaces. Immutable after creation; RE2 allows concurrent matching,
/// so one instance may be shared by every worker thread.
final class Regex: @unchecked Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// Equal when compiled from the same pattern (which interning makes the same object).
    static func == (lhs: Regex, rhs: Regex) -> Bool { lhs === rhs || lhs.bytes == rhs.bytes }

    /// Envoy's default `max_program_size` for RE2 (Cilium does not change it). A pattern above it
    /// makes Envoy reject the whole policy of the endpoint (cilium/cilium#41314); we reject the file.
    static let maxProgramSize = 100

    /// Why a pattern was refused.
    enum CompileError: Error, Equatable {
        /// RE2 did not accept the syntax; the associated text is RE2's message.
        case syntax(String)
        /// RE2 compiled it, but its program is larger than `maxProgramSize`.
        case programTooLarge(size: Int)
    }

    /// How a pattern is matched.
    enum Engine: Equatable {
        /// No metacharacter: FullMatch is byte equality with `literal`.
        case literal
        /// `literal` followed by `.*`: starts with `literal`, and the rest has no `\n`.
        case prefix
        /// `literal` followed by a class with `+` or `*`: the rest is bytes of the class.
        case classRun
        /// Anything else: the RE2 program.
        case re2
    }

    private let handle: OpaquePointer?
    /// The pattern's bytes (one allocation per pattern: the literal a byte-compared shape starts
    /// with is always their first `literalCount`, since such a literal has no metacharacter, so
    /// no escape).
    let bytes: [UInt8]
    private let literalCount: Int
    /// `classRun`: the class's bytes, and whether at least one must follow the literal.
    private let members: RegexShape.ClassBits
    private let atLeastOne: Bool
    /// How this pattern is matched (for tests and listings).
    let engine: Engine
    /// The source pattern, for listings and errors (built on demand from `bytes`).
    var pattern: String { String(decoding: bytes, as: UTF8.self) }

    /// The pattern, so that a rule's description (tests compare parsed rules by it) shows it.
    var description: String { pattern }
    var debugDescription: String { pattern }
    /// `RE2::ProgramSize()` of the compiled program.
    let programSize: Int

    private init(
        bytes: [UInt8], engine: Engine, literal: [UInt8], handle: OpaquePointer?, programSize: Int,
        members: RegexShape.ClassBits = RegexShape.ClassBits(), atLeastOne: Bool = false
    ) {
        precondition(bytes.starts(with: literal))
        self.bytes = bytes
        self.engine = engine
        self.literalCount = literal.count
        self.members = members
        self.atLeastOne = atLeastOne
        self.handle = handle
        self.programSize = programSize
    }

    deinit {
        if let handle { cre2_free(handle) }
    }

    /// Compiles `pattern` (Latin-1, case-sensitive) and checks Envoy's program-size limit
    /// (`limit` nil disables the check, as for DNS patterns, which Cilium matches with Go regexp).
    /// Returns the object already in use for the same pattern, if there is one.
    static func compile(_ pattern: String, limit: Int? = maxProgramSize) throws(CompileError) -> Regex {
        let bytes = Array(pattern.utf8)
        let regex: Regex
        if let interned = Intern.lookup(bytes) {
            regex = interned
        } else {
            regex = try build(bytes)
            Intern.insert(regex)
        }
        if let limit, regex.programSize > limit {
            throw .programTooLarge(size: regex.programSize)
        }
        return regex
    }

    /// Whether a live object for `pattern` is in the intern table (for tests).
    static func isInterned(_ pattern: String) -> Bool { Intern.lookup(Array(pattern.utf8)) != nil }

    /// RE2's own FullMatch of `subject` against `pattern`, bypassing the byte-comparison engines
    /// and the intern table: the reference the tests hold those engines to. nil: RE2 refused it.
    static func re2Reference(_ pattern: String, _ subject: [UInt8]) -> Bool? {
        guard case .success(let compiled) = compileRE2(Array(pattern.utf8)) else { return nil }
        defer { cre2_free(compiled) }
        return subject.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { cre2_full_match(compiled, $0.baseAddress, $0.count) != 0 }
        }
    }

    /// RE2's own program size for `pattern` (the reference for `RegexShape`); nil: RE2 refused it.
    static func re2ReferenceProgramSize(_ pattern: [UInt8]) -> Int? {
        guard case .success(let compiled) = compileRE2(pattern) else { return nil }
        defer { cre2_free(compiled) }
        return Int(cre2_program_size(compiled))
    }

    /// RE2's program for `bytes`, or its error message.
    private static func compileRE2(_ bytes: [UInt8]) -> Result<OpaquePointer, CompileError> {
        var message: UnsafeMutablePointer<CChar>?
        let compiled: OpaquePointer? = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { cre2_compile($0.baseAddress, $0.count, &message) }
        }
        guard let compiled else {
            let text = message.map { String(cString: $0) } ?? "invalid regular expression"
            cre2_free_error(message)
            return .failure(.syntax(text))
        }
        return .success(compiled)
    }

    private static func build(_ bytes: [UInt8]) throws(CompileError) -> Regex {
        if let shape = RegexShape.of(bytes), let size = shape.programSize {
            switch shape {
            case .literal(let literal):
                return Regex(bytes: bytes, engine: .literal, literal: literal, handle: nil, programSize: size)
            case .prefix(let literal):
                return Regex(bytes: bytes, engine: .prefix, literal: literal, handle: nil, programSize: size)
            case .classRun(let literal, let members, let atLeastOne, _):
                return Regex(
                    bytes: bytes, engine: .classRun, literal: literal, handle: nil, programSize: size,
                    members: members, atLeastOne: atLeastOne)
            }
        }
        let compiled = try compileRE2(bytes).get()
        return Regex(
            bytes: bytes, engine: .re2, literal: [], handle: compiled, programSize: Int(cre2_program_size(compiled))
        )
    }

    /// FullMatch of all of `bytes`. Does not allocate.
    func fullMatch(_ subject: UnsafeRawBufferPointer) -> Bool {
        switch engine {
        case .re2:
            let base = subject.baseAddress?.assumingMemoryBound(to: CChar.self)
            return cre2_full_match(handle, base, subject.count) != 0
        case .literal:
            guard subject.count == literalCount else { return false }
            return self.bytes.withUnsafeBytes { Self.equal($0, subject, count: literalCount) }
        case .prefix:
            guard subject.count >= literalCount else { return false }
            let headMatches = self.bytes.withUnsafeBytes { Self.equal($0, subject, count: literalCount) }
            guard headMatches else { return false }
            let rest = subject.count - literalCount
            return rest == 0 || memchr(subject.baseAddress! + literalCount, 0x0A, rest) == nil
        case .classRun:
            return self.bytes.withUnsafeBytes {
                RegexShape.classRunMatch(
                    subject, literal: UnsafeRawBufferPointer(rebasing: $0[0..<literalCount]), members: members,
                    atLeastOne: atLeastOne)
            }
        }
    }

    private static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, count: Int) -> Bool {
        guard count > 0 else { return true }
        return memcmp(a.baseAddress!, b.baseAddress!, count) == 0
    }

    /// Convenience for tests and listings: full match of a string's UTF-8 bytes.
    func fullMatch(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { fullMatch(UnsafeRawBufferPointer($0)) }
    }

    /// The intern table: pattern → the live object compiled from it. Entries hold the object
    /// weakly, so a pattern no policy uses any more is freed with its last rule; dead entries
    /// are swept when the table has doubled since the last sweep.
    private enum Intern {
        struct Entry {
            weak var regex: Regex?
        }

        struct Table {
            var entries: [[UInt8]: Entry] = [:]
            var sweepAt = 1024
        }

        static let table = Mutex(Table())

        static func lookup(_ pattern: [UInt8]) -> Regex? {
            table.withLock { $0.entries[pattern]?.regex }
        }

        static func insert(_ regex: Regex) {
            table.withLock { table in
                table.entries[regex.bytes] = Entry(regex: regex)
                if table.entries.count >= table.sweepAt {
                    table.entries = table.entries.filter { $0.value.regex != nil }
                    table.sweepAt = max(1024, 2 * table.entries.count)
                }
            }
        }

    }
}
