import SluiceModel

/// The compiled, immutable policy of the node at one moment: which ports need the proxy, the
/// HTTP/DNS rules per (endpoint, direction, port), and the identities of endpoints.
///
/// Built by `PolicyRepository.compile(endpoints:allocator:)`; a reload builds a new one and the
/// proxy swaps it whole; a request keeps the snapshot it started with. Every lookup is O(1) or
/// O(log n), allocation-free and callable from any thread.
public final class PolicySnapshot: @unchecked Sendable {
    /// Every (endpoint, port, proto, direction) with L7 rules, sorted. Port ranges (`endPort`)
    /// are expanded; Sluice refuses L7 ranges over 1024 ports when the policy is loaded.
    public let l7Ports: [L7Port]
    /// The endpoints the snapshot was compiled for.
    public let endpoints: [EndpointDescriptor]
    /// Conflicts that make the policy unacceptable (e.g. HTTP and DNS rules on one port, which
    /// Cilium refuses); the agent installs no snapshot that has any.
    public let diagnostics: [PolicyDiagnostic]
    /// The policy objects compiled in, sorted (their `ref`s are what L7 flow records name).
    public let policies: [PolicyKey]

    let http: [UInt64: HTTPPortPolicy]
    let dns: [UInt64: DNSPortPolicy]
    let tls: [UInt64: TLSPortPolicy]
    private let identityByIPv4: [UInt32: UInt32]
    private let endpointByIPv4: [UInt32: EndpointDescriptor]
    private let identityByEndpointID: [UInt32: UInt32]
    private let labelsByIdentity: [UInt32: [String]]
    /// The L3/L4 policy map entries, enforcement and CIDR identities (`PolicySnapshot+Datapath`).
    let l3l4: L3L4Policy

    init(
        endpoints: [EndpointDescriptor], identities: [UInt32], labelsByIdentity: [UInt32: [Label]],
        l7Ports: [L7Port], http: [UInt64: HTTPPortPolicy], dns: [UInt64: DNSPortPolicy],
        tls: [UInt64: TLSPortPolicy] = [:], diagnostics: [PolicyDiagnostic],
        l3l4: L3L4Policy = L3L4Policy(), policies: [PolicyKey] = []
    ) {
        self.endpoints = endpoints
        self.policies = policies
        self.l3l4 = l3l4
        self.l7Ports = l7Ports
        self.http = http
        self.dns = dns
        self.tls = tls
        self.diagnostics = diagnostics
        var byIP: [UInt32: UInt32] = [:]
        var endpointByIP: [UInt32: EndpointDescriptor] = [:]
        var byID: [UInt32: UInt32] = [:]
        for (endpoint, identity) in zip(endpoints, identities) {
            byIP[endpoint.ipv4] = identity
            endpointByIP[endpoint.ipv4] = endpoint
            byID[endpoint.id] = identity
        }
        identityByIPv4 = byIP
        endpointByIPv4 = endpointByIP
        identityByEndpointID = byID
        self.labelsByIdentity = labelsByIdentity.mapValues { $0.map(\.description).sorted() }
    }

    /// `base` with other HTTP, DNS and TLS port policies (`PolicySnapshot+Transition`).
    init(
        _ base: PolicySnapshot, http: [UInt64: HTTPPortPolicy], dns: [UInt64: DNSPortPolicy],
        tls: [UInt64: TLSPortPolicy]
    ) {
        endpoints = base.endpoints
        l3l4 = base.l3l4
        l7Ports = base.l7Ports
        self.http = http
        self.dns = dns
        self.tls = tls
        diagnostics = base.diagnostics
        policies = base.policies
        identityByIPv4 = base.identityByIPv4
        endpointByIPv4 = base.endpointByIPv4
        identityByEndpointID = base.identityByEndpointID
        labelsByIdentity = base.labelsByIdentity
    }

    /// The lookup key of one port policy.
    static func key(_ endpointID: UInt32, _ direction: Direction, _ port: UInt16, _ proto: UInt8) -> UInt64 {
        UInt64(endpointID) << 32 | UInt64(direction.rawValue) << 24 | UInt64(proto) << 16 | UInt64(port)
    }

    /// The HTTP rules for TCP `port` of `endpointID` in `direction`; nil = no HTTP rules there.
    public func httpPolicy(endpointID: UInt32, direction: Direction, port: UInt16) -> HTTPPortPolicy? {
        http[Self.key(endpointID, direction, port, IPProtocol.tcp)]
    }

    /// The `serverNames` rules for TCP `port` of `endpointID` in `direction`; nil = none there.
    public func tlsPolicy(endpointID: UInt32, direction: Direction, port: UInt16) -> TLSPortPolicy? {
        tls.isEmpty ? nil : tls[Self.key(endpointID, direction, port, IPProtocol.tcp)]
    }

    /// The DNS rules for egress `port`/`proto` (6 or 17) of `endpointID`; nil = no DNS rules there.
    public func dnsPolicy(endpointID: UInt32, port: UInt16, proto: UInt8) -> DNSPortPolicy? {
        dns[Self.key(endpointID, .egress, port, proto)]
    }

    /// The security identity of an IPv4 address (network order): a local endpoint's identity,
    /// else world (2).
    public func identity(ofIPv4 ip: UInt32) -> UInt32 {
        identityByIPv4[ip] ?? ReservedIdentity.world
    }

    /// The local endpoint that owns an IPv4 address (network order), if any.
    public func endpoint(ofIPv4 ip: UInt32) -> EndpointDescriptor? {
        endpointByIPv4[ip]
    }

    /// The identity of a local endpoint by its endpoint ID.
    public func identity(ofEndpoint endpointID: UInt32) -> UInt32? {
        identityByEndpointID[endpointID]
    }

    /// The labels of an identity, sorted, as Hubble prints them (`k8s:app=web`,
    /// `reserved:world`); empty for an unknown identity.
    public func identityLabels(_ id: UInt32) -> [String] {
        labelsByIdentity[id] ?? []
    }

    /// The canonical text of the snapshot: endpoints with identities, then each L7 port with its
    /// rule sources. Stable across runs; used by tests and `sluice policy get --compiled`.
    public func canonicalDump() -> String {
        var lines: [String] = ["endpoints:"]
        for endpoint in endpoints.sorted(by: { $0.id < $1.id }) {
            let identity = identityByEndpointID[endpoint.id] ?? 0
            lines.append(
                "  \(endpoint.id) \(endpoint.namespace)/\(endpoint.podName) identity \(identity) "
                    + "[\(identityLabels(identity).joined(separator: " "))]")
        }
        lines.append("l7Ports:")
        for port in l7Ports {
            lines.append("  \(port)")
            let rules: [String]
            switch port.kind {
            case .http:
                rules =
                    httpPolicy(endpointID: port.endpointID, direction: port.direction, port: port.port)?.canonical ?? []
            case .tls:
                rules =
                    tlsPolicy(endpointID: port.endpointID, direction: port.direction, port: port.port)?.canonical ?? []
            case .dns:
                rules = dnsPolicy(endpointID: port.endpointID, port: port.port, proto: port.proto)?.canonical ?? []
            }
            lines += rules.map { "    " + $0 }
        }
        for diagnostic in diagnostics {
            lines.append("diagnostic: \(diagnostic)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
