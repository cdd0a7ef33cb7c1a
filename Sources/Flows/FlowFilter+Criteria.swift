import SluiceModel

extension FlowFilter {
    /// One `flow.FlowFilter` message (observer.proto `GetFlowsRequest.whitelist`/`blacklist`), in
    /// its own field terms: what a gRPC client sends, turned into the same clause engine
    /// `sluice observe`'s flags build (`Clause`). Strings are parsed as Hubble's server parses
    /// them (`[ns/]pod` prefixes, label selectors, IPs or CIDRs, FQDN globs, regexes, `5+x`
    /// status codes). Fields the engine does not model are named in `unsupported` and refused.
    public struct Criteria: Sendable, Equatable {
        public var uuid: [String] = []
        public var sourceIP: [String] = []
        public var sourcePod: [String] = []
        public var sourceFQDN: [String] = []
        public var sourceLabel: [String] = []
        public var destinationIP: [String] = []
        public var destinationPod: [String] = []
        public var destinationFQDN: [String] = []
        public var destinationLabel: [String] = []
        public var trafficDirection: [UInt64] = []
        public var verdict: [UInt64] = []
        public var dropReasonDesc: [UInt64] = []
        /// `EventTypeFilter`: type, and sub_type when match_sub_type.
        public var eventType: [EventTypeCriterion] = []
        public var httpStatusCode: [String] = []
        public var `protocol`: [String] = []
        public var sourcePort: [String] = []
        public var destinationPort: [String] = []
        public var sourceIdentity: [UInt64] = []
        public var destinationIdentity: [UInt64] = []
        public var httpMethod: [String] = []
        public var httpPath: [String] = []
        public var httpURL: [String] = []
        public var httpHeader: [Flow.HTTP.Header] = []
        /// `TCPFlags` messages, as the set flags (and whether NS was asked).
        public var tcpFlags: [(flags: Flow.TCPFlags, ns: Bool)] = []
        public var nodeName: [String] = []
        public var ipVersion: [UInt64] = []
        /// proto field names that were set but have no criterion here (`source_service`, ...).
        public var unsupported: [String] = []

        public init() {}

        public static func == (a: Criteria, b: Criteria) -> Bool {
            a.uuid == b.uuid && a.sourcePod == b.sourcePod && a.destinationPod == b.destinationPod
                && a.verdict == b.verdict && a.sourceIP == b.sourceIP && a.destinationIP == b.destinationIP
                && a.sourceLabel == b.sourceLabel && a.destinationLabel == b.destinationLabel
                && a.httpStatusCode == b.httpStatusCode && a.protocol == b.protocol
                && a.sourcePort == b.sourcePort && a.destinationPort == b.destinationPort
                && a.httpMethod == b.httpMethod && a.httpPath == b.httpPath && a.nodeName == b.nodeName
                && a.eventType == b.eventType && a.unsupported == b.unsupported
                && a.trafficDirection == b.trafficDirection && a.dropReasonDesc == b.dropReasonDesc
                && a.ipVersion == b.ipVersion && a.sourceFQDN == b.sourceFQDN
                && a.destinationFQDN == b.destinationFQDN && a.sourceIdentity == b.sourceIdentity
                && a.destinationIdentity == b.destinationIdentity && a.httpURL == b.httpURL
                && a.httpHeader == b.httpHeader && a.tcpFlags.map(\.flags) == b.tcpFlags.map(\.flags)
        }
    }

    /// flow.proto `EventTypeFilter`.
    public struct EventTypeCriterion: Sendable, Equatable {
        public var type: Int32
        public var subType: Int32?

        public init(type: Int32, subType: Int32? = nil) {
            self.type = type
            self.subType = subType
        }
    }

    /// A list of `Criteria` as Hubble applies `whitelist` and `blacklist`: a flow matches the list
    /// when it matches any one filter; every criterion of a filter must hold, values inside a
    /// criterion are ORed.
    public struct CriteriaList {
        let clauses: [Clause]

        /// Compiles `criteria`; a value Hubble would refuse (a bad CIDR, regex, selector,
        /// status code) or an unsupported field is an `Error` naming it.
        public init(_ criteria: [Criteria]) throws(Error) {
            var clauses: [Clause] = []
            for c in criteria { clauses.append(try Self.clause(c)) }
            self.clauses = clauses
        }

        public var isEmpty: Bool { clauses.isEmpty }

        /// Whether any filter of the list matches `flow` (false for an empty list).
        public func matchesAny(_ flow: Flow) -> Bool {
            clauses.contains { $0.matches(flow) }
        }

