import Flows

/// What `sluice status`, `sluice endpoint list` and `sluice identity list` show: the agent's state in
/// one JSON answer to the control operation `.introspect` (read-only; the CLI formats it).
public struct AgentIntrospection: Codable, Sendable, Equatable {
    /// An endpoint as `sluice endpoint list` shows it: the entry of `endpoints.json`
    /// (`EndpointDirectory.Endpoint`: ID, pod, address, identity and its labels, sorted) and what
    /// the agent adds. Its fields read as the entry's (`e.pod`, `e.labels`).
    @dynamicMemberLookup
    public struct Endpoint: Codable, Sendable, Equatable {
        public var endpoint: EndpointDirectory.Endpoint
        /// cilium-dbg's enforcement words: `Enabled` when a policy selects the endpoint in that
        /// direction (unmatched traffic is dropped), `Disabled` otherwise.
        public var ingressEnforcement: String
        public var egressEnforcement: String
        /// Whether the tc programs are attached to its host-side interface.
        public var attached: Bool

        public init(
            _ endpoint: EndpointDirectory.Endpoint, ingressEnforcement: String, egressEnforcement: String,
            attached: Bool
        ) {
            self.endpoint = endpoint
            self.ingressEnforcement = ingressEnforcement
            self.egressEnforcement = egressEnforcement
            self.attached = attached
        }

        private enum CodingKeys: String, CodingKey {
            case ingressEnforcement, egressEnforcement, attached
        }

        /// One flat JSON object (the entry's keys and these), as `sluice endpoint list -o json` prints it.
        public init(from decoder: any Decoder) throws {
            endpoint = try EndpointDirectory.Endpoint(from: decoder)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            ingressEnforcement = try c.decode(String.self, forKey: .ingressEnforcement)
            egressEnforcement = try c.decode(String.self, forKey: .egressEnforcement)
            attached = try c.decode(Bool.self, forKey: .attached)
        }

        public func encode(to encoder: any Encoder) throws {
            try endpoint.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(ingressEnforcement, forKey: .ingressEnforcement)
            try c.encode(egressEnforcement, forKey: .egressEnforcement)
            try c.encode(attached, forKey: .attached)
        }

        public subscript<T>(dynamicMember field: KeyPath<EndpointDirectory.Endpoint, T>) -> T {
            endpoint[keyPath: field]
        }
    }

    /// An identity and its labels, sorted: the entry of `endpoints.json`.
    public typealias Identity = EndpointDirectory.Identity

    public var version: String
    public var uptimeSeconds: UInt64
    public var nodeName: String
    public var datapathAttached: Bool
    public var endpoints: [Endpoint]
    public var identities: [Identity]
    /// Policies in force, `Kind namespace/name`.
    public var policies: [String]
    public var l7Ports: [String]
    public var proxyWorkers: Int
    public var flowsSeen: UInt64
    public var flowRingSize: UInt64
    /// `listening on 127.0.0.1:port (udp, tcp)`, or `not running`.
    public var dnsProxy: String
    /// The last policy install's timing line, or nil before the first one.
    public var lastApply: String?
    /// Descriptors, connections and the control socket (nil from an agent that predates it).
    public var process: Process?
    /// The Kubernetes API source (nil without one, or from an agent that predates it).
    public var kubernetes: KubernetesStatus?
    /// One line per TLS secret of the policies in force that cannot be used now (missing or
    /// not loading; docs/policy.md "Secrets that go missing"); nil from an agent that predates it.
    public var tlsSecretErrors: [String]?
    /// Policy applies the agent refused or could not install since it started (the observer's
    /// `sluice_policy_applies_total{result="error"}`; nil from an agent that predates it).
    public var policyApplyFailures: UInt64?
    /// Time from the DNS proxy handing an upstream answer to the FQDN learner until its addresses
    /// are in the datapath, before the answer is released (`FQDNService`; the observer's
    /// `sluice_dns_answer_to_datapath_seconds`). nil without a DNS proxy or from an older agent.
    public var dnsAnswerToDatapath: LatencyHistogram?
    /// Flow recording is paused (`sluice flows pause`); nil or false when it records (or runs
    /// with `--no-flows`), and from an agent that predates the switch.
    public var flowsPaused: Bool?

