import CSluiceShared
import Datapath
import Flows
import Glibc
import Policy
import SluiceIO
import SluiceJSON
internal import CSluice

/// The node agent: loads and attaches the datapath, owns the policy in force, runs the proxy
/// workers and answers the control socket. One per node; runs in the node's network namespace.
///
/// Start-up order keeps L7 ports closed until they can be enforced: routing and sk_lookup first
/// (a steered packet without a proxy socket is dropped), then endpoints and L7 ports, then the
/// proxy, and only then the proxy socket goes into the sockmap.
public final class Agent {
    public struct Options {
        /// Network namespace to enter first (a name under /run/netns), or nil to stay.
        public var netns: String?
        /// JSON file listing the node's endpoints (the sandbox's state.json has this shape).
        public var endpointsFile: String
        /// Where the agent keeps what must survive a restart (policies, identities) and the
        /// endpoint directory `sluice observe` reads.
        public var stateDirectory: String
        /// The control socket.
        public var controlSocket: String
        /// Directory holding tc_endpoint.o and sk_lookup.o.
        public var bpfObjectDirectory: String
        public var pinDirectory: String
        public var nodeName: String
        public var proxy: ProxyConfig
        /// The DNS proxy (listeners, reject code, FQDN learning limits).
        public var dns = DNSProxyConfig()
        /// What a pod sees when its egress policy denies a packet (`--policy-deny-response`).
        public var policyDenyResponse: Datapath.DenyResponse = .none
        /// Whether the node reaches its pods whatever their policy says (`--allow-localhost`).
        public var allowLocalhost: AllowLocalhost = .always

        public init(netns: String?, endpointsFile: String, stateDirectory: String, controlSocket: String,
                    bpfObjectDirectory: String, pinDirectory: String, nodeName: String, proxy: ProxyConfig) {
            self.netns = netns
            self.endpointsFile = endpointsFile
            self.stateDirectory = stateDirectory
            self.controlSocket = controlSocket
            self.bpfObjectDirectory = bpfObjectDirectory
            self.pinDirectory = pinDirectory
            self.nodeName = nodeName
            self.proxy = proxy
        }
    }

    let options: Options
    private var datapath: Datapath?
    private var ring: FlowRing?
    private var server: ProxyServer?
    private let repository = PolicyRepository()
    private var allocator = IdentityAllocator()
    private var endpoints: [EndpointDescriptor] = []
    private var ifindexes: [UInt32: Int32] = [:]
    private var snapshot: PolicySnapshot?
    private let lock = Lock()
    /// The toFQDNs selectors of each policy object in force (see FQDNSelectorSet).
    private var fqdnSelectorsByKey: [PolicyKey: FQDNSelectorSet] = [:]
    private var fqdn: FQDNService?
    private var fqdnWriter: FQDNPolicyWriter?
    /// How long the last `apply` took to compile and to reach the maps (`status` reports it).
    private var lastInstall: InstallTiming?

    public init(options: Options) {
        self.options = options
    }

