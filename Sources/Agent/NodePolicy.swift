import CSluiceShared
import Datapath
import Flows
import Policy
import SluiceIO
import SluiceJSON
import SluiceModel

/// The policy in force on the node and the one way to change it. It owns the repository of
/// policy objects, the identity allocator, the compiled snapshot, the toFQDNs selectors and the
/// stored files; the datapath, the FQDN writer and the proxy are attached by the agent as they
/// come up (tests attach some or none).
///
/// `commit` installs a `PolicyTransaction` everywhere or nowhere (docs/architecture.md, "Policy
/// updates"): it compiles the candidate, refuses it when the compiler finds a conflict, gives the
/// proxy workers the transition snapshot, writes the maps in their safe order, stores the file,
/// and only then makes the candidate the policy in force. A failure at any step undoes the steps
/// before it — the maps get their previous entries back, the workers the previous snapshot, the
/// stored file is removed — and the error says why.
///
/// `restore` reads the stored policies at start and throws, naming the file, when one cannot be
/// read, does not validate any more, or conflicts: the agent refuses to start rather than run
/// without a policy it was given. Control thread only.
final class NodePolicy {
    let repository = PolicyRepository()
    private(set) var allocator = IdentityAllocator()
    /// The compiled policy in force (empty until `restore`).
    private(set) var snapshot: PolicySnapshot
    /// The toFQDNs selectors of each policy object in force (see FQDNSelectorSet).
    private(set) var fqdnSelectorsByKey: [PolicyKey: FQDNSelectorSet] = [:]
    private(set) var store: PolicyStore
    let stateDirectory: String

    /// The node's endpoints and own addresses (network order, identity host): fixed at start
    /// from the endpoints file, or kept current by the API source (`--endpoints-from=kubernetes`:
    /// `Agent.discoverNodeAddresses`).
    var endpoints: [EndpointDescriptor] = []
    var hostIPv4: [UInt32] = []

    /// Where the policy goes; nil ones are skipped (tests, or before the agent has them).
    var datapath: Datapath?
    var fqdnWriter: FQDNPolicyWriter?
    var fqdnService: FQDNService?
    /// Gives the proxy workers a snapshot and waits until each took it; false when one did not.
    var publish: ((PolicySnapshot) -> Bool)?

    /// How long the last install took to compile and to reach the maps (`status` reports it).
    private(set) var lastInstall: InstallTiming?

    init(stateDirectory: String) {
        self.stateDirectory = stateDirectory
        store = PolicyStore(directory: stateDirectory + "/policies")
        var empty = IdentityAllocator()
        snapshot = PolicyRepository().compile(endpoints: [], allocator: &empty)
    }

    /// The identities saved by an earlier run (`identities.json`); absent is a first start, a
    /// file that cannot be read is an error (identities name policy entries in the pinned maps).
    func loadIdentities() throws {
        let path = stateDirectory + "/identities.json"
        guard Files.exists(path) else { return }
        do {
            allocator = IdentityAllocator(state: try JSON.decode([String: UInt32].self, from: Files.read(path)))
        } catch {
            throw AgentStartError(
                message: "\(path) cannot be read: \(error); the agent keeps identities there and "
                    + "does not start without them (remove the file only together with the pinned maps)")
        }
    }

    // MARK: start

    /// Applies the stored policies in order and compiles them. Throws, naming the stored file
    /// and the file it was applied from, when one cannot be read or applied, and when together
    /// they conflict; nothing is installed here (`installAtStart`).
    func restore() throws {
        store.removeInterruptedWrites()
        let stored: [(name: String, policy: StoredPolicy)]
        do {
            stored = try store.load()
        } catch {
            throw Self.refusal("\(error)")
        }
        for (name, policy) in stored {
            let transaction: PolicyTransaction
            do {
                if let removed = policy.removed {
                    // a stored delete: the objects it removed that are still set go again
                    let keys = removed.compactMap(\.key).filter { repository.keys.contains($0) }
                    transaction = .delete(keys: keys, fileName: policy.file)
                } else {
                    transaction = try PolicyTransaction.apply(
                        documents: policy.documents, fileName: policy.file,
                        repository: repository)
                }
            } catch {
                throw Self.refusal(
                    "stored policy \(store.directory)/\(name) (applied from \(policy.file)) "
                        + "no longer applies: \(error)")
            }
            repository.commit(transaction.change)
            fqdnSelectorsByKey = transaction.applied(to: fqdnSelectorsByKey)
            store.restored(name, keys: transaction.change.keys)
        }
        var allocator = self.allocator
        let snapshot = repository.compile(endpoints: endpoints, allocator: &allocator)
        guard snapshot.diagnostics.isEmpty else {
            throw Self.refusal(
                "the stored policies in \(store.directory) conflict: "
                    + snapshot.diagnostics.map(\.description).joined(separator: "; "))
        }
        self.allocator = allocator
        self.snapshot = snapshot
    }

