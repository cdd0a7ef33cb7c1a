import SluiceModel

/// Builds a `PolicySnapshot` from the documents in force and the known endpoints: resolves every
/// selector to identities once, expands ports, and groups rules per (endpoint, direction, port).
struct PolicyCompiler {
    /// One rule source after selector resolution, before grouping by port.
    struct PortEntry {
        var low: UInt16
        var high: UInt16
        var protocols: [UInt8]
        var peers: PeerSet
        /// The peers as the datapath sees them: CIDR peers as CIDR identities, not world.
        var datapathPeers: PeerSet
        /// `toFQDNs` selectors of the rule (egress allows only): their learned IPs get entries
        /// at run time (`PolicySnapshot+FQDNPolicy`).
        var fqdns: [FQDNPattern] = []
        var rules: L7Rules
        /// `serverNames` of the port rule (empty: none): the port is a TLS SNI port.
        var serverNames: [ServerNamePattern] = []
        /// `terminatingTLS`/`originatingTLS` of the port rule, out of line (176 bytes inline:
        /// an entry was 260 bytes, and the compile cache keeps every entry).
        private var interceptionBox: OutOfLine<TLSInterception>?
        var isDeny: Bool
        var policyName: String
        /// `PolicyKey.ref` of the policy the rule came from (named in L7 flow records).
        var policyRef: UInt32

        init(
            low: UInt16, high: UInt16, protocols: [UInt8], peers: PeerSet, datapathPeers: PeerSet,
            fqdns: [FQDNPattern] = [], rules: L7Rules, serverNames: [ServerNamePattern] = [],
            interception: TLSInterception? = nil, isDeny: Bool, policyName: String, policyRef: UInt32
        ) {
            self.low = low
            self.high = high
            self.protocols = protocols
            self.peers = peers
            self.datapathPeers = datapathPeers
            self.fqdns = fqdns
            self.rules = rules
            self.serverNames = serverNames
            self.interceptionBox = interception.map { OutOfLine($0) }
            self.isDeny = isDeny
            self.policyName = policyName
            self.policyRef = policyRef
        }

        /// `terminatingTLS`/`originatingTLS` of the port rule: the port is an HTTP port whose
        /// TLS the proxy intercepts.
        var interception: TLSInterception? { interceptionBox?.value }

        /// The verdict of this rule's policy (its name and `ref` in the flow record).
        func verdict(
            allowed: Bool, _ reason: Verdict.Reason, headerActions: [HTTPHeaderAction] = []
        ) -> Verdict {
            Verdict(
                allowed: allowed, reason: reason, policyName: policyName, policyRef: policyRef,
                headerActions: headerActions)
        }

        /// The proxy this entry asks for: its L7 rules' kind, else `tls` when it names server names.
        /// TLS interception makes it an HTTP port (with or without HTTP rules).
        var l7Kind: L7Kind? {
            rules.kind ?? (interception != nil ? .http : serverNames.isEmpty ? nil : .tls)
        }

        func covers(port: UInt16, proto: UInt8) -> Bool {
            low <= port && port <= high && protocols.contains(proto)
        }
    }

    struct Side: Hashable {
        var endpointID: UInt32
        var direction: Direction
    }

    /// What one document's rules contribute: per side they apply on (in the order first met),
    /// its port entries in rule order and whether they turn default deny on there. An array, not
    /// two dictionaries: a document applies on one or a few sides, and the compile cache keeps
    /// one of these per document (two dictionaries were 190 bytes of it).
    struct DocumentEntries {
        struct SideEntries {
            var side: Side
            var defaultDeny: Bool
            var entries: [PortEntry]
        }

        private(set) var sides: [SideEntries] = []
        /// Where each side is in `sides`, while the document is compiled (`finish` drops it).
        private var index: [Side: Int] = [:]

        /// Turns default deny on at `side` when `deny`, and makes the side present either way.
        mutating func addDefaultDeny(_ deny: Bool, at side: Side) {
            let at = position(side)
            sides[at].defaultDeny = sides[at].defaultDeny || deny
        }

        mutating func append(_ entries: [PortEntry], at side: Side) {
            sides[position(side)].entries += entries
        }

        private mutating func position(_ side: Side) -> Int {
            if let at = index[side] { return at }
            index[side] = sides.count
            sides.append(SideEntries(side: side, defaultDeny: false, entries: []))
            return sides.count - 1
        }