    /// Brings the node up and serves the control socket until the process is killed.
    public func run() throws {
        if let netns = options.netns {
            try Socket.enterNetworkNamespace(path: "/run/netns/" + netns)
        }
        try Files.createDirectories(policyDirectory)
        let datapath = try Datapath.open(objectDirectory: options.bpfObjectDirectory, pinDirectory: options.pinDirectory)
        self.datapath = datapath
        try datapath.setDenyResponse(options.policyDenyResponse)
        try Datapath.installProxyRouting()
        try datapath.attachSkLookup()

        try loadEndpoints()
        try restorePolicies()
        let snapshot = repository.compile(endpoints: endpoints, allocator: &allocator)
        self.snapshot = snapshot
        try saveIdentities()
        for endpoint in endpoints {
            let info = sluice_endpoint_info(id: endpoint.id, identity: snapshot.identity(ofIPv4: endpoint.ipv4),
                                            ifindex: UInt32(ifindexes[endpoint.id] ?? 0), flags: 0)
            try datapath.setEndpoint(ipv4: endpoint.ipv4, info: info)
        }
        // Learned toFQDNs addresses first (from the state file, into the pinned maps an earlier
        // run left), then the full policy sync that keeps them; policy maps before programs, so a
        // newly attached program enforces the whole policy from its first packet.
        let writer = FQDNPolicyWriter(datapath: datapath, snapshot: snapshot, hostIPv4: nodeIPv4Addresses())
        self.fqdnWriter = writer
        let fqdn = FQDNService(
            cache: FQDNCache(minTTL: options.dns.fqdnMinTTL, maxIPsPerName: options.dns.fqdnMaxIPsPerName),
            datapath: writer, stateFile: options.stateDirectory + "/fqdn.json")
        fqdn.publish(selectors: currentFQDNSelectors)
        try fqdn.start()
        self.fqdn = fqdn
        try datapath.syncL7Ports(Agent.l7Entries(snapshot))
        try installL3L4(snapshot, datapath: datapath, fqdnWriter: writer, attaching: ifindexes)
        for endpoint in endpoints {
            if let ifindex = ifindexes[endpoint.id], ifindex > 0 {
                try datapath.attachEndpoint(ifindex: ifindex)
            }
        }
        try writeEndpointDirectory(snapshot)

        let ring = try FlowRing.openForWriting(pinDirectory: options.pinDirectory)
        self.ring = ring
        let server = ProxyServer(config: options.proxy)
        try server.start(steering: DatapathSteering(datapath), flows: RingSink(ring), snapshot: snapshot,
                         dns: options.dns, fqdn: fqdn)
        self.server = server
        if let fd = server.httpListenerFDs.first {
            try datapath.registerProxySocket(Int(SLUICE_SOCK_HTTP.rawValue), fd: fd)
        }
        if let fd = server.dnsUDPListenerFDs.first {
            try datapath.registerProxySocket(Int(SLUICE_SOCK_DNS_UDP.rawValue), fd: fd)
        }
        if let fd = server.dnsTCPListenerFDs.first {
            try datapath.registerProxySocket(Int(SLUICE_SOCK_DNS_TCP.rawValue), fd: fd)
        }
        let control = ControlServer(path: options.controlSocket) { [unowned self] request in
            self.handle(request)
        }
        try control.serve()
    }

    // MARK: control requests

    func handle(_ request: ControlRequest) -> ControlResponse {
        lock.lock()
        defer { lock.unlock() }
        switch request.op {
        case "apply":
            guard let documents = request.documents else {
                return ControlResponse(ok: false, message: "apply: the request carries no parsed documents (use a sluice CLI of the agent's version)")
            }
            return apply(documents: documents, fileName: request.file ?? "<stdin>", persist: true)
        case "get":
            return ControlResponse(ok: true, message: repository.listing())
        case "status":
            let ports = snapshot?.l7Ports.map { $0.description }.joined(separator: "\n") ?? ""
            var message = "workers: \(options.proxy.workers)\nL7 ports:\n\(ports)"
            if let lastInstall { message += "\n" + lastInstall.description }
            return ControlResponse(ok: true, message: message)
        default:
            return ControlResponse(ok: false, message: "unknown operation \(request.op)")
        }
    }

    /// Applies a policy file atomically: on any error nothing changes and the error names the
    /// file, line and field. On success the new snapshot replaces the old one everywhere.
    private func apply(documents: [PolicyNode], fileName: String, persist: Bool) -> ControlResponse {
        let result: PolicyRepository.ApplyResult
        do {
            result = try repository.apply(documents: documents, fileName: fileName)
        } catch {
            return ControlResponse(ok: false, message: String(describing: error))
        }
        recordFQDNSelectors(documents: documents, fileName: fileName)
        do {
            try install()
            if persist { try persistPolicy(documents: documents, fileName: fileName, keys: result.changes.map(\.key)) }
        } catch {
            return ControlResponse(ok: false, message: "policy accepted but not installed: \(error)")
        }
        return ControlResponse(ok: true, message: result.description)
    }

    /// Compiles the repository and installs the result: datapath steering first for new L7
    /// ports, then the proxy workers.
    private func install() throws {
        let compileStart = Clock.monotonicNs()
        let snapshot = repository.compile(endpoints: endpoints, allocator: &allocator)
        let compiled = Clock.monotonicNs()
        self.snapshot = snapshot
        try saveIdentities()
        // The proxy learns the new rules first, then steering, then L3/L4: a port gaining L7
        // rules is steered only once the proxy can decide on it.
        server?.publish(snapshot)
        let mapsStart = Clock.monotonicNs()
        try datapath?.syncL7Ports(Agent.l7Entries(snapshot))
        try installL3L4(snapshot, datapath: datapath, fqdnWriter: fqdnWriter)
        lastInstall = InstallTiming(compileNs: compiled - compileStart,
                                    mapsNs: Clock.monotonicNs() - mapsStart,
                                    policyEntries: snapshot.policyMap.count,
                                    ipcacheEntries: snapshot.ipcacheEntries().count)
        fqdn?.publish(selectors: currentFQDNSelectors)
        try writeEndpointDirectory(snapshot)
    }

