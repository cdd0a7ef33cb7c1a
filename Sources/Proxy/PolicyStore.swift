import Policy
import SluiceIO
import SluiceJSON

/// A policy file as the agent stores it for restarts: the documents `sluice apply` sent.
struct StoredPolicy: Codable {
    var file: String
    var documents: [PolicyNode]
}

/// The agent's stored policies (`STATE/policies/NNNNNN.json`), re-applied in order at start.
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

    /// The stored policies in apply order, as `(name, policy)`; `skipped` gets a line for each
    /// file that is not one. Records every file as an entry with unknown keys until `restored`.
    mutating func load(skipped: (String) -> Void) -> [(name: String, policy: StoredPolicy)] {
        var out: [(name: String, policy: StoredPolicy)] = []
        entries = []
        for name in Files.list(directory).sorted() {
            let path = directory + "/" + name
            if name.hasSuffix(".yaml") {
                skipped("skipping \(path): YAML stored by an earlier agent version (this one keeps parsed documents); apply the file again")
                continue
            }
            guard name.hasSuffix(".json") else { continue }
            guard let bytes = Files.readIfPresent(path), let stored = try? JSON.decode(StoredPolicy.self, from: bytes) else {
                skipped("skipping \(path): not a stored policy")
                continue
            }
            entries.append(Entry(name: name, keys: nil))
            out.append((name, stored))
        }
        return out
    }

    /// Records the objects a loaded file set when it was applied at start.
    mutating func restored(_ name: String, keys: [PolicyKey]) {
        if let index = entries.firstIndex(where: { $0.name == name }) { entries[index].keys = Set(keys) }
    }

    /// Stores a newly applied file after the others, then removes the files it makes redundant.
    mutating func store(_ policy: StoredPolicy, keys: [PolicyKey]) throws {
        let name = Self.nextName(after: Files.list(directory))
        try Files.writeAtomically(directory + "/" + name, JSON.encode(policy))
        entries.append(Entry(name: name, keys: Set(keys)))
        compact()
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
