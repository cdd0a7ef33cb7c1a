import SluiceModel

extension FlowFilter {
    /// One proto `FlowFilter`: every non-empty criterion must hold; values inside a criterion are ORed.
    struct Clause {
        /// What the flow's source must be (`--from-*`, proto `source_*`).
        var source = Side()
        /// What the flow's destination must be (`--to-*`, proto `destination_*`).
        var destination = Side()
        var verdicts: [Flow.Verdict] = []
        var dropReasons: [DropReason] = []
        var eventTypes: [EventTypeMatch] = []
        var protocols: [String] = []
        var httpMethods: [String] = []
        var httpPaths: [Regex<AnyRegexOutput>] = []
        var httpURLs: [Regex<AnyRegexOutput>] = []
        var httpStatus: [HTTPStatusMatch] = []
        var directions: [Flow.TrafficDirection] = []
        var nodeNames: [String] = []
        var uuids: [String] = []
        var tcpFlags: [TCPFlagsMatch] = []
        var ipVersions: [Flow.IPVersion] = []
        var httpHeaders: [Flow.HTTP.Header] = []

        var hasHTTPFilters: Bool {
            !httpMethods.isEmpty || !httpPaths.isEmpty || !httpURLs.isEmpty || !httpStatus.isEmpty
                || !httpHeaders.isEmpty
        }

        func matches(_ f: Flow) -> Bool {
            let http = f.l7?.http
            return source.matches(f.source, ip: f.ip?.source, port: f.l4?.sourcePort, names: f.sourceNames)
                && destination.matches(
                    f.destination, ip: f.ip?.destination, port: f.l4?.destinationPort, names: f.destinationNames)
                && Self.any(verdicts) { $0 == f.verdict }
                && Self.any(dropReasons) { $0 == f.dropReasonDesc }
                && Self.any(eventTypes) { $0.matches(f.eventType) }
                && Self.any(protocols) { Self.flow(f, hasProtocol: $0) }
                && Self.any(httpMethods) { $0 == http?.method.uppercased() }
                && Self.any(httpPaths) { regex in http.map { $0.path.contains(regex) } ?? false }
                && Self.any(httpURLs) { regex in http.map { $0.url.contains(regex) } ?? false }
                && Self.any(httpStatus) { $0.matches(f) }
                && Self.any(directions) { $0 == f.trafficDirection }
                && Self.any(nodeNames) { Self.node($0, matches: f.nodeName) }
                && Self.any(uuids) { $0 == f.uuid }
                && Self.any(tcpFlags) { $0.matches(f) }
                && Self.any(ipVersions) { $0 == f.ip?.ipVersion }
                && Self.any(httpHeaders) { h in http?.headers.contains(h) ?? false }
        }

        /// cilium `filters/node.go`: a `[cluster/]node` pattern where `*` matches any run of characters; a
        /// pattern without a cluster matches the node part of a `cluster/node` name.
        static func node(_ pattern: String, matches name: String) -> Bool {
            var name = Substring(name)
            if !pattern.contains("/"), let slash = name.lastIndex(of: "/") { name = name[name.index(after: slash)...] }
            return glob(Array(pattern.utf8)[...], Array(name.utf8)[...])
        }

        private static func glob(_ p: ArraySlice<UInt8>, _ s: ArraySlice<UInt8>) -> Bool {
            guard let first = p.first else { return s.isEmpty }
            if first == UInt8(ascii: "*") {
                var rest = s
                while true {
                    if glob(p.dropFirst(), rest) { return true }
                    if rest.isEmpty { return false }
                    rest = rest.dropFirst()
                }
            }
            guard let c = s.first, c == first else { return false }
            return glob(p.dropFirst(), s.dropFirst())
        }

        /// An empty criterion holds; otherwise one value must match.
        static func any<T>(_ values: [T], _ test: (T) -> Bool) -> Bool {
            values.isEmpty || values.contains(where: test)
        }