        /// The document is compiled: only `sides` is kept (exactly as many as there are).
        mutating func finish() {
            index = [:]
            guard sides.capacity > sides.count else { return }
            var exact: [SideEntries] = []
            exact.reserveCapacity(sides.count)
            exact.append(contentsOf: sides)
            sides = exact
        }
    }

    /// Everything a document's entries depend on besides its own rules: the endpoints, their
    /// identities and labels, the remote pods and the CIDR identities of all documents.
    struct Context: Equatable {
        var endpoints: [EndpointDescriptor]
        var identities: [UInt32]
        var labelsByIdentity: [UInt32: [Label]]
        var remoteIdentities: [UInt32: UInt32]
        var cidrs: CIDRIdentityTable
    }

    /// The entries of each document compiled last time, by key with the document's `revision`:
    /// a document whose rules did not change since (same revision) and whose context did not
    /// change is not compiled again. `PolicyRepository` keeps one across compiles.
    struct Cache {
        var context: Context?
        var documents: [PolicyKey: (revision: UInt64, entries: DocumentEntries)] = [:]
        /// How many documents the last `build` compiled (the others came from the cache).
        var compiledDocuments = 0
    }

    /// Per-document entries of earlier compiles; `build` leaves it holding this compile's.
    var cache = Cache()

    let documents: [PolicyDocument]
    let endpoints: [EndpointDescriptor]
    /// Identity of each endpoint, same order as `endpoints`.
    let identities: [UInt32]
    /// Labels of every known identity (reserved ones included).
    let labelsByIdentity: [UInt32: [Label]]
    /// CIDR identities of every prefix the documents name.
    let cidrs: CIDRIdentityTable
    /// Pods of other nodes (address in network order to identity): selectable as peers, never
    /// subjects.
    let remoteIdentities: [UInt32: UInt32]

    private(set) var entries: [Side: [PortEntry]] = [:]
    private(set) var defaultDeny: [Side: Bool] = [:]
    var diagnostics: [PolicyDiagnostic] = []
    /// API server addresses (network order) for the ipcache.
    var kubeAPIServerIPv4: [UInt32] = []
    /// `--allow-localhost`: with `.always` the host is allowed at L3/L4 (`buildL3L4`) and every
    /// request at L7 on ingress.
    var allowLocalhost: AllowLocalhost = .always

    init(
        documents: [PolicyDocument], endpoints: [EndpointDescriptor], remote: [EndpointDescriptor] = [],
        allocator: inout IdentityAllocator
    ) {
        self.documents = documents.sorted { $0.key < $1.key }
        self.endpoints = endpoints
        var identities: [UInt32] = []
        var labels: [UInt32: [Label]] = [:]
        for (id, _) in ReservedIdentity.all {
            labels[id] = ReservedIdentity.labels(of: id)
        }
        for endpoint in endpoints {
            let identity = allocator.identity(of: endpoint)
            identities.append(identity)
            labels[identity] = endpoint.identityLabels
        }
        var remoteIdentities: [UInt32: UInt32] = [:]
        for endpoint in remote {
            let identity = allocator.identity(of: endpoint)
            remoteIdentities[endpoint.ipv4] = identity
            labels[identity] = endpoint.identityLabels
        }
        self.identities = identities
        self.remoteIdentities = remoteIdentities
        self.labelsByIdentity = labels
        self.cidrs = CIDRIdentityTable(rules: documents.flatMap(\.rules), allocator: &allocator)
    }

