/// A `hubble observe` filter built from its command-line options, with Hubble's semantics
/// (hubble `cmd/observe/flows_filter.go` and cilium `pkg/hubble/filters`):
///
/// - values given to one option are ORed; different options are ANDed;
/// - an either-side option (`pod`, `ip`, `label`, `port`, `identity`, `namespace`) splits the filter in two,
///   a "left" one testing the source and a "right" one testing the destination, and the flow passes when either
///   passes; options that name a side (`from-…`, `to-…`) and side-less ones apply to both halves;
/// - a pod is a name **prefix** written `[ns/]name`; without a namespace it means `default`;
///   `namespace` options turn into pod filters `ns/`;
/// - `negated` inverts the whole filter: `sluice observe` puts every `--not` option into one negated filter
///   (Hubble's blacklist) and shows a flow when `whitelist.matches(f) && blacklist.matches(f)`.
///
/// Built once per `observe`; regexes are compiled by `add`. Not `Sendable` (it holds compiled `Regex` values).
public struct FlowFilter {
    /// The options, named as the `hubble observe` flags (`rawValue` is the flag without dashes).
    public enum Option: String, CaseIterable, Sendable {
        case verdict, dropReasonDesc = "drop-reason-desc"
        case namespace, fromNamespace = "from-namespace", toNamespace = "to-namespace"
        case pod, fromPod = "from-pod", toPod = "to-pod"
        case label, fromLabel = "from-label", toLabel = "to-label"
        case ip, fromIP = "from-ip", toIP = "to-ip"
        case port, fromPort = "from-port", toPort = "to-port"
        case identity, fromIdentity = "from-identity", toIdentity = "to-identity"
        case type, `protocol`
        case httpMethod = "http-method", httpPath = "http-path", httpURL = "http-url", httpStatus = "http-status"
        case trafficDirection = "traffic-direction"
        case fqdn, fromFQDN = "from-fqdn", toFQDN = "to-fqdn"
        case allNamespaces = "all-namespaces", fromAllNamespaces = "from-all-namespaces"
        case toAllNamespaces = "to-all-namespaces"
        case nodeName = "node-name", uuid, tcpFlags = "tcp-flags", httpHeader = "http-header"
        case ipVersion = "ip-version", ipv4, ipv6

        /// False for the switches (`--all-namespaces`, `--ipv4`...), which take no value.
        public var takesValue: Bool {
            switch self {
            case .allNamespaces, .fromAllNamespaces, .toAllNamespaces, .ipv4, .ipv6: false
            default: true
            }
        }
    }

    /// Why an option value was refused; `description` is Hubble's wording where it has one.
    public struct Error: Swift.Error, Equatable, CustomStringConvertible {
        /// The message to show the user.
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// True for a `--not` filter: `matches` is inverted.
    public var negated: Bool

    /// Options given so far, in order (for conflict checks).
    private(set) var given: [Option] = []
    var left: Clause?
    var right: Clause?
    var namespaces: [String] = []
    var sourceNamespaces: [String] = []
    var destinationNamespaces: [String] = []

    /// An empty filter. Every flow passes an empty filter, negated or not (Hubble sends no blacklist when no
    /// `--not` option was given).
    public init(negated: Bool = false) {
        self.negated = negated
    }

    /// True when no option was added.
    public var isEmpty: Bool { given.isEmpty }

