import Policy

/// One change of the policy in force, installed everywhere or nowhere by `NodePolicy.commit`:
/// the repository's change, the toFQDNs selectors it brings, and what to store so that a
/// restart applies it again. `sluice apply` makes one with `apply`; a policy delete (not built
/// yet) makes one from `PolicyRepository.Change(removing:)` and goes through the same commit.
struct PolicyTransaction {
    /// The file the change came from, as the client named it (for messages).
    var fileName: String
    var change: PolicyRepository.Change
    /// The toFQDNs selectors of the objects the change sets, by object; removed objects' go.
    var fqdnSelectors: [PolicyKey: FQDNSelectorSet]
    /// The file to store once the change is in force (nil: nothing to store).
    var stored: StoredPolicy?

    /// Parses and validates the documents of a file into a transaction that sets them; nothing
    /// changes. Throws the first `LoadError` (file, line, column, field).
    static func apply(
        documents: [PolicyNode], fileName: String,
        repository: PolicyRepository
    ) throws(LoadError) -> PolicyTransaction {
        let change = try repository.prepareApply(documents: documents, fileName: fileName)
        let selectors = try FQDNSelectorSet.parse(documents: documents, fileName: fileName)
        return PolicyTransaction(
            fileName: fileName, change: change, fqdnSelectors: selectors,
            stored: StoredPolicy(file: fileName, documents: documents))
    }

    /// `selectors` (by object) with this change made.
    func applied(to selectors: [PolicyKey: FQDNSelectorSet]) -> [PolicyKey: FQDNSelectorSet] {
        var result = selectors
        for key in change.removals { result[key] = nil }
        result.merge(fqdnSelectors) { _, new in new }
        return result
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