    /// A latency histogram a process keeps and the observer exports as it is.
    public struct LatencyHistogram: Codable, Equatable, Sendable {
        /// Upper bounds in seconds, ascending (`+Inf` implied).
        public var boundsSeconds: [Double]
        /// Observations per bucket (not cumulative); one more than `boundsSeconds` (the `+Inf` one).
        public var counts: [UInt64]
        public var sumSeconds: Double
        public var count: UInt64

        /// The bounds of the DNS-answer-to-datapath delay: 50 µs ... 1 s.
        public static let dnsBounds: [Double] = [
            0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
        ]

        public init(boundsSeconds: [Double]) {
            self.boundsSeconds = boundsSeconds
            counts = Array(repeating: 0, count: boundsSeconds.count + 1)
            sumSeconds = 0
            count = 0
        }

        /// Counts one observation of `ns` nanoseconds.
        public mutating func observe(ns: UInt64) {
            let seconds = Double(ns) / 1e9
            var i = 0
            while i < boundsSeconds.count, seconds > boundsSeconds[i] { i += 1 }
            counts[i] &+= 1
            sumSeconds += seconds
            count &+= 1
        }
    }

    /// What the agent does about its limits: open files against RLIMIT_NOFILE, connections
    /// against the cap, the listeners' pauses, and the control socket's refusals and timeouts.
    public struct Process: Codable, Equatable, Sendable {
        public var openFiles: Int
        public var openFileLimit: UInt64
        public var openConnections: Int
        public var connectionCap: Int
        /// Times a listener stopped accepting at the cap, on EMFILE/ENFILE, on another error.
        public var capPauses: Int
        public var fileLimitPauses: Int
        public var acceptErrorPauses: Int
        /// Listeners out of their loop now (they come back once there is room).
        public var pausedListeners: Int
        public var controlAnswered: Int
        /// Control clients refused for their credentials, and closed for sending too slowly.
        public var controlRefused: Int
        public var controlTimedOut: Int

        public init(
            openFiles: Int, openFileLimit: UInt64, openConnections: Int, connectionCap: Int, capPauses: Int,
            fileLimitPauses: Int, acceptErrorPauses: Int, pausedListeners: Int, controlAnswered: Int,
            controlRefused: Int, controlTimedOut: Int
        ) {
            self.openFiles = openFiles
            self.openFileLimit = openFileLimit
            self.openConnections = openConnections
            self.connectionCap = connectionCap
            self.capPauses = capPauses
            self.fileLimitPauses = fileLimitPauses
            self.acceptErrorPauses = acceptErrorPauses
            self.pausedListeners = pausedListeners
            self.controlAnswered = controlAnswered
            self.controlRefused = controlRefused
            self.controlTimedOut = controlTimedOut
        }
    }

    public init(
        version: String, uptimeSeconds: UInt64, nodeName: String, datapathAttached: Bool, endpoints: [Endpoint],
        identities: [Identity], policies: [String], l7Ports: [String], proxyWorkers: Int, flowsSeen: UInt64,
        flowRingSize: UInt64, dnsProxy: String, lastApply: String?, process: Process? = nil,
        kubernetes: KubernetesStatus? = nil
    ) {
        self.version = version
        self.uptimeSeconds = uptimeSeconds
        self.nodeName = nodeName
        self.datapathAttached = datapathAttached
        self.endpoints = endpoints
        self.identities = identities
        self.policies = policies
        self.l7Ports = l7Ports
        self.proxyWorkers = proxyWorkers
        self.flowsSeen = flowsSeen
        self.flowRingSize = flowRingSize
        self.dnsProxy = dnsProxy
        self.lastApply = lastApply
        self.process = process
        self.kubernetes = kubernetes
    }
}