        /// Hubble's rule: shown when the whitelist is empty or matches, and the blacklist does not.
        public static func passes(_ flow: Flow, whitelist: CriteriaList, blacklist: CriteriaList) -> Bool {
            (whitelist.isEmpty || whitelist.matchesAny(flow)) && !blacklist.matchesAny(flow)
        }

        private static func clause(_ c: Criteria) throws(Error) -> Clause {
            if let field = c.unsupported.first { throw Error("unsupported filter field: \(field)") }
            var k = Clause()
            k.uuids = c.uuid
            k.source = try side(
                pods: c.sourcePod, ips: c.sourceIP, labels: c.sourceLabel, fqdns: c.sourceFQDN, ports: c.sourcePort,
                identities: c.sourceIdentity)
            k.destination = try side(
                pods: c.destinationPod, ips: c.destinationIP, labels: c.destinationLabel, fqdns: c.destinationFQDN,
                ports: c.destinationPort, identities: c.destinationIdentity)
            k.directions = c.trafficDirection.compactMap { TrafficDirection(rawValue: UInt8(truncatingIfNeeded: $0)) }
            k.verdicts = try c.verdict.map { (v) throws(Error) in
                guard v <= 255, let verdict = Flow.Verdict(rawValue: UInt8(v)) else {
                    throw Error("invalid verdict \(v)")
                }
                return verdict
            }
            k.dropReasons = c.dropReasonDesc.map { DropReason(rawValue: UInt32(truncatingIfNeeded: $0)) }
            k.eventTypes = c.eventType.map { EventTypeMatch(type: $0.type, subType: $0.subType) }
            k.httpStatus = try c.httpStatusCode.map { (v) throws(Error) in
                guard let s = HTTPStatusMatch(v) else { throw Error("invalid status code filter: \(v)") }
                return s
            }
            k.protocols = c.protocol.map { $0.lowercased() }
            k.httpMethods = c.httpMethod.map { $0.uppercased() }
            k.httpPaths = try c.httpPath.map { (v) throws(Error) in try regex(v, "http_path") }
            k.httpURLs = try c.httpURL.map { (v) throws(Error) in try regex(v, "http_url") }
            k.httpHeaders = c.httpHeader
            k.tcpFlags = c.tcpFlags.map { TCPFlagsMatch(flags: $0.flags, ns: $0.ns) }
            k.nodeNames = c.nodeName
            k.ipVersions = c.ipVersion.compactMap { Flow.IPVersion(rawValue: UInt8(truncatingIfNeeded: $0)) }
            if k.hasHTTPFilters && !k.eventTypes.isEmpty
                && !k.eventTypes.contains(where: { $0.type == Flow.EventType.l7 })
            {
                throw Error("filtering by HTTP fields requires the event type filter to match 'l7' events")
            }
            return k
        }

        /// One end's criteria from its `source_*` or `destination_*` fields.
        private static func side(
            pods: [String], ips: [String], labels: [String], fqdns: [String], ports: [String], identities: [UInt64]
        ) throws(Error) -> Side {
            var side = Side()
            side.pods = pods
            side.ips = try ips.map { (v) throws(Error) in try ip(v) }
            side.labels = try labels.map { (v) throws(Error) in try label(v) }
            side.fqdns = try fqdns.map { (v) throws(Error) in try fqdn(v) }
            side.ports = try ports.map { (v) throws(Error) in try port(v) }
            side.identities = identities.map { UInt32(truncatingIfNeeded: $0) }
            return side
        }

        private static func ip(_ v: String) throws(Error) -> IPMatch {
            guard let m = IPMatch(v) else { throw Error("invalid IP address or CIDR in filter: \(v)") }
            return m
        }

        private static func label(_ v: String) throws(Error) -> LabelSelector {
            guard let s = LabelSelector(text: v) else { throw Error("invalid label selector in filter: \(v)") }
            return s
        }

        private static func fqdn(_ v: String) throws(Error) -> FQDNGlob {
            guard let g = FQDNGlob(v) else { throw Error("invalid FQDN in filter: \(v)") }
            return g
        }

        private static func port(_ v: String) throws(Error) -> UInt16 {
            guard let p = UInt16(v) else { throw Error("invalid port in filter: \(v)") }
            return p
        }

        private static func regex(_ v: String, _ field: String) throws(Error) -> Regex<AnyRegexOutput> {
            do {
                return try Regex(v)
            } catch {
                throw Error("invalid regular expression in \(field) filter: \(v)")
            }
        }
    }
}