    /// Runs the whole compilation.
    mutating func build() -> PolicySnapshot {
        let context = Context(
            endpoints: endpoints, identities: identities, labelsByIdentity: labelsByIdentity,
            remoteIdentities: remoteIdentities, cidrs: cidrs)
        if cache.context != context { cache = Cache(context: context) }
        var compiled: [PolicyKey: (revision: UInt64, entries: DocumentEntries)] = [:]
        cache.compiledDocuments = 0
        for document in documents {
            let own: DocumentEntries
            if let hit = cache.documents[document.key], hit.revision == document.revision {
                own = hit.entries
            } else {
                var fresh = DocumentEntries()
                for rule in document.rules {
                    add(rule, policy: document.key, into: &fresh)
                }
                fresh.finish()
                own = fresh
                cache.compiledDocuments += 1
            }
            compiled[document.key] = (document.revision, own)
            for part in own.sides {
                entries[part.side, default: []] += part.entries
                defaultDeny[part.side] = (defaultDeny[part.side] ?? false) || part.defaultDeny
            }
        }
        cache.documents = compiled
        var http: [UInt64: HTTPPortPolicy] = [:]
        var dns: [UInt64: DNSPortPolicy] = [:]
        var tls: [UInt64: TLSPortPolicy] = [:]
        var ports: [L7Port] = []
        for (side, sideEntries) in entries.sorted(by: {
            ($0.key.endpointID, $0.key.direction.rawValue) < ($1.key.endpointID, $1.key.direction.rawValue)
        }) {
            for key in l7Keys(sideEntries) {
                let covering = sideEntries.filter { $0.covers(port: key.port, proto: key.proto) }
                let kinds = Set(covering.compactMap { $0.isDeny ? nil : $0.l7Kind })
                let tcp = key.proto == IPProtocol.tcp
                let kind: L7Kind = kinds.contains(.http) && tcp ? .http : kinds.contains(.tls) && tcp ? .tls : .dns
                if kinds.count > 1 {
                    diagnostics.append(conflict(side, port: key.port, proto: key.proto, covering))
                }
                let lookup = PolicySnapshot.key(side.endpointID, side.direction, key.port, key.proto)
                let deny = defaultDeny[side] ?? true
                switch kind {
                case .http:
                    http[lookup] = httpPolicy(
                        covering, defaultDeny: deny,
                        allowHost: side.direction == .ingress && allowLocalhost == .always)
                case .tls:
                    tls[lookup] = tlsPolicy(
                        covering, defaultDeny: deny,
                        allowHost: side.direction == .ingress && allowLocalhost == .always)
                case .dns:
                    dns[lookup] = dnsPolicy(covering, defaultDeny: deny)
                }
                ports.append(
                    L7Port(
                        endpointID: side.endpointID, port: key.port, proto: key.proto,
                        direction: side.direction, kind: kind))
            }
        }
        let l3l4 = buildL3L4(l7Ports: ports)
        return PolicySnapshot(
            endpoints: endpoints, identities: identities, labelsByIdentity: labelsByIdentity,
            l7Ports: ports.sorted(), http: http, dns: dns, tls: tls, diagnostics: diagnostics, l3l4: l3l4,
            policies: documents.map(\.key))
    }

    /// HTTP and DNS rules on one port of one endpoint (Cilium refuses the policy): the endpoint,
    /// port and the objects whose rules meet there.
    private func conflict(_ side: Side, port: UInt16, proto: UInt8, _ covering: [PortEntry]) -> PolicyDiagnostic {
        let names = Set(covering.filter { !$0.isDeny && $0.l7Kind != nil }.map(\.policyName))
        let kinds = Set(covering.compactMap { $0.isDeny ? nil : $0.l7Kind })
        let fields = [(L7Kind.http, "rules.http"), (.dns, "rules.dns"), (.tls, "serverNames")]
            .filter { kinds.contains($0.0) }.map(\.1)
        let sources = documents.filter { names.contains($0.key.policyName) }
            .map { PolicyDiagnostic.Source(file: $0.file, line: $0.line, key: $0.key) }
        let endpoint =
            endpoints.first { $0.id == side.endpointID }.map { "\($0.namespace)/\($0.podName)" }
            ?? "endpoint \(side.endpointID)"
        let protocolName = proto == IPProtocol.udp ? "UDP" : "TCP"
        return PolicyDiagnostic(
            message:
                "\(side.direction == .ingress ? "ingress" : "egress") toPorts \(port)/\(protocolName) of \(endpoint): "
                + fields.joined(separator: " and ") + " on the "
                + "same port (Cilium refuses this policy)",
            sources: sources)
    }