    /// Remembers the toFQDNs selectors of the objects in an applied file (replacing those of
    /// objects with the same key, like the repository does).
    private func recordFQDNSelectors(documents: [PolicyNode], fileName: String) {
        guard let sets = try? FQDNSelectorSet.parse(documents: documents, fileName: fileName) else { return }
        fqdnSelectorsByKey.merge(sets) { _, new in new }
    }

    private var currentFQDNSelectors: FQDNSelectorSet {
        FQDNSelectorSet(merging: fqdnSelectorsByKey.keys.sorted().compactMap { fqdnSelectorsByKey[$0] })
    }

    static func l7Entries(_ snapshot: PolicySnapshot) -> [sluice_l7_key: sluice_l7_value] {
        var entries: [sluice_l7_key: sluice_l7_value] = [:]
        for port in snapshot.l7Ports {
            let key = sluice_l7_key(endpoint_id: port.endpointID, port: port.port, proto: port.proto,
                                    direction: port.direction == .ingress ? UInt8(SLUICE_DIR_INGRESS.rawValue)
                                        : UInt8(SLUICE_DIR_EGRESS.rawValue))
            let kind: sluice_proxy_kind
            switch port.kind {
            case .http: kind = SLUICE_PROXY_HTTP
            case .dns: kind = port.proto == IPProtocol.udp ? SLUICE_PROXY_DNS_UDP : SLUICE_PROXY_DNS_TCP
            }
            entries[key] = sluice_l7_value(kind: UInt8(kind.rawValue), _pad: (0, 0, 0), _reserved: 0)
        }
        return entries
    }

    // MARK: state

    private var policyDirectory: String { options.stateDirectory + "/policies" }
    private lazy var policyStore = PolicyStore(directory: policyDirectory)

    private func loadEndpoints() throws {
        let file = try JSON.decode(EndpointsFile.self, from: Files.read(options.endpointsFile))
        endpoints = []
        for e in file.endpoints {
            guard let ip = IPv4Text.parse(e.ipv4) else { continue }
            let id = UInt32(e.id)
            var namedPorts: [String: UInt16] = [:]
            for port in e.namedPorts ?? [] { namedPorts[port.name.lowercased()] = port.port }
            endpoints.append(EndpointDescriptor(
                id: id, namespace: e.namespace, podName: e.pod, podLabels: e.podLabels,
                namespaceLabels: e.namespaceLabels ?? [:], ipv4: ip, serviceAccount: e.serviceAccount ?? "default",
                namedPorts: namedPorts))
            ifindexes[id] = Int32(e.hostIfIndex ?? 0)
        }
        repository.allowLocalhost = options.allowLocalhost
        repository.kubeAPIServerIPv4 = (file.world ?? []).filter { $0.kubeAPIServer == true }
            .flatMap { $0.addresses.compactMap(IPv4Text.parse) }
        let identitiesPath = options.stateDirectory + "/identities.json"
        if let data = Files.readIfPresent(identitiesPath),
           let state = try? JSON.decode([String: UInt32].self, from: data) {
            allocator = IdentityAllocator(state: state)
        }
    }

    private func saveIdentities() throws {
        try Files.writeAtomically(options.stateDirectory + "/identities.json", JSON.encode(allocator.state, sortedKeys: true))
    }

    /// Re-applies the policies saved by earlier `apply` calls, in order. Each is the parsed
    /// document tree `sluice apply` sent (the agent has no YAML parser), with its file name.
    /// Files made redundant by newer ones (an earlier agent kept every apply) are removed.
    private func restorePolicies() throws {
        for (name, stored) in policyStore.load(skipped: log) {
            guard let result = try? repository.apply(documents: stored.documents, fileName: stored.file) else {
                log("stored policy \(name) (\(stored.file)) no longer applies; kept, not in force")
                continue
            }
            policyStore.restored(name, keys: result.changes.map(\.key))
            recordFQDNSelectors(documents: stored.documents, fileName: stored.file)
        }
        policyStore.compact()
        _ = CSluice_release_free_memory()
    }

    private func persistPolicy(documents: [PolicyNode], fileName: String, keys: [PolicyKey]) throws {
        try policyStore.store(StoredPolicy(file: fileName, documents: documents), keys: keys)
    }

    private func log(_ message: String) {
        var line = "sluice-agent: " + message + "\n"
        line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }

