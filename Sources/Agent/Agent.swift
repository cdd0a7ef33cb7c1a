internal import CSluice
import CSluiceShared
import Datapath
import Flows
import Glibc
import Policy
import Proxy
import SluiceAPI
import SluiceIO
import SluiceJSON
import SluiceModel
import SluiceSync

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
        /// JSON file listing the node's endpoints: a `SandboxState` (the sandbox's state.json);
        /// "" for none. With `endpointsFrom` `.kubernetes` only its node and API server addresses
        /// are read.
        public var endpointsFile: String
        /// Where this node's endpoints come from (`--endpoints-from`, `Agent+LocalPods`).
        public var endpointsFrom: EndpointsSource = .file
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
        /// Test knob (`--map-max-entries NAME=N`): maps created with another size than bpf/
        /// declares, so that a test can make a policy install fail on a full map.
        public var mapMaxEntries: [String: UInt32] = [:]
        /// Whether the node reaches its pods whatever their policy says (`--allow-localhost`).
        public var allowLocalhost: AllowLocalhost = .always
        /// Hubble's flow redaction (`--hubble-redact-*`), applied where L7 flows are written.
        public var redaction = FlowRedaction()
        /// `--max-connections`; nil: from the open-file limit (`ProxyConfig.connectionCap`).
        public var maxConnections: Int?
        /// Who may use the control socket besides root (`--control-group`).
        public var controlAccess = ControlAccess()
        /// How long a control client may go without progress on its request or answer
        /// (`--control-timeout-ms`; `ControlServer`).
        public var controlClientTimeoutNs: UInt64 = 5_000_000_000
        /// Hubble's flow export file (`--hubble-export-*`); off while its path is empty.
        public var export = FlowExportConfig(path: "")
        /// Where the agent learns policies, namespaces and pods from the Kubernetes API
        /// (`--k8s-kubeconfig`, `--k8s-in-cluster`, or `KUBERNETES_SERVICE_HOST`); nil: it does
        /// not, and `sluice apply` is the only policy source.
        public var kubernetes: KubernetesSource?
        /// The cluster-wide identity allocator over the API (nil: the agent numbers identities
        /// itself, per node).
        public var clusterIdentities: ClusterIdentityFactory?

        public init(
            netns: String?, endpointsFile: String, stateDirectory: String, controlSocket: String,
            bpfObjectDirectory: String, pinDirectory: String, nodeName: String, proxy: ProxyConfig
        ) {
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

    private(set) var options: Options
    var datapath: Datapath?
    var ring: FlowRing?
    var server: ProxyServer?
    var ifindexes: [UInt32: Int32] = [:]
    /// Policy applies refused or not installed since start (`AgentIntrospection.policyApplyFailures`).
    private(set) var policyApplyFailures: UInt64 = 0
    /// Serialises control requests and reconciles with the Kubernetes API.
    let lock = Lock()
    /// The policy in force and the one way to change it.
    let policy: NodePolicy
    private var fqdn: FQDNService?
    private var control: ControlServer?
    /// The control socket's counters (`sluice status`). Control thread.
    var controlCounters: ControlServer.Counters { control?.counters ?? ControlServer.Counters() }
    /// The open-file limit after the raise at start.
    private var openFileLimit: UInt64 = 0
    private var exporter: FlowExporter?
    /// Whether the proxy writes flow records now (`flows-pause`, `flows-resume`: `Agent+Flows`).
    let flowRecording = FlowRecording()
    /// The descriptor holding the pin directory's lock (`Datapath.lockPinDirectory`), or -1.
    private var pinDirectoryLock: Int32 = -1
    /// The Kubernetes API source (`Agent+Kubernetes`); nil without `options.kubernetes`.
    var kube: KubeSource?
    let kubeSync = KubePolicySync()
    /// This node's endpoints as the endpoints file gives them (before the API's labels).
    var fileEndpoints: [EndpointDescriptor] = []
    /// This node's endpoints from the API's pods (`--endpoints-from=kubernetes`); reconcile thread.
    var localPods = LocalEndpointTable()
    /// Endpoint IDs whose interface has the programs (`--endpoints-from=kubernetes`).
    var attachedEndpoints: Set<UInt32> = []
    /// How a local pod's host interface is found (`PodRoute`; tests give their own).
    var podRouteLookup: (UInt32) -> PodRoute.Answer = Agent.lookupPodRoute
    /// How the node's interface addresses are read (`NodeAddresses`; tests give their own), the
    /// endpoints file's `nodeIP`, and the last addresses read (`--endpoints-from=kubernetes`).
    var interfaceAddressLookup: () -> Result<[UInt32], NodeAddresses.ParseError> = NodeAddresses.lookup
    var fileHostIPv4: [UInt32] = []
    var interfaceAddresses: [UInt32] = []
    var identityProvider: (any ClusterIdentityProvider)?
    /// The last failure to number identities cluster-wide (`sluice status`).
    var identityError: String?

    public init(options: Options) {
        self.options = options
        policy = NodePolicy(stateDirectory: options.stateDirectory)
    }

    deinit {
        if pinDirectoryLock >= 0 { close(pinDirectoryLock) }
    }

    /// Brings the node up and serves the control socket until the process is killed.
    ///
    /// The stored policies are read and compiled first, before anything touches the namespace
    /// or the datapath: a stored policy that cannot be read or applied stops the start here, and
    /// the pinned maps keep enforcing what the last run installed (L7 ports fail closed without
    /// the proxy).
    public func run() throws {
        // Descriptors first: the soft limit up to the hard one, and the connection cap from it.
        openFileLimit = ProcessLimits.raiseOpenFiles()
        options.proxy.maxConnections =
            options.maxConnections ?? ProxyConfig.connectionCap(openFileLimit: openFileLimit)
        // The control socket is bound before the slow start (its clients wait in the queue) so
        // that a bad socket directory stops the start at once.
        let control = ControlServer(
            path: options.controlSocket, access: options.controlAccess,
            clientTimeoutNs: options.controlClientTimeoutNs
        ) { [unowned self] request, documentsJSON in
            self.handle(consume request, documentsJSON: consume documentsJSON)
        }
        self.control = control
        try prepareKubernetes()
        try control.bind()
        try loadEndpoints()
        try policy.loadIdentities()
        try policy.restore()
        restoreKubernetesCache()
        // Restored policies were checked for their secrets when applied; say which are gone now.
        for line in tlsSecretProblems() { fputs("sluice-agent: error: " + line + "\n", stderr) }
        _ = CSluice_release_free_memory()
        if let netns = options.netns {
            try Socket.enterNetworkNamespace(path: "/run/netns/" + netns)
        }
        restoreLocalPods()
        // Held until the process ends: one agent per pin directory.
        pinDirectoryLock = try Datapath.lockPinDirectory(options.pinDirectory)
        let datapath = try Datapath.open(
            objectDirectory: options.bpfObjectDirectory, pinDirectory: options.pinDirectory,
            mapMaxEntries: options.mapMaxEntries)
        self.datapath = datapath
        policy.datapath = datapath
        try datapath.setDenyResponse(options.policyDenyResponse)
        try datapath.setAllowedTrafficRecords(options.proxy.recordFlows)
        FlowRedaction.current = options.redaction  // before any worker writes a flow
        try Datapath.installProxyRouting()
        try datapath.attachSkLookup()

        let snapshot = policy.snapshot
        // Endpoints and their veths; entries a previous run pinned for other endpoints go.
        var endpointInfo: [UInt32: sluice_endpoint_info] = [:]
        for endpoint in policy.endpoints {
            endpointInfo[endpoint.ipv4] = sluice_endpoint_info(
                id: endpoint.id, identity: snapshot.identity(ofIPv4: endpoint.ipv4),
                ifindex: UInt32(ifindexes[endpoint.id] ?? 0), flags: 0)
        }
        try datapath.syncEndpoints(endpointInfo)
        // Learned toFQDNs addresses first (from the state file, into the pinned maps an earlier
        // run left), then the full policy install that keeps them; policy maps before programs,
        // so a newly attached program enforces the whole policy from its first packet.
        let writer = try FQDNPolicyWriter(datapath: datapath, snapshot: snapshot, hostIPv4: policy.hostIPv4)
        policy.fqdnWriter = writer
        let fqdn = FQDNService(
            cache: FQDNCache(
                minTTL: options.dns.fqdnMinTTL, maxIPsPerName: options.dns.fqdnMaxIPsPerName,
                maxEntries: options.dns.fqdnMaxEntries),
            datapath: writer, stateFile: options.stateDirectory + "/fqdn.json")
        fqdn.publish(selectors: policy.currentFQDNSelectors)
        try fqdn.start()
        self.fqdn = fqdn
        policy.fqdnService = fqdn
        try policy.installAtStart()
        try attachPrograms(datapath)
        try policy.writeEndpointDirectory(nodeName: options.nodeName)

        let ring = try FlowRing.openForWriting(pinDirectory: options.pinDirectory)
        self.ring = ring
        if !options.export.path.isEmpty {
            let exporter = FlowExporter(
                config: options.export, ring: ring, stateDirectory: options.stateDirectory,
                pinDirectory: options.pinDirectory)
            try exporter.start()
            self.exporter = exporter
        }
        let server = ProxyServer(config: options.proxy)
        try server.start(
            steering: DatapathSteering(datapath), flows: RingSink(ring), snapshot: snapshot,
            dns: options.dns, fqdn: fqdn, recording: flowRecording)
        self.server = server
        // Every worker decides with the new snapshot before the DNS deny cache's entries of the old
        // one go stale (bpf/include/sluice_dns.h).
        policy.publish = { [unowned server] snapshot in
            let taken = server.publishAndWait(snapshot)
            datapath.steeringEpoch.denyPolicyChanged()
            return taken
        }
        if let fd = server.httpListenerFDs.first {
            try datapath.registerProxySocket(Int(SLUICE_SOCK_HTTP.rawValue), fd: fd)
        }
        if let fd = server.dnsUDPListenerFDs.first {
            try datapath.registerProxySocket(Int(SLUICE_SOCK_DNS_UDP.rawValue), fd: fd)
        }
        if let fd = server.dnsTCPListenerFDs.first {
            try datapath.registerProxySocket(Int(SLUICE_SOCK_DNS_TCP.rawValue), fd: fd)
        }
        // The API last: its reconciles go through the workers and the maps like an apply.
        try startKubernetes()
        try control.serve()
    }

    // MARK: control requests

    /// Answers a control request. `documentsJSON`, with an apply, is its documents as sent: they
    /// are stored as they are instead of being encoded again from the node trees.
    func handle(_ request: consuming ControlRequest, documentsJSON: consuming DocumentsJSON? = nil) -> ControlResponse {
        lock.lock()
        defer { lock.unlock() }
        switch request.op {
        case .apply:
            guard let documents = request.documents else {
                policyApplyFailures += 1
                return .failure(
                    "apply: the request carries no parsed documents (use a sluice CLI of the agent's version)")
            }
            let fileName = request.file ?? "<stdin>"
            request.documents = nil
            let response = apply(
                documents: consume documents, documentsJSON: consume documentsJSON, fileName: fileName)
            if !response.ok { policyApplyFailures += 1 }
            return response
        case .delete:
            return delete(request)
        case .get:
            return .success(policy.repository.listing())
        case .status:
            let ports = policy.snapshot.l7Ports.map { $0.description }.joined(separator: "\n")
            var message = "workers: \(options.proxy.workers)\nL7 ports:\n\(ports)"
            if let lastInstall = policy.lastInstall { message += "\n" + lastInstall.description }
            message += kubernetesStatus()
            for line in tlsSecretProblems() { message += "\nerror: " + line }
            return .success(message)
        case .introspect:
            return introspect()
        case .conntrackList:
            return conntrack()
        case .flowsPause:
            return setFlowRecording(paused: true)
        case .flowsResume:
            return setFlowRecording(paused: false)
        case .unknown(let name):
            return .failure("unknown operation \(name)")
        }
    }

    /// Applies a policy file as one transaction: every object in force everywhere (repository,
    /// proxy, maps, stored file) or none, and the error names the file, line and field, or the
    /// step that failed (a full map, say). Warnings follow the result lines.
    ///
    /// The file to store is written first (not yet in place), from `documentsJSON` when the
    /// request came with it (else from the trees, after the parse), and the request's bytes go;
    /// the node trees (5.5 MB for 10,000 rules) go once the documents are parsed: the compile,
    /// the maps and the answer run without them, in the memory they leave (the peak of the
    /// apply, docs/performance.md).
    private func apply(
        documents: consuming [PolicyNode], documentsJSON: consuming DocumentsJSON?, fileName: String
    ) -> ControlResponse {
        let result: PolicyRepository.ApplyResult
        do {
            var pending: PolicyStore.PendingFile?
            if let raw = documentsJSON {
                do {
                    pending = try policy.store.prepare(file: fileName, documentsJSON: raw.bytes[raw.range])
                } catch {
                    throw PolicyTransactionError(fileName: fileName, reasons: ["storing the policy: \(error)"])
                }
            }
            _ = consume documentsJSON
            var transaction = try PolicyTransaction.apply(
                documents: documents, fileName: fileName, repository: policy.repository)
            if let refusal = refuseKubernetesOwned(transaction.change.keys, fileName: fileName) {
                return .failure(refusal)
            }
            if let missing = missingTLSSecret(transaction) {
                return .failure(missing)
            }
            do {
                try transaction.prepareStoredFile(in: policy.store, written: pending)
            } catch {
                throw PolicyTransactionError(fileName: fileName, reasons: ["storing the policy: \(error)"])
            }
            _ = consume documents
            result = try policy.commit(transaction)
        } catch {
            return .failure(String(describing: error))
        }
        var lines = [result.description] + result.warnings.map { "Warning: " + $0 }
        do {
            try policy.writeEndpointDirectory(nodeName: options.nodeName)
        } catch {
            lines.append(
                "Warning: the policy is in force, but the endpoint directory for `sluice observe` "
                    + "was not written: \(error)")
        }
        return .success(lines.joined(separator: "\n"))
    }

    /// The secrets of the policies in force that cannot be used now (`TLSSecretCheck`).
    func tlsSecretProblems() -> [String] {
        TLSSecretCheck.problems(policy.repository.documentsInForce, directory: options.proxy.tlsSecretsDirectory)
    }

    /// The first `terminatingTLS`/`originatingTLS` secret of `transaction` whose files are not in
    /// the secrets directory, as the error `apply` answers; nil when all are there.
    private func missingTLSSecret(_ transaction: PolicyTransaction) -> String? {
        for document in transaction.change.upserts {
            for (context, terminating) in document.tlsContexts {
                let directory = options.proxy.tlsSecretsDirectory
                if let path = TLSContextStore.missingFile(context, terminating: terminating, directory: directory) {
                    return "\(transaction.fileName): \(document.key): secret \"\(context.secretName)\" not found "
                        + "(\(terminating ? "terminatingTLS" : "originatingTLS") needs \(path))"
                }
            }
        }
        return nil
    }

    /// Removes the objects a delete request names as one transaction (kubectl's `delete -f` and
    /// a delete by name): every one leaves the repository, the proxy, the maps and (as a stored
    /// delete) the store, or none does. An object that is not in force is an error that changes
    /// nothing, unless the request says `ignoreNotFound`.
    private func delete(_ request: ControlRequest) -> ControlResponse {
        let fileName = request.file ?? "<delete>"
        let keys: (found: [PolicyKey], missing: [String])
        do {
            keys = try PolicyTransaction.deletionKeys(
                documents: request.documents, fileName: fileName, names: request.names ?? [],
                namespace: request.namespace ?? "default", repository: policy.repository)
        } catch {
            return .failure(String(describing: error))
        }
        if !keys.missing.isEmpty && request.ignoreNotFound != true {
            return .failure(
                (keys.missing + ["nothing deleted, the policy in force is unchanged"]).joined(
                    separator: "\n"))
        }
        guard !keys.found.isEmpty else { return .success("") }
        if let refusal = refuseKubernetesOwned(keys.found, fileName: fileName) {
            return .failure(refusal)
        }
        do {
            _ = try policy.commit(PolicyTransaction.delete(keys: keys.found, fileName: fileName))
        } catch {
            return .failure(String(describing: error))
        }
        var lines = PolicyTransaction.deletedLines(keys.found)
        do {
            try policy.writeEndpointDirectory(nodeName: options.nodeName)
        } catch {
            lines.append("Warning: the endpoint directory for `sluice observe` was not written: \(error)")
        }
        return .success(lines.joined(separator: "\n"))
    }

    /// `sluice_l7_ports` for `snapshot` (`PolicyMaps.l7Entries`).
    static func l7Entries(_ snapshot: PolicySnapshot) -> [sluice_l7_key: sluice_l7_value] {
        PolicyMaps.l7Entries(snapshot)
    }

    // MARK: state

    /// Reads the endpoints file: the endpoints, their host-side interfaces, the API server's
    /// and the node's addresses. Anything it cannot use is an error (an endpoint left out would
    /// go without its policy).
    func loadEndpoints() throws {
        policy.repository.allowLocalhost = options.allowLocalhost
        guard !options.endpointsFile.isEmpty else { return }
        let file = try JSON.decode(SandboxState.self, from: Files.read(options.endpointsFile))
        var endpoints: [EndpointDescriptor] = []
        for e in file.endpoints where options.endpointsFrom == .file {
            guard let ip = IPv4Address(e.ipv4)?.networkOrder else {
                throw AgentStartError(
                    message: "\(options.endpointsFile): endpoint \(e.id) (\(e.namespace)/\(e.pod)) "
                        + "has no IPv4 address but '\(e.ipv4)'")
            }
            let id = UInt32(e.id)
            var namedPorts: [String: UInt16] = [:]
            for port in e.namedPorts { namedPorts[port.name.lowercased()] = port.port }
            endpoints.append(
                EndpointDescriptor(
                    id: id, namespace: e.namespace, podName: e.pod, podLabels: e.podLabels,
                    namespaceLabels: e.namespaceLabels, ipv4: ip, serviceAccount: e.serviceAccount,
                    namedPorts: namedPorts))
            ifindexes[id] = Int32(e.hostIfIndex)
        }
        policy.endpoints = endpoints
        fileEndpoints = endpoints
        policy.repository.kubeAPIServerIPv4 = file.world.filter { $0.kubeAPIServer == true }
            .flatMap { $0.addresses.compactMap { IPv4Address($0)?.networkOrder } }
        if !file.nodeIP.isEmpty {
            let text = file.nodeIP
            guard let ip = IPv4Address(text)?.networkOrder else {
                throw AgentStartError(message: "\(options.endpointsFile): nodeIP '\(text)' is not an IPv4 address")
            }
            policy.hostIPv4 = [ip]
            fileHostIPv4 = [ip]
        }
    }
}