        /// cilium `filters/k8s.go`: `[ns/]prefix`, namespace `default` when none is written; an empty namespace
        /// (from `ns/`-less all-namespace forms) matches any namespace.
        static func pod(_ filter: String, matches endpoint: FlowEndpoint?) -> Bool {
            let (namespace, prefix) = parseNamespacedName(filter)
            guard let endpoint, !(endpoint.namespace.isEmpty && endpoint.podName.isEmpty) else { return false }
            if !namespace.isEmpty && endpoint.namespace != namespace { return false }
            return endpoint.podName.hasPrefix(prefix)
        }

        /// hubble `k8s.ParseNamespaceName`.
        static func parseNamespacedName(_ s: String) -> (namespace: String, name: String) {
            let parts = s.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.count > 1 { return (String(parts[0]), String(parts[1])) }
            if s.isEmpty { return ("", "") }
            return ("default", s)
        }

        private static func flow(_ f: Flow, hasProtocol p: String) -> Bool {
            switch p {
            case "tcp": if case .tcp = f.l4 { return true } else { return false }
            case "udp": if case .udp = f.l4 { return true } else { return false }
            case "sctp": if case .sctp = f.l4 { return true } else { return false }
            case "icmpv4": if case .icmpv4 = f.l4 { return true } else { return false }
            case "icmpv6": if case .icmpv6 = f.l4 { return true } else { return false }
            case "icmp": return flow(f, hasProtocol: "icmpv4") || flow(f, hasProtocol: "icmpv6")
            case "http": return f.l7?.http != nil
            case "dns": return f.l7?.dns != nil
            default: return false
            }
        }
    }

    /// The criteria on one end of a flow: Hubble's filter has the same six for the source
    /// (`source_pod`, `source_label`, ...) and the destination, matched the same way.
    struct Side {
        var pods: [String] = []
        var labels: [LabelSelector] = []
        var ips: [IPMatch] = []
        var ports: [UInt16] = []
        var identities: [UInt32] = []
        var fqdns: [FQDNGlob] = []

        /// Hubble's `namespaceModifier.applySrc`/`applyDest`: no pod filter becomes "any pod", then
        /// every pod without a namespace is repeated in each namespace.
        mutating func applyNamespaces(_ namespaces: [String]) {
            if pods.isEmpty { pods = [""] }
            pods = pods.flatMap { pod in pod.contains("/") ? [pod] : namespaces.map { $0 + "/" + pod } }
        }

        /// Whether the flow end described by `endpoint`, its address, port and DNS names meets
        /// every non-empty criterion.
        func matches(_ endpoint: FlowEndpoint?, ip: String?, port: UInt16?, names: [String]) -> Bool {
            Clause.any(pods) { Clause.pod($0, matches: endpoint) }
                && Clause.any(labels) { $0.matches((endpoint?.labels ?? []).map(Label.init(parsing:))) }
                && Clause.any(ips) { $0.matches(ip) }
                && Clause.any(ports) { $0 == port }
                && Clause.any(identities) { $0 == endpoint?.identity }
                && Clause.any(fqdns) { p in names.contains { p.matches($0) } }
        }
    }

    /// A `--tcp-flags` value: every named flag must be set (NS is never recorded, so it never matches).
    struct TCPFlagsMatch {
        var flags: Flow.TCPFlags
        var ns: Bool

        func matches(_ f: Flow) -> Bool {
            guard !ns, case .tcp(let tcp)? = f.l4, let set = tcp.flags else { return false }
            return set.isSuperset(of: flags)
        }
    }

    /// An `event_type` criterion: the type, and the sub-type when one was given.
    struct EventTypeMatch {
        var type: Int32
        var subType: Int32?

        func matches(_ e: Flow.EventType) -> Bool {
            e.type == type && (subType.map { $0 == e.subType } ?? true)
        }
    }
}