    private func writeEndpointDirectory(_ snapshot: PolicySnapshot) throws {
        var identities: [UInt32: [String]] = [:]
        let entries = endpoints.map { e -> EndpointDirectory.Endpoint in
            let identity = snapshot.identity(ofIPv4: e.ipv4)
            let labels = snapshot.identityLabels(identity)
            identities[identity] = labels
            return EndpointDirectory.Endpoint(id: e.id, namespace: e.namespace, pod: e.podName,
                                              ipv4: IPv4Text.format(e.ipv4), identity: identity, labels: labels)
        }
        for reserved: UInt32 in [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] where identities[reserved] == nil {
            identities[reserved] = snapshot.identityLabels(reserved)
        }
        let file = EndpointDirectory.File(
            nodeName: options.nodeName, endpoints: entries,
            identities: identities.keys.sorted().map { EndpointDirectory.Identity(identity: $0, labels: identities[$0] ?? []) },
            policies: snapshot.policies.map {
                EndpointDirectory.Policy(ref: $0.ref, kind: $0.kind.rawValue, namespace: $0.namespace, name: $0.name)
            })
        try Files.writeAtomically(options.stateDirectory + "/endpoints.json",
                                  JSON.encode(file, sortedKeys: true, pretty: true))
    }
}

/// The cost of one policy install: compiling the snapshot, then writing the L7 ports and the
/// L3/L4 maps (policy, modes, ipcache).
struct InstallTiming: CustomStringConvertible {
    var compileNs: UInt64
    var mapsNs: UInt64
    var policyEntries: Int
    var ipcacheEntries: Int

    /// `last install: compile 12.3 ms, maps 45.6 ms (10000 policy entries, 1003 ipcache entries)`.
    var description: String {
        let ms = { (ns: UInt64) -> String in
            let tenths = (ns + 50_000) / 100_000
            return "\(tenths / 10).\(tenths % 10)"
        }
        return "last install: compile \(ms(compileNs)) ms, maps \(ms(mapsNs)) ms "
            + "(\(policyEntries) policy entries, \(ipcacheEntries) ipcache entries)"
    }
}

/// The endpoint list the agent reads (the sandbox's state.json; other keys are ignored).
struct EndpointsFile: Decodable {
    struct Endpoint: Decodable {
        var id: Int
        var namespace: String
        var pod: String
        var podLabels: [String: String]
        var namespaceLabels: [String: String]?
        var ipv4: String
        var hostIfIndex: Int?
        var serviceAccount: String?
        /// Named container ports (`toPorts` may name them).
        var namedPorts: [NamedPort]?
    }
    struct NamedPort: Decodable {
        var name: String
        var port: UInt16
    }
    /// Hosts outside the node; the one marked `kubeAPIServer` is the API server.
    struct WorldHost: Decodable {
        var addresses: [String]
        var kubeAPIServer: Bool?
    }
    var endpoints: [Endpoint]
    var world: [WorldHost]?
}

/// Dotted-quad text for IPv4 addresses held in network byte order.
enum IPv4Text {
    static func parse(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".")
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for p in parts {
            guard let b = UInt8(p) else { return nil }
            bytes.append(b)
        }
        return UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
    }

    static func format(_ ip: UInt32) -> String {
        "\(ip & 0xFF).\(ip >> 8 & 0xFF).\(ip >> 16 & 0xFF).\(ip >> 24)"
    }
}

/// The datapath's steering table as the proxy's `SteeringTable`.
final class DatapathSteering: SteeringTable {
    let datapath: Datapath
    init(_ datapath: Datapath) { self.datapath = datapath }

    func lookup(sourceAddress: UInt32, sourcePort: UInt16, destinationAddress: UInt32, destinationPort: UInt16,
                protocol proto: UInt8) -> SteerInfo? {
        let tuple = sluice_tuple(src_ip4: sourceAddress, dst_ip4: destinationAddress, src_port: sourcePort,
                                 dst_port: destinationPort, proto: proto, _pad: (0, 0, 0))
        return datapath.lookupSteered(tuple).map(SteerInfo.init)
    }

    var changeEpoch: (epoch: UInt64, lastChangeNs: UInt64)? { datapath.steeringEpoch.current }
}

/// The pinned flow ring as the proxy's `FlowSink`.
final class RingSink: FlowSink {
    let ring: FlowRing
    init(_ ring: FlowRing) { self.ring = ring }
    @inline(__always) func append(_ fill: (UnsafeMutablePointer<sluice_flow>) -> Void) {
        ring.append(fill)
    }
}