    private static func refusal(_ reason: String) -> AgentStartError {
        AgentStartError(
            message: reason + "; the agent does not start without the policies it was given "
                + "(fix or remove the file, then start it again)")
    }

    /// Installs the restored snapshot into the maps (which hold what the last run left) and
    /// saves identities; then the redundant stored files go. On a failed write the maps are put
    /// back and this throws.
    func installAtStart() throws {
        try saveIdentities(allocator)
        let snapshot = self.snapshot
        try withMapsLocked(snapshot) { extraPolicy, extraIPCache in
            guard let datapath else { return }
            _ = try datapath.installPolicy(
                PolicyMaps(
                    snapshot, hostIPv4: hostIPv4,
                    extraPolicy: extraPolicy, extraIPCache: extraIPCache))
        }
        store.compact()
        fqdnService?.publish(selectors: currentFQDNSelectors)
    }

    // MARK: changes

    /// Installs `transaction` everywhere or nowhere; returns what it did (kubectl's lines).
    func commit(_ transaction: PolicyTransaction) throws(PolicyTransactionError) -> PolicyRepository.ApplyResult {
        func failure(_ reasons: [String], mapsRestored: Bool = true) -> PolicyTransactionError {
            PolicyTransactionError(fileName: transaction.fileName, reasons: reasons, mapsRestored: mapsRestored)
        }
        let compileStart = SystemClock.monotonicNs()
        var allocator = self.allocator
        let candidate = repository.compile(transaction.change, endpoints: endpoints, allocator: &allocator)
        let compileNs = SystemClock.monotonicNs() - compileStart
        guard candidate.diagnostics.isEmpty else { throw failure(candidate.diagnostics.map(\.description)) }
        // New identities are kept whatever happens next: numbers are never reused, so one given
        // to a prefix of a failed change is only a gap.
        if allocator != self.allocator {
            do {
                try saveIdentities(allocator)
            } catch {
                throw failure(["saving identities: \(error)"])
            }
            self.allocator = allocator
        }
        let previous = snapshot
        var staged: String?
        var mapsNs: UInt64 = 0
        var mapWrites = 0
        do {
            try withMapsLocked(candidate) { extraPolicy, extraIPCache in
                // The workers know the new rules (and keep the old ones of ports losing theirs)
                // before any map steers toward them.
                if let publish, !publish(candidate.transition(from: previous)) {
                    _ = publish(previous)
                    throw failure(["the proxy workers did not take the new policy within 5 s"])
                }
                let mapsStart = SystemClock.monotonicNs()
                var journal: PolicyMapJournal?
                do {
                    if let datapath {
                        journal = try datapath.installPolicy(
                            PolicyMaps(
                                candidate, hostIPv4: hostIPv4,
                                extraPolicy: extraPolicy, extraIPCache: extraIPCache))
                    }
                    mapsNs = SystemClock.monotonicNs() - mapsStart
                    mapWrites = journal?.count ?? 0
                    if let pending = transaction.pending {
                        staged = try store.stage(pending)
                    } else if let stored = transaction.stored {
                        staged = try store.stage(stored)
                    }
                } catch let error as PolicyInstallError {
                    // installPolicy undid its own writes (or says it could not).
                    if error.rollback == nil { _ = publish?(previous) }
                    throw failure([error.description], mapsRestored: error.rollback == nil)
                } catch {
                    do {
                        try journal?.rollback()
                    } catch let undo {
                        throw failure(
                            ["storing the policy: \(error)", "undoing the map writes: \(undo)"],
                            mapsRestored: false)
                    }
                    _ = publish?(previous)
                    throw failure(["storing the policy: \(error)"])
                }
            }
        } catch let error as PolicyTransactionError {
            throw error
        } catch {
            throw failure(["\(error)"])
        }

        repository.commit(transaction.change)
        snapshot = candidate
        fqdnSelectorsByKey = transaction.applied(to: fqdnSelectorsByKey)
        if let staged { store.commitStaged(staged, keys: transaction.change.keys) }
        _ = publish?(candidate)
        // the workers run the new snapshot: the patterns only the old one held can go
        PolicyRepository.freeUnusedPatterns()
        fqdnService?.publish(selectors: currentFQDNSelectors)
        lastInstall = InstallTiming(
            compileNs: compileNs, mapsNs: mapsNs, policyEntries: candidate.policyMap.count,
            ipcacheEntries: candidate.ipcacheEntries().count, compiledDocuments: repository.lastCompiledDocuments,
            documents: candidate.policies.count, mapWrites: mapWrites)
        return transaction.change.result
    }

