/// The `toFQDNs` selectors of a set of policy objects: the names whose DNS answers the proxy
/// learns (Cilium inserts IPs into the ipcache only for names some selector matches, PR #30110).
///
/// Immutable and `Sendable`; `matches` never allocates. The compiled `PolicySnapshot` does not
/// carry these yet; until it does, the agent keeps one set per policy object with
/// `FQDNSelectorSet.parse(documents:fileName:)` and merges them with `init(merging:)`.
public final class FQDNSelectorSet: @unchecked Sendable {
    /// Every selector, in policy order (duplicates by text removed).
    public let patterns: [FQDNPattern]

    /// No selector: no name is learned.
    public static let empty = FQDNSelectorSet(patterns: [])

    public init(patterns: [FQDNPattern]) {
        var seen = Set<String>()
        self.patterns = patterns.filter { seen.insert($0.description).inserted }
    }

    /// The union of several sets.
    public convenience init(merging sets: [FQDNSelectorSet]) {
        self.init(patterns: sets.flatMap(\.patterns))
    }

    public var isEmpty: Bool { patterns.isEmpty }

    /// Whether any selector matches `qname` (lower-cased FQDN with trailing dot, as bytes).
    public func matches(_ qname: UnsafeRawBufferPointer) -> Bool {
        for pattern in patterns where pattern.matches(qname) {
            return true
        }
        return false
    }

    /// `matches` for text (normalised first); for tests and tools.
    public func matches(_ name: String) -> Bool {
        patterns.contains { $0.matches(name) }
    }

    /// The `toFQDNs` selectors (egress rules only; deny rules cannot carry them) of every object
    /// in a policy file's documents, by object key. Validates the file exactly like
    /// `PolicyRepository.apply(documents:fileName:)`.
    public static func parse(documents roots: [PolicyNode], fileName: String) throws(LoadError) -> [PolicyKey:
        FQDNSelectorSet]
    {
        selectors(of: try PolicyFileParser.parse(documents: roots, fileName: fileName).documents)
    }

    /// The same for documents already parsed (a `PolicyRepository.Change`'s upserts): no second
    /// parse of the file.
    public static func selectors(of documents: [PolicyDocument]) -> [PolicyKey: FQDNSelectorSet] {
        var result: [PolicyKey: FQDNSelectorSet] = [:]
        for document in documents {
            let patterns = document.rules.flatMap { rule in rule.egress.flatMap { $0.peers.fqdns.map(\.pattern) } }
            result[document.key] = patterns.isEmpty ? .empty : FQDNSelectorSet(patterns: patterns)
        }
        return result
    }
}