    /// Every (port, proto) of one side that carries L7 rules or server names. HTTP and TLS need
    /// TCP; DNS runs on TCP and UDP.
    private func l7Keys(_ sideEntries: [PortEntry]) -> [(port: UInt16, proto: UInt8)] {
        var keys = Set<UInt32>()
        for entry in sideEntries where !entry.isDeny {
            guard let kind = entry.l7Kind else { continue }
            let allowed: [UInt8] = kind == .dns ? [IPProtocol.tcp, IPProtocol.udp] : [IPProtocol.tcp]
            for proto in entry.protocols where allowed.contains(proto) {
                for port in entry.low...entry.high {
                    keys.insert(UInt32(port) << 8 | UInt32(proto))
                }
            }
        }
        return keys.sorted().map { (UInt16($0 >> 8), UInt8($0 & 0xff)) }
    }

    /// The HTTP rules of one port. `allowHost`: allow-localhost on ingress (Cilium rule 8: "if an
    /// ingress L7 rule selects host, the host is allowed everything at L7 but still redirected";
    /// Cilium's `hostWildcardL7`); an explicit deny naming the host still wins.
    private func httpPolicy(_ covering: [PortEntry], defaultDeny: Bool, allowHost: Bool) -> HTTPPortPolicy {
        // L4-only, or DNS rules on a port that is HTTP here: no HTTP constraint.
        let (denies, sources) = HTTPPortPolicy.Entry.compile(covering, allowHost: allowHost) { entry in
            if case .http(let rules) = entry.rules { return rules }
            return nil
        }
        return HTTPPortPolicy(
            denies: denies, entries: sources, defaultDeny: defaultDeny, interception: Self.interception(covering))
    }

    /// The TLS interception of one port: the first `terminatingTLS` and `originatingTLS` among
    /// the allow rules covering it, every rule's certificate with its `serverNames` (served by
    /// SNI), and the union of their `serverNames` (any rule without `serverNames` admits every
    /// SNI).
    static func interception(_ covering: [PortEntry]) -> TLSInterception? {
        let intercepting = covering.filter { !$0.isDeny && $0.interception != nil }.compactMap(\.interception)
        guard !intercepting.isEmpty else { return nil }
        var names: [ServerNamePattern] = []
        if !intercepting.contains(where: { $0.serverNames.isEmpty }) {
            for name in intercepting.flatMap(\.serverNames) where !names.contains(name) { names.append(name) }
        }
        var certificates: [TLSInterception.Certificate] = []
        for rule in intercepting {
            for certificate in rule.certificates where !certificates.contains(certificate) {
                certificates.append(certificate)
            }
        }
        return TLSInterception(
            terminating: intercepting.lazy.compactMap(\.terminating).first,
            originating: intercepting.lazy.compactMap(\.originating).first, serverNames: names,
            certificates: certificates)
    }

    /// The `serverNames` rules of one port; `allowHost` as for `httpPolicy`.
    private func tlsPolicy(_ covering: [PortEntry], defaultDeny: Bool, allowHost: Bool) -> TLSPortPolicy {
        let (denies, sources) = TLSPortPolicy.Entry.compile(covering, allowHost: allowHost) { entry in
            entry.serverNames.isEmpty ? nil : entry.serverNames
        }
        return TLSPortPolicy(denies: denies, entries: sources, defaultDeny: defaultDeny)
    }

    private func dnsPolicy(_ covering: [PortEntry], defaultDeny: Bool) -> DNSPortPolicy {
        let (denies, sources) = DNSPortPolicy.Entry.compile(covering, allowHost: false) { entry in
            if case .dns(let selectors) = entry.rules { return selectors.map(\.pattern) }
            return nil
        }
        return DNSPortPolicy(denies: denies, entries: sources, defaultDeny: defaultDeny)
    }

    /// Adds the entries of one rule for every endpoint its subject selects.
    private func add(_ rule: PolicyRule, policy: PolicyKey, into own: inout DocumentEntries) {
        guard let subject = rule.subject else { return }
        let directions: [(Direction, [PeerRule], [PeerRule], Bool)] = [
            (.ingress, rule.ingress, rule.ingressDeny, rule.defaultDenyIngress),
            (.egress, rule.egress, rule.egressDeny, rule.defaultDenyEgress),
        ]
        for (direction, allows, denies, deny) in directions where !(allows.isEmpty && denies.isEmpty && !deny) {
            let resolvedAllows = allows.map { (rule: $0, peers: resolve($0.peers), datapath: datapathPeers($0.peers)) }
            let resolvedDenies = denies.map { (rule: $0, peers: resolve($0.peers), datapath: datapathPeers($0.peers)) }
            for endpoint in endpoints where subject.matches(endpoint.identityLabels) {
                let side = Side(endpointID: endpoint.id, direction: direction)
                own.addDefaultDeny(deny, at: side)
                for (peerRule, peers, datapath) in resolvedAllows {
                    own.append(
                        portEntries(
                            peerRule, peers: (peers, datapath), subject: endpoint,
                            direction: direction, isDeny: false, policy: policy), at: side)
                }
                for (peerRule, peers, datapath) in resolvedDenies {
                    own.append(
                        portEntries(
                            peerRule, peers: (peers, datapath), subject: endpoint,
                            direction: direction, isDeny: true, policy: policy), at: side)
                }
            }
        }
    }

