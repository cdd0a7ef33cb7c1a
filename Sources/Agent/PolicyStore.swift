import Glibc
import Policy
import SluiceIO
import SluiceJSON

/// A policy file as the agent stores it for restarts: the documents `sluice apply` sent, or
/// (`removed` present) the objects a `sluice delete` removed, which a restart removes again.
struct StoredPolicy: Codable {
    var file: String
    var documents: [PolicyNode]
    var removed: [StoredKey]?

    init(file: String, documents: [PolicyNode], removed: [StoredKey]? = nil) {
        self.file = file
        self.documents = documents
        self.removed = removed
    }

    /// The file's JSON: the bytes `JSON.encode(self)` gives, written straight from the node trees
    /// (`PolicyNode.appendJSON`) instead of through a `JSONValue` tree of the whole file, which
    /// was the agent's largest allocation while it stored a 10,000-rule apply (docs/performance.md).
    func json() throws -> [UInt8] {
        var whole: [UInt8] = []
        try encode(pieceBytes: .max) { whole = $0 }
        return whole
    }

    /// The JSON, handed to `emit` in order in pieces of at least `pieceBytes` (one document may
    /// make a piece larger; the last piece is whatever is left). `PolicyStore.prepare` writes
    /// pieces of 64 KiB: no buffer of the whole file (2 MB for 10,000 rules, and about as much
    /// again while it grows) at the peak of an apply.
    func encode(pieceBytes: Int, _ emit: ([UInt8]) throws -> Void) throws {
        var output: [UInt8] = []
        if pieceBytes < 1 << 20 { output.reserveCapacity(pieceBytes + pieceBytes / 4) }
        output.append(contentsOf: #"{"file":"#.utf8)
        JSON.appendEscapedString(file, to: &output)
        output.append(contentsOf: #","documents":["#.utf8)
        for (index, document) in documents.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            document.appendJSON(to: &output)
            if output.count >= pieceBytes {
                try emit(output)
                output.removeAll(keepingCapacity: true)
            }
        }
        output.append(UInt8(ascii: "]"))
        if let removed {
            output.append(contentsOf: #","removed":"#.utf8)
            output.append(contentsOf: try JSON.encode(removed))
        }
        output.append(UInt8(ascii: "}"))
        try emit(output)
    }
}

/// A `PolicyKey` in a stored delete.
struct StoredKey: Codable, Equatable {
    var kind: String
    var namespace: String
    var name: String

    init(_ key: PolicyKey) {
        kind = key.kind.rawValue
        namespace = key.namespace
        name = key.name
    }

    /// The key; nil for a kind this build does not know.
    var key: PolicyKey? {
        PolicyKind(rawValue: kind).map { PolicyKey(kind: $0, namespace: namespace, name: name) }
    }
}

/// The agent's stored policies (`STATE/policies/NNNNNN.json`), re-applied in order at start.
///
/// A stored file that cannot be read is an error, never skipped: the agent refuses to start
/// rather than run without a policy it was given (a lost deny would become an allow). A new
/// file is written before the policy is committed (`stage`) and then counted (`commitStaged`)
/// or removed (`discard`), so a failed apply leaves the store as it was.
///
/// Applying is per object (kind, namespace, name) and the newest object wins, so a stored file
/// whose objects are all set again by newer files no longer contributes anything: it is removed
/// when the newer one is stored. Re-applying the same file therefore keeps one copy on disk, and
/// a restart parses each object once, not once per `apply`.
struct PolicyStore {
    /// One stored file: its name and the objects it set (nil: it did not apply at start, so
    /// what it holds is unknown and it is kept).
    struct Entry: Equatable {
        var name: String
        var keys: Set<PolicyKey>?
    }

    let directory: String
    /// The stored files in apply order.
    private(set) var entries: [Entry] = []

    init(directory: String) {
        self.directory = directory
    }

    /// The stored policies in apply order, as `(name, policy)`. Records every file as an entry
    /// with unknown keys until `restored`. Throws for the first `.json` file that cannot be read
    /// or decoded and for a `.yaml` file an earlier version stored (this one cannot parse YAML);
    /// other names (a temporary file of an interrupted write) are not policies and are left alone
    /// (`removeInterruptedWrites` removes those at start).
    mutating func load() throws(PolicyStoreError) -> [(name: String, policy: StoredPolicy)] {
        var out: [(name: String, policy: StoredPolicy)] = []
        entries = []
        for name in Files.list(directory).sorted() {
            let path = directory + "/" + name
            if name.hasSuffix(".yaml") {
                throw PolicyStoreError(
                    path: path,
                    reason: "is YAML stored by an earlier agent version, which this one "
                        + "cannot read; remove the file and apply the policy again (sluice apply -f FILE)")
            }
            guard name.hasSuffix(".json") else { continue }
            let bytes: [UInt8]
            do {
                bytes = try Files.read(path)
            } catch {
                throw PolicyStoreError(path: path, reason: "cannot be read: \(error)")
            }
            let stored: StoredPolicy
            do {
                stored = try JSON.decode(StoredPolicy.self, from: bytes)
            } catch {
                throw PolicyStoreError(path: path, reason: "is not a stored policy (\(error))")
            }
            entries.append(Entry(name: name, keys: nil))
            out.append((name, stored))
        }
        return out
    }

    /// Removes the temporary files of writes that never finished (`NNNNNN.json.tmp.PID`: an
    /// agent stopped in the middle of an apply leaves one, which nothing would ever read or
    /// remove) and returns their names. For the agent's start, before it writes any file: it
    /// takes every PID's, its own too (in a container the agent may be PID 1 every time).
    @discardableResult
    func removeInterruptedWrites() -> [String] {
        var removed: [String] = []
        for name in Files.list(directory).sorted() where Self.isInterruptedWrite(name) {
            if Files.remove(directory + "/" + name) { removed.append(name) }
        }
        return removed
    }

    /// Whether `name` is a stored file's temporary name: digits, `.json.tmp.`, digits.
    static func isInterruptedWrite(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        let marker = Array(".json.tmp.".utf8)
        func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
        guard let first = bytes.firstIndex(where: { !isDigit($0) }), first > 0,
            bytes[first...].starts(with: marker)
        else { return false }
        let pid = bytes[(first + marker.count)...]
        return !pid.isEmpty && pid.allSatisfy(isDigit)
    }

    /// Records the objects a loaded file set when it was applied at start.
    mutating func restored(_ name: String, keys: [PolicyKey]) {
        if let index = entries.firstIndex(where: { $0.name == name }) { entries[index].keys = Set(keys) }
    }

    /// Stores a newly applied file after the others, then removes the files it makes redundant.
    mutating func store(_ policy: StoredPolicy, keys: [PolicyKey]) throws {
        commitStaged(try stage(policy), keys: keys)
    }

    /// Writes `policy` as the next file (atomically) and returns its name; it counts only once
    /// `commitStaged`, and `discard` removes it. A restart before either re-applies it.
    func stage(_ policy: StoredPolicy) throws -> String {
        try stage(prepare(policy))
    }

    /// Writes `policy` as the next file, under a temporary name (`NNNNNN.json.tmp.PID`, which
    /// `load` does not read) until `stage` puts it in place; dropped without that, it is removed.
    /// The name is chosen now, so nothing else may be staged before it (the agent applies one
    /// change at a time). The agent writes the file as soon as the documents are parsed, so
    /// that their node trees can go before the compile (docs/performance.md, s18-mem).
    func prepare(_ policy: StoredPolicy) throws -> PendingFile {
        try Files.createDirectories(directory)
        let name = Self.nextName(after: Files.list(directory))
        let file = try PendingFile(directory: directory, name: name)
        try policy.encode(pieceBytes: 1 << 16) { try file.write($0) }
        return file
    }

    /// `prepare` for an apply whose documents' JSON array is at hand as the client sent it: the
    /// file is that array in a `StoredPolicy` object, read back to the same node trees, with no
    /// encoding of the trees (38 ms of CPU for 10,000 rules, docs/performance.md).
    func prepare(file: String, documentsJSON: ArraySlice<UInt8>) throws -> PendingFile {
        try Files.createDirectories(directory)
        let name = Self.nextName(after: Files.list(directory))
        let pending = try PendingFile(directory: directory, name: name)
        var head: [UInt8] = []
        head.append(contentsOf: #"{"file":"#.utf8)
        JSON.appendEscapedString(file, to: &head)
        head.append(contentsOf: #","documents":"#.utf8)
        try pending.write(head)
        try pending.write(documentsJSON)
        try pending.write([UInt8(ascii: "}")])
        return pending
    }

    /// Puts a prepared file in place (fsync, rename) and returns its name, as `stage(_:)` does.
    func stage(_ file: PendingFile) throws -> String {
        try file.commit()
        return file.name
    }

    /// A stored file being written (`Files.AtomicWriter`: a temporary file beside its name,
    /// renamed over it by `stage` after an fsync, removed if dropped first).
    struct PendingFile {
        let name: String
        fileprivate let file: Files.AtomicWriter

        fileprivate init(directory: String, name: String) throws(SyscallError) {
            self.name = name
            file = try Files.AtomicWriter(path: directory + "/" + name)
        }

        fileprivate func write(_ bytes: [UInt8]) throws(SyscallError) { try file.write(bytes[...]) }
        fileprivate func write(_ bytes: ArraySlice<UInt8>) throws(SyscallError) { try file.write(bytes) }
        fileprivate func commit() throws(SyscallError) { try file.commit() }
    }

    /// Counts a staged file as the newest stored policy, setting `keys`, then removes the files
    /// it makes redundant.
    mutating func commitStaged(_ name: String, keys: [PolicyKey]) {
        entries.append(Entry(name: name, keys: Set(keys)))
        compact()
    }

    /// Removes a staged file (its apply failed); returns whether it is gone.
    @discardableResult
    func discard(_ name: String) -> Bool {
        Files.remove(directory + "/" + name)
    }

    /// Removes the stored files every object of which a newer file sets again.
    mutating func compact() {
        let redundant = Set(Self.superseded(entries))
        guard !redundant.isEmpty else { return }
        for name in redundant { Files.remove(directory + "/" + name) }
        entries.removeAll { redundant.contains($0.name) }
    }

    /// The names of the entries whose objects are all set by later entries (newest last). An
    /// entry with unknown keys is never superseded, and sets nothing known for older ones.
    static func superseded(_ entries: [Entry]) -> [String] {
        var later = Set<PolicyKey>()
        var out: [String] = []
        for entry in entries.reversed() {
            guard let keys = entry.keys else { continue }
            if keys.isSubset(of: later) { out.append(entry.name) }
            later.formUnion(keys)
        }
        return out.reversed()
    }

    /// `NNNNNN.json` numbered one past the highest stored number, so names sort in apply order
    /// however many files compaction removed.
    static func nextName(after names: [String]) -> String {
        var highest = 0
        for name in names where name.hasSuffix(".json") || name.hasSuffix(".yaml") {
            if let number = Int(name.dropLast(5)), number > highest { highest = number }
        }
        let digits = String(highest + 1)
        return String(repeating: "0", count: max(0, 6 - digits.count)) + digits + ".json"
    }
}

/// A stored policy file the agent cannot use: which file and why.
struct PolicyStoreError: Error, CustomStringConvertible {
    var path: String
    var reason: String

    var description: String { "stored policy \(path) \(reason)" }
}