    /// Runs `body` with the FQDN writer's lock held and `snapshot` given to it (so no learned
    /// address is written meanwhile, and learned addresses come with their entries under
    /// `snapshot`); without a writer, with no extra entries.
    private func withMapsLocked(
        _ snapshot: PolicySnapshot,
        _ body: (_ extraPolicy: [PolicyMapKey: PolicyMapAction], _ extraIPCache: [IPCacheEntry]) throws -> Void
    ) throws {
        if let fqdnWriter {
            try fqdnWriter.install(snapshot, body)
        } else {
            try body([:], [])
        }
    }

    var currentFQDNSelectors: FQDNSelectorSet {
        FQDNSelectorSet(merging: fqdnSelectorsByKey.keys.sorted().compactMap { fqdnSelectorsByKey[$0] })
    }

    /// Takes cluster-wide identity numbers for label sets (`ClusterIdentityProvider`) and saves
    /// them; the next compile uses them.
    /// Returns whether any number changed.
    @discardableResult
    func adoptIdentities(_ numbers: [[String]: UInt32]) -> Bool {
        var adopted = allocator
        adopted.adopt(numbers)
        guard adopted != allocator else { return false }
        allocator = adopted
        try? saveIdentities(adopted)
        return true
    }

    // MARK: files

    private func saveIdentities(_ allocator: IdentityAllocator) throws {
        try Files.createDirectories(stateDirectory)
        try Files.writeAtomically(stateDirectory + "/identities.json", JSON.encode(allocator.state, sortedKeys: true))
    }

    /// The endpoints as `endpoints.json` and `sluice endpoint list` show them (ID, pod, address,
    /// identity and its labels), and the labels of their identities and of the reserved ones
    /// (1...10).
    func directoryEntries() -> (endpoints: [EndpointDirectory.Endpoint], identities: [UInt32: [String]]) {
        var identities: [UInt32: [String]] = [:]
        let entries = endpoints.map { e -> EndpointDirectory.Endpoint in
            let identity = snapshot.identity(ofIPv4: e.ipv4)
            let labels = snapshot.identityLabels(identity)
            identities[identity] = labels
            return EndpointDirectory.Endpoint(
                id: e.id, namespace: e.namespace, pod: e.podName,
                ipv4: IPv4Address(networkOrder: e.ipv4).description, identity: identity, labels: labels)
        }
        for reserved: UInt32 in 1...10 where identities[reserved] == nil {
            identities[reserved] = snapshot.identityLabels(reserved)
        }
        return (entries, identities)
    }

    /// Writes the endpoint directory `sluice observe` reads (names and identity labels) for the
    /// policy in force; pods of other nodes are in it with endpoint ID 0, so flows name them by
    /// address.
    func writeEndpointDirectory(nodeName: String) throws {
        var (entries, identities) = directoryEntries()
        let remoteIdentities = snapshot.remoteIdentities
        for e in repository.remoteEndpoints {
            let identity = remoteIdentities[e.ipv4] ?? ReservedIdentity.world
            let labels = snapshot.identityLabels(identity)
            identities[identity] = labels
            entries.append(
                EndpointDirectory.Endpoint(
                    id: 0, namespace: e.namespace, pod: e.podName, ipv4: IPv4Address(networkOrder: e.ipv4).description,
                    identity: identity, labels: labels))
        }
        let file = EndpointDirectory.File(
            nodeName: nodeName, endpoints: entries,
            identities: identities.keys.sorted().map {
                EndpointDirectory.Identity(identity: $0, labels: identities[$0] ?? [])
            },
            policies: snapshot.policies.map {
                EndpointDirectory.Policy(ref: $0.ref, kind: $0.kind.rawValue, namespace: $0.namespace, name: $0.name)
            })
        try Files.writeAtomically(stateDirectory + "/endpoints.json", JSON.encode(file, sortedKeys: true, pretty: true))
    }
}

/// Why the agent does not start: what it cannot use, and what to do.
struct AgentStartError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// The cost of one policy install: compiling the snapshot, then writing the L7 ports and the
/// L3/L4 maps (policy, modes, ipcache).
struct InstallTiming: CustomStringConvertible {
    var compileNs: UInt64
    var mapsNs: UInt64
    var policyEntries: Int
    var ipcacheEntries: Int
    /// Policy objects compiled for the install, of `documents` (unchanged ones are reused).
    var compiledDocuments = 0
    var documents = 0
    /// Entries the install wrote or deleted in the maps (only what changed is written).
    var mapWrites = 0

    /// `last install: compile 12.3 ms (1 of 1000 objects), maps 45.6 ms (10000 policy entries,
    /// 1003 ipcache entries, 4 written)`.
    var description: String {
        let ms = { (ns: UInt64) -> String in
            let tenths = (ns + 50_000) / 100_000
            return "\(tenths / 10).\(tenths % 10)"
        }
        return "last install: compile \(ms(compileNs)) ms (\(compiledDocuments) of \(documents) objects), "
            + "maps \(ms(mapsNs)) ms (\(policyEntries) policy entries, \(ipcacheEntries) ipcache entries, "
            + "\(mapWrites) written)"
    }
}