    private func portEntries(
        _ rule: PeerRule, peers both: (l7: PeerSet, datapath: PeerSet), subject: EndpointDescriptor,
        direction: Direction, isDeny: Bool, policy: PolicyKey
    ) -> [PortEntry] {
        let everyProtocol = L4Protocol.everyIPProtocol
        let peers = both.l7
        if rule.toPorts.isEmpty {
            return [
                PortEntry(
                    low: 0, high: .max, protocols: everyProtocol, peers: peers, datapathPeers: both.datapath,
                    fqdns: rule.peers.fqdns.map(\.pattern), rules: .none, isDeny: isDeny,
                    policyName: policy.policyName, policyRef: policy.ref)
            ]
        }
        var result: [PortEntry] = []
        for portRule in rule.toPorts {
            for port in portRule.ports {
                for (low, high) in ranges(port, subject: subject, peers: peers, direction: direction) {
                    result.append(
                        PortEntry(
                            low: low, high: high, protocols: port.proto.ipProtocols, peers: peers,
                            datapathPeers: both.datapath, fqdns: rule.peers.fqdns.map(\.pattern),
                            rules: portRule.rules, serverNames: portRule.serverNames,
                            interception: portRule.interception, isDeny: isDeny,
                            policyName: policy.policyName,
                            policyRef: policy.ref))
                }
            }
        }
        return result
    }

    /// Port ranges of one `ports` entry. Port 0 = all ports; an ICMP type is its policy port.
    /// Named ports resolve against the selected endpoint on ingress and against the peer
    /// endpoints on egress.
    private func ranges(
        _ port: PortProtocol, subject: EndpointDescriptor, peers: PeerSet,
        direction: Direction
    ) -> [(UInt16, UInt16)] {
        if port.proto.isICMP, case .number(let type) = port.port {
            let policyPort = ICMPType.policyPort(UInt8(truncatingIfNeeded: type))
            return [(policyPort, policyPort)]
        }
        switch port.port {
        case .number(0):
            return [(0, .max)]
        case .number(let number):
            return [(number, max(number, port.endPort ?? number))]
        case .named(let name):
            if direction == .ingress {
                return subject.namedPort(name).map { [($0, $0)] } ?? []
            }
            var numbers = Set<UInt16>()
            for (index, endpoint) in endpoints.enumerated() where peers.contains(identities[index]) {
                if let number = endpoint.namedPort(name) { numbers.insert(number) }
            }
            return numbers.sorted().map { ($0, $0) }
        }
    }

    /// The identities a peer selection names among the known ones. CIDR and FQDN peers stand for
    /// world here (Sluice has no CIDR identities yet; the L3/L4 stage narrows them).
    func resolve(_ selection: PeerSelection) -> PeerSet {
        if selection.selectsNothing { return .some([]) }
        if selection.isWildcard { return .all }
        var result = Set<UInt32>()
        for selector in selection.endpoints {
            for (identity, labels) in labelsByIdentity where selector.matches(labels) {
                result.insert(identity)
            }
        }
        for entity in selection.entities {
            switch ReservedIdentity.entity(entity) {
            case .everything: return .all
            case .identities(let reserved, let withEndpoints):
                result.formUnion(reserved)
                if withEndpoints { result.formUnion(identities) }
            case nil: break
            }
        }
        if !selection.cidrs.isEmpty || !selection.fqdns.isEmpty {
            result.formUnion([ReservedIdentity.world, ReservedIdentity.worldIPv4, ReservedIdentity.worldIPv6])
        }
        return .of(result)
    }
}