    /// Adds one option value, as `--<option> <value>` would.
    public mutating func add(_ option: Option, _ value: String) throws(Error) {
        try checkConflict(adding: option)
        given.append(option)
        switch option {
        case .namespace: namespaces.append(value)
        case .fromNamespace: sourceNamespaces.append(value)
        case .toNamespace: destinationNamespaces.append(value)
        // Hubble: the empty namespace, which pod filters turn into `/` (any namespace, any pod).
        case .allNamespaces: namespaces.append("")
        case .fromAllNamespaces: sourceNamespaces.append("")
        case .toAllNamespaces: destinationNamespaces.append("")
        case .nodeName, .uuid, .tcpFlags, .httpHeader, .ipVersion, .ipv4, .ipv6: try addFlowProperty(option, value)
        case .pod, .fromPod, .toPod: add(value, for: option, from: .fromPod, to: .toPod, \.pods)
        case .label, .fromLabel, .toLabel: try addLabel(option, value)
        case .ip, .fromIP, .toIP: try addIP(option, value)
        case .port, .fromPort, .toPort: try addPort(option, value)
        case .identity, .fromIdentity, .toIdentity: try addIdentity(option, value)
        case .fqdn, .fromFQDN, .toFQDN: try addFQDN(option, value)
        case .verdict:
            guard let v = Flow.Verdict(name: value) else { throw Error("invalid --verdict value: \(value)") }
            both { $0.verdicts.append(v) }
        case .dropReasonDesc:
            guard let r = DropReason(name: value) else { throw Error("invalid --drop-reason-desc value: \(value)") }
            both { $0.dropReasons.append(r) }
        case .type: try addType(value)
        case .protocol:
            let p = value.lowercased()
            guard Self.protocols.contains(p) else { throw Error("invalid --protocol value: \(value)") }
            both { $0.protocols.append(p) }
        case .httpMethod: both { $0.httpMethods.append(value.uppercased()) }
        case .httpPath, .httpURL: try addRegex(option, value)
        case .httpStatus:
            guard let s = HTTPStatusMatch(value) else { throw Error("invalid status code filter: \(value)") }
            both { $0.httpStatus.append(s) }
        case .trafficDirection:
            switch value.lowercased() {
            case "ingress": both { $0.directions.append(.ingress) }
            case "egress": both { $0.directions.append(.egress) }
            default: throw Error("invalid traffic direction, expected ingress or egress: \(value)")
            }
        }
        try checkL7Compatibility()
    }

    /// Whether the flow passes (inverted when `negated`; an empty filter never excludes anything).
    public func matches(_ f: Flow) -> Bool {
        guard !isEmpty else { return true }
        let passes = clauses().contains { $0.matches(f) }
        return negated ? !passes : passes
    }

    /// The proto-style filters this one stands for, ORed ("left OR right"), with namespaces applied.
    func clauses() -> [Clause] {
        var l = left ?? Clause()
        var r = right ?? Clause()
        if !destinationNamespaces.isEmpty {
            l.destination.applyNamespaces(destinationNamespaces)
            r.destination.applyNamespaces(destinationNamespaces)
        }
        if !sourceNamespaces.isEmpty {
            l.source.applyNamespaces(sourceNamespaces)
            r.source.applyNamespaces(sourceNamespaces)
        }
        if !namespaces.isEmpty {
            l.source.applyNamespaces(namespaces)
            r.destination.applyNamespaces(namespaces)
        }
        return [l, r]
    }

    mutating func both(_ update: (inout Clause) -> Void) {
        either(source: update, destination: update)
    }

    mutating func either(source: (inout Clause) -> Void, destination: (inout Clause) -> Void) {
        var l = left ?? Clause()
        var r = right ?? Clause()
        source(&l)
        destination(&r)
        left = l
        right = r
    }

    static let protocols: Set<String> = [
        "tcp", "udp", "icmp", "icmpv4", "icmpv6", "sctp", "vrrp", "igmp", "http", "dns", "kafka",
    ]

    /// Hubble's groups of options that cannot be combined in one filter.
    private static let conflicts: [[Option]] = [
        [.fromIP, .ip, .fromNamespace, .namespace, .allNamespaces, .fromAllNamespaces], [.fromIP, .ip, .fromPod, .pod],
        [.toIP, .ip, .toNamespace, .namespace, .allNamespaces, .toAllNamespaces], [.toIP, .ip, .toPod, .pod],
        [.toPod, .namespace], [.fromPod, .namespace], [.label, .fromLabel], [.label, .toLabel],
        [.port, .toPort], [.port, .fromPort], [.identity, .toIdentity], [.identity, .fromIdentity],
    ]

    private func checkConflict(adding option: Option) throws(Error) {
        for group in Self.conflicts where group.contains(option) {
            if let other = given.first(where: { $0 != option && group.contains($0) }) {
                throw Error("filters --\(other.rawValue) and --\(option.rawValue) cannot be combined")
            }
        }
    }

    /// The server refuses HTTP filters unless the event-type filter is empty or includes l7 (129).
    private func checkL7Compatibility() throws(Error) {
        for clause in [left, right].compactMap({ $0 }) where clause.hasHTTPFilters && !clause.eventTypes.isEmpty {
            if !clause.eventTypes.contains(where: { $0.type == Flow.EventType.l7 }) {
                throw Error("filtering by HTTP fields requires the event type filter to match 'l7' events")
            }
        }
    }
}
