internal import CRE2

/// Owner of one compiled RE2 program (`cre2_regex`), the engine Envoy uses for Cilium's HTTP rules.
///
/// Created by `compile(_:)`, freed in `deinit` (`cre2_free`). Immutable after creation; RE2 allows
/// concurrent matching, so one instance may be shared by every worker thread.
final class Regex: @unchecked Sendable {
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

    private let handle: OpaquePointer
    /// The source pattern, for listings and errors.
    let pattern: String
    /// `RE2::ProgramSize()` of the compiled program.
    let programSize: Int

    private init(handle: OpaquePointer, pattern: String) {
        self.handle = handle
        self.pattern = pattern
        self.programSize = Int(cre2_program_size(handle))
    }

    deinit {
        cre2_free(handle)
    }

    /// Compiles `pattern` (Latin-1, case-sensitive) and checks Envoy's program-size limit
    /// (`limit` nil disables the check, as for DNS patterns, which Cilium matches with Go regexp).
    static func compile(_ pattern: String, limit: Int? = maxProgramSize) throws(CompileError) -> Regex {
        var message: UnsafeMutablePointer<CChar>?
        let compiled: OpaquePointer? = pattern.utf8.withContiguousStorageIfAvailable { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                cre2_compile(chars.baseAddress, chars.count, &message)
            }
        } ?? Array(pattern.utf8).withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                cre2_compile(chars.baseAddress, chars.count, &message)
            }
        }
        guard let compiled else {
            let text = message.map { String(cString: $0) } ?? "invalid regular expression"
            cre2_free_error(message)
            throw .syntax(text)
        }
        let regex = Regex(handle: compiled, pattern: pattern)
        if let limit, regex.programSize > limit {
            throw .programTooLarge(size: regex.programSize)
        }
        return regex
    }

    /// RE2 FullMatch of all of `bytes`. Does not allocate.
    func fullMatch(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self)
        return cre2_full_match(handle, base, bytes.count) != 0
    }

    /// Convenience for tests and listings: full match of a string's UTF-8 bytes.
    func fullMatch(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { fullMatch(UnsafeRawBufferPointer($0)) }
    }
}
