import Policy

/// One change of the policy in force, installed everywhere or nowhere by `NodePolicy.commit`:
/// the repository's change, the toFQDNs selectors it brings, and what to store so that a
/// restart applies it again. `sluice apply` makes one with `apply`; `sluice delete` makes one
/// with `delete` (a `PolicyRepository.Change(removing:)`) and goes through the same commit.
struct PolicyTransaction {
    /// The file the change came from, as the client named it (for messages).
    var fileName: String
    var change: PolicyRepository.Change
    /// The toFQDNs selectors of the objects the change sets, by object; removed objects' go.
    var fqdnSelectors: [PolicyKey: FQDNSelectorSet]
    /// The file to store once the change is in force (nil: nothing to store, or `pending`).
    var stored: StoredPolicy?
    /// `stored` already written beside the store under a temporary name, put in place by
    /// `NodePolicy.commit` where `stored` would be written (and removed if the change fails).
    var pending: PolicyStore.PendingFile?

    /// Parses and validates the documents of a file into a transaction that sets them; nothing
    /// changes. Throws the first `LoadError` (file, line, column, field).
    static func apply(
        documents: [PolicyNode], fileName: String,
        repository: PolicyRepository
    ) throws(LoadError) -> PolicyTransaction {
        let change = try repository.prepareApply(documents: documents, fileName: fileName)
        let selectors = FQDNSelectorSet.selectors(of: change.upserts)
        return PolicyTransaction(
            fileName: fileName, change: change, fqdnSelectors: selectors,
            stored: StoredPolicy(file: fileName, documents: documents))
    }

    /// Writes `stored` into `store` under a temporary name now (or takes `written`, the same
    /// documents already written) and forgets it, with its node trees: the transaction then
    /// keeps only the parsed change and the open file.
    mutating func prepareStoredFile(in store: PolicyStore, written: PolicyStore.PendingFile? = nil) throws {
        guard let stored else { return }
        pending = try written ?? store.prepare(stored)
        self.stored = nil
    }

    /// A transaction that removes `keys` (all in force), stored so that a restart removes them
    /// again after the files that set them.
    static func delete(keys: [PolicyKey], fileName: String) -> PolicyTransaction {
        PolicyTransaction(
            fileName: fileName, change: PolicyRepository.Change(removing: keys), fqdnSelectors: [:],
            stored: StoredPolicy(file: fileName, documents: [], removed: keys.map(StoredKey.init)))
    }

    /// The keys a delete request names, in order, without repeats: the objects of `documents`
    /// (`delete -f`; the file must be valid), or the objects called `names` in `namespace`
    /// (`policy delete`: every kind; a cluster-wide object matches by name alone). Throws the
    /// file's first `LoadError`.
    static func deletionKeys(
        documents: [PolicyNode]?, fileName: String, names: [String], namespace: String,
        repository: PolicyRepository
    ) throws(LoadError) -> (found: [PolicyKey], missing: [String]) {
        var found: [PolicyKey] = []
        var missing: [String] = []
        let inForce = Set(repository.keys)
        func add(_ key: PolicyKey) { if !found.contains(key) { found.append(key) } }
        if let documents {
            for document in try PolicyFileParser.parse(documents: documents, fileName: fileName).documents {
                if inForce.contains(document.key) {
                    add(document.key)
                } else {
                    missing.append(Self.notFound(document.key.kind, document.key.name))
                }
            }
        }
        for name in names {
            let matches = repository.keys.filter {
                $0.name == name && (!$0.kind.isNamespaced || $0.namespace == namespace)
            }
            if matches.isEmpty { missing.append(Self.notFound(.ciliumNetworkPolicy, name)) }
            matches.forEach(add)
        }
        return (found, missing)
    }

    /// kubectl's words for an object that is not there.
    private static func notFound(_ kind: PolicyKind, _ name: String) -> String {
        "\(kind.resourceName) \"\(name)\" not found"
    }

    /// kubectl's words for the objects a delete removed, one line each.
    static func deletedLines(_ keys: [PolicyKey]) -> [String] {
        keys.map { "\($0.kind.resourceName) \"\($0.name)\" deleted" }
    }

    /// `selectors` (by object) with this change made.
    func applied(to selectors: [PolicyKey: FQDNSelectorSet]) -> [PolicyKey: FQDNSelectorSet] {
        var result = selectors
        for key in change.removals { result[key] = nil }
        result.merge(fqdnSelectors) { _, new in new }
        // only the objects with toFQDNs selectors: an empty set adds nothing to the union, and
        // 1,000 objects without any were a 100 KB dictionary of empty sets
        return result.filter { !$0.value.isEmpty }
    }
}

/// Why a transaction changed nothing: the policy in force stays in the repository, the
/// proxy's snapshot, the maps and the store. `description` is what `sluice apply` prints.
struct PolicyTransactionError: Error, CustomStringConvertible {
    var fileName: String
    /// One line per problem: compile diagnostics (file, line, object), or the failed step.
    var reasons: [String]
    /// False when a map install failed and undoing it failed too: the maps then hold part of
    /// the change (a state that still drops what both policies drop; the next install starts
    /// from it), everything else keeps the policy in force.
    var mapsRestored = true

    var description: String {
        let head =
            mapsRestored
            ? "\(fileName): not applied, the policy in force is unchanged"
            : "\(fileName): not applied; the maps hold part of it, the rest keeps the policy in force"
        return reasons.count == 1
            ? head + ": " + reasons[0] : ([head + ":"] + reasons.map { "  " + $0 }).joined(separator: "\n")
    }
}
