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
/// One allocation per pattern: the object's header (`RegexHeader`) is followed by the pattern's
/// bytes and, for a class run only, the class's 16-byte bit set (a 10,000-rule policy's paths
/// were an object, an array of their bytes and a weak-reference side table each: ~220 bytes of
/// malloc a pattern, now 64 or 96).
///
/// Compiled patterns are interned: compiling a pattern that is already in use returns the same
/// object, so 10,000 rules that say `method: GET` hold one, and re-applying a file shares the
/// objects of the policy it replaces. Immutable after creation; RE2 allows concurrent matching,
/// so one instance may be shared by every worker thread.
///
/// A `Regex` is one reference to its object (`Storage`, a `ManagedBuffer`, which the standard
/// library does not let be `Sendable` itself; the object never changes once made).
struct Regex: @unchecked Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The one allocation: the header, then the pattern's bytes (and a class run's bits).
    final class Storage: ManagedBuffer<RegexHeader, UInt8> {
        deinit {
            let handle = withUnsafeMutablePointerToHeader { $0.pointee.handle }
            if let handle { cre2_free(handle) }
        }

        /// Calls `body` with the pattern's bytes, in place.
        @inline(__always)
        func withPattern<T>(_ body: (UnsafeRawBufferPointer) -> T) -> T {
            withUnsafeMutablePointers { header, elements in
                body(UnsafeRawBufferPointer(start: elements, count: Int(header.pointee.count)))
            }
        }

        /// FullMatch of all of `subject`. Does not allocate.
        func fullMatch(_ subject: UnsafeRawBufferPointer) -> Bool {
            withUnsafeMutablePointers { header, elements in
                let literalCount = Int(header.pointee.literalCount)
                switch header.pointee.engine {
                case .re2:
                    let base = subject.baseAddress?.assumingMemoryBound(to: CChar.self)
                    return cre2_full_match(header.pointee.handle, base, subject.count) != 0
                case .literal:
                    guard subject.count == literalCount else { return false }
                    return Regex.equal(elements, subject, count: literalCount)
                case .prefix:
                    guard subject.count >= literalCount, Regex.equal(elements, subject, count: literalCount) else {
                        return false
                    }
                    let rest = subject.count - literalCount
                    return rest == 0 || memchr(subject.baseAddress! + literalCount, 0x0A, rest) == nil
                case .classRun:
                    let bits = UnsafeRawPointer(elements + ((Int(header.pointee.count) + 7) & ~7))
                    let members = RegexShape.ClassBits(
                        low: bits.loadUnaligned(as: UInt64.self),
                        high: bits.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
                    return RegexShape.classRunMatch(
                        subject, literal: UnsafeRawBufferPointer(start: elements, count: literalCount),
                        members: members, atLeastOne: header.pointee.atLeastOne)
                }
            }
        }
    }

    let storage: Storage

    /// Equal when compiled from the same pattern (which interning makes the same object).
    static func == (lhs: Regex, rhs: Regex) -> Bool {
        lhs.storage === rhs.storage || lhs.withPattern { a in rhs.withPattern { b in Self.same(a, b) } }
    }

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
    enum Engine: UInt8, Equatable {
        /// No metacharacter: FullMatch is byte equality with `literal`.
        case literal
        /// `literal` followed by `.*`: starts with `literal`, and the rest has no `\n`.
        case prefix
        /// `literal` followed by a class with `+` or `*`: the rest is bytes of the class.
        case classRun
        /// Anything else: the RE2 program.
        case re2
    }

    /// How this pattern is matched (for tests and listings).
    var engine: Engine { storage.withUnsafeMutablePointerToHeader { $0.pointee.engine } }
    /// `RE2::ProgramSize()` of the compiled program.
    var programSize: Int { storage.withUnsafeMutablePointerToHeader { Int($0.pointee.programSize) } }
    /// The pattern's bytes (a copy; matching reads them in place).
    var bytes: [UInt8] { withPattern { Array($0) } }
    /// The source pattern, for listings and errors (built on demand from the bytes).
    var pattern: String { withPattern { String(decoding: $0, as: UTF8.self) } }

    /// The pattern, so that a rule's description (tests compare parsed rules by it) shows it.
    var description: String { pattern }
    var debugDescription: String { pattern }

    /// Calls `body` with the pattern's bytes, in place.
    @inline(__always)
    func withPattern<T>(_ body: (UnsafeRawBufferPointer) -> T) -> T { storage.withPattern(body) }

    /// A new object: `bytes`, then (a class run) the class's bits, after the header.
    private static func make(
        bytes: [UInt8], engine: Engine, literalCount: Int, handle: OpaquePointer?, programSize: Int,
        members: RegexShape.ClassBits? = nil, atLeastOne: Bool = false
    ) -> Regex {
        let bitsOffset = (bytes.count + 7) & ~7
        let capacity = members == nil ? bytes.count : bitsOffset + RegexShape.ClassBits.byteCount
        let header = RegexHeader(
            handle: handle, count: Int32(bytes.count), literalCount: Int32(literalCount),
            programSize: Int32(clamping: programSize), engine: engine, atLeastOne: atLeastOne)
        let made = unsafeDowncast(Storage.create(minimumCapacity: max(capacity, 1)) { _ in header }, to: Storage.self)
        made.withUnsafeMutablePointerToElements { elements in
            bytes.withUnsafeBufferPointer { source in
                if let base = source.baseAddress { elements.initialize(from: base, count: source.count) }
            }
            if let members {
                UnsafeMutableRawPointer(elements + bitsOffset).storeBytes(of: members.low, as: UInt64.self)
                UnsafeMutableRawPointer(elements + bitsOffset + 8).storeBytes(of: members.high, as: UInt64.self)
            }
        }
        return Regex(storage: made)
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
            regex = Intern.insert(try build(bytes))
        }
        if let limit, regex.programSize > limit {
            throw .programTooLarge(size: regex.programSize)
        }
        return regex
    }

    /// Whether an object for `pattern` is in the intern table (for tests).
    static func isInterned(_ pattern: String) -> Bool { Intern.lookup(Array(pattern.utf8)) != nil }

    /// Frees the interned patterns nothing else holds any more (no rule of any policy, snapshot
    /// or parse in progress): the table holds its objects strongly, so a pattern outlives its
    /// last rule until the next sweep. `PolicyRepository.commit` sweeps after every change, and
    /// the table sweeps itself when it has doubled since the last sweep. Returns how many were
    /// freed.
    @discardableResult
    static func sweepUnused() -> Int { Intern.sweep() }

    /// How many patterns the intern table holds (for tests).
    static var internedCount: Int { Intern.count }

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
                return make(bytes: bytes, engine: .literal, literalCount: literal.count, handle: nil, programSize: size)
            case .prefix(let literal):
                return make(bytes: bytes, engine: .prefix, literalCount: literal.count, handle: nil, programSize: size)
            case .classRun(let literal, let members, let atLeastOne, _):
                return make(
                    bytes: bytes, engine: .classRun, literalCount: literal.count, handle: nil, programSize: size,
                    members: members, atLeastOne: atLeastOne)
            }
        }
        let compiled = try compileRE2(bytes).get()
        return make(
            bytes: bytes, engine: .re2, literalCount: 0, handle: compiled,
            programSize: Int(cre2_program_size(compiled)))
    }

    /// FullMatch of all of `bytes`. Does not allocate.
    @inline(__always)
    func fullMatch(_ subject: UnsafeRawBufferPointer) -> Bool { storage.fullMatch(subject) }

    @inline(__always)
    fileprivate static func equal(_ a: UnsafeMutablePointer<UInt8>, _ b: UnsafeRawBufferPointer, count: Int) -> Bool {
        guard count > 0 else { return true }
        return memcmp(a, b.baseAddress!, count) == 0
    }

    fileprivate static func same(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        a.count == b.count && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
    }

    /// Convenience for tests and listings: full match of a string's UTF-8 bytes.
    func fullMatch(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { fullMatch(UnsafeRawBufferPointer($0)) }
    }

    /// The intern table: pattern -> the object compiled from it, held strongly in an
    /// open-addressed table of object references (8 bytes a slot, at most 3/4 full), keyed by
    /// the bytes the objects carry. It was a dictionary of weak references, which gave every
    /// pattern a side table (a 48-byte block of its own) and a second reference to its bytes,
    /// and sent every retain of a pattern down the runtime's slow path. An object only the table
    /// holds is freed by `sweep`: under the table's lock nothing can take a new reference to it,
    /// since every other way to one starts from a reference someone else holds.
    private enum Intern {
        struct Table {
            var slots: [Regex.Storage?] = Array(repeating: nil, count: 64)
            var count = 0
            /// The table sweeps itself when it reaches this many patterns.
            var sweepAt = 1024

            func index(of pattern: UnsafeRawBufferPointer) -> (slot: Int, found: Bool) {
                var hasher = Hasher()
                hasher.combine(bytes: pattern)
                let mask = slots.count - 1
                var slot = hasher.finalize() & mask
                while let regex = slots[slot] {
                    if regex.withPattern({ Regex.same($0, pattern) }) { return (slot, true) }
                    slot = (slot + 1) & mask
                }
                return (slot, false)
            }

            /// Puts every object of `objects` in a table of `capacity` slots.
            mutating func rebuild(capacity: Int, _ objects: [Regex.Storage]) {
                slots = Array(repeating: nil, count: capacity)
                count = 0
                for object in objects {
                    let slot = object.withPattern { index(of: $0).slot }
                    slots[slot] = object
                    count += 1
                }
            }

            /// Slots for `count` patterns: a power of two, at most 3/4 full.
            static func capacity(for count: Int) -> Int {
                var capacity = 64
                while 3 * capacity < 4 * count { capacity *= 2 }
                return capacity
            }

            /// Drops the objects only the table holds; rehashes the rest when any went.
            mutating func sweep() -> Int {
                var freed = 0
                for slot in slots.indices where isKnownUniquelyReferenced(&slots[slot]) {
                    slots[slot] = nil
                    freed += 1
                }
                if freed > 0 {
                    let kept = slots.compactMap { $0 }
                    slots = []
                    rebuild(capacity: Self.capacity(for: kept.count), kept)
                }
                sweepAt = max(1024, 2 * count)
                return freed
            }
        }

        static let table = Mutex(Table())

        static func lookup(_ pattern: [UInt8]) -> Regex? {
            pattern.withUnsafeBytes { bytes in
                table.withLock { table in
                    let (slot, found) = table.index(of: bytes)
                    return found ? table.slots[slot].map(Regex.init(storage:)) : nil
                }
            }
        }

        /// Interns `regex`, or returns the object already interned for its pattern.
        static func insert(_ regex: Regex) -> Regex {
            table.withLock { table in
                if table.count >= table.sweepAt { _ = table.sweep() }
                if 4 * (table.count + 1) > 3 * table.slots.count {
                    let objects = table.slots.compactMap { $0 }
                    table.rebuild(capacity: Table.capacity(for: table.count + 1), objects)
                }
                let (slot, found) = regex.withPattern { table.index(of: $0) }
                if found { return Regex(storage: table.slots[slot]!) }
                table.slots[slot] = regex.storage
                table.count += 1
                return regex
            }
        }

        static func sweep() -> Int { table.withLock { $0.sweep() } }

        static var count: Int { table.withLock { $0.count } }
    }
}

/// The same object (interning gives one per pattern in use).
func === (lhs: Regex?, rhs: Regex?) -> Bool { lhs?.storage === rhs?.storage }

/// The fixed part of a `Regex` object (`ManagedBuffer`'s header), 22 bytes: the pattern's bytes
/// (and a class run's bits) follow it in the same allocation.
struct RegexHeader {
    /// The RE2 program (`re2` engine only).
    let handle: OpaquePointer?
    /// How many bytes the pattern has.
    let count: Int32
    /// How many of them the byte-compared shapes' literal is (their first: such a literal has
    /// no metacharacter, so no escape).
    let literalCount: Int32
    let programSize: Int32
    let engine: Regex.Engine
    /// A class run: at least one byte of the class must follow the literal (`+`).
    let atLeastOne: Bool
}
