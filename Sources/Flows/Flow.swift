import SluiceModel

/// One Hubble flow, as `hubble observe` shows it: the Swift value of `flow.Flow` (api/v1/flow/flow.proto)
/// restricted to the fields Sluice fills.
///
/// Values are built by `Flow.decode(_:directory:monotonicToWallOffsetNs:)` from a flow-map record, or by hand in
/// tests. `summary` and `dropReasonDesc` are derived the way Cilium's parsers derive them, so they never disagree
/// with the other fields.
public struct Flow: Sendable, Equatable {
    /// Wall-clock time of the event.
    public var time: Timestamp
    /// `uuid`: the flow's identifier (`FlowUUID`: the same record always gets the same one); empty when unknown.
    public var uuid: String = ""
    /// `emitter`: who produced the flow (Sluice and its version); nil when unknown.
    public var emitter: Emitter?
    /// Hubble verdict.
    public var verdict: Verdict
    /// `drop_reason` (deprecated in flow.proto but still filled): the numeric drop reason, 0 when none.
    public var dropReason: UInt32
    /// `IP` block; nil when the event carried no IP header.
    public var ip: IP?
    /// `l4` block; nil when the protocol is neither TCP nor UDP.
    public var l4: Layer4?
    /// `source` endpoint.
    public var source: FlowEndpoint?
    /// `destination` endpoint.
    public var destination: FlowEndpoint?
    /// `Type`: L3_L4 or L7.
    public var type: FlowType
    /// `node_name`.
    public var nodeName: String
    /// `source_names` / `destination_names`: the DNS names the node's DNS proxy saw answered with
    /// that side's address (toFQDNs-learned names), for peers that are not local endpoints.
    public var sourceNames: [String] = []
    public var destinationNames: [String] = []
    /// `l7` block (HTTP or DNS), present on L7 flows.
    public var l7: Layer7?
    /// `event_type` (monitor message type and sub-type).
    public var eventType: EventType
    /// `traffic_direction`.
    public var trafficDirection: TrafficDirection
    /// `policy_match_type` (policy-verdict events): which kind of policy entry decided (`Flow.policyMatchName`).
    public var policyMatchType: UInt32 = 0
    /// `trace_observation_point` (trace events only; nil otherwise).
    public var traceObservationPoint: TraceObservationPoint?
    /// `trace_reason` (trace events): the connection-tracking state of the packet.
    public var traceReason: TraceReason = .unknown
    /// `is_reply`: nil when unknown (drops), as Hubble's `BoolValue`.
    public var isReply: Bool?
    /// `egress_allowed_by`, `ingress_allowed_by`, `egress_denied_by`, `ingress_denied_by`: the
    /// policy whose rule decided. Hubble fills them on policy-verdict and drop events; Sluice also
    /// on L7 request flows, for the side (`traffic_direction`) that flow records.
    public var egressAllowedBy: [Policy] = []
    public var ingressAllowedBy: [Policy] = []
    public var egressDeniedBy: [Policy] = []
    public var ingressDeniedBy: [Policy] = []
    /// HTTP request flows written by the proxy: why the side decided and the header actions of
    /// the matching rule (`Flow.L7Verdict`; not a Hubble field, not in `-o json`). nil elsewhere.
    public var l7Verdict: L7Verdict?

    /// Creates a flow; every field has the protobuf zero value by default.
    public init(
        time: Timestamp = Timestamp(), verdict: Verdict = .unknown, dropReason: UInt32 = 0, ip: IP? = nil,
        l4: Layer4? = nil, source: FlowEndpoint? = nil, destination: FlowEndpoint? = nil, type: FlowType = .unknown,
        nodeName: String = "", l7: Layer7? = nil, eventType: EventType = EventType(),
        trafficDirection: TrafficDirection = .unknown, isReply: Bool? = nil
    ) {
        self.time = time
        self.verdict = verdict
        self.dropReason = dropReason
        self.ip = ip
        self.l4 = l4
        self.source = source
        self.destination = destination
        self.type = type
        self.nodeName = nodeName
        self.l7 = l7
        self.eventType = eventType
        self.trafficDirection = trafficDirection
        self.isReply = isReply
    }

    /// `drop_reason_desc`: the Hubble `DropReason` enum value of `dropReason`.
    public var dropReasonDesc: DropReason { DropReason(rawValue: dropReason) }
}

extension Flow {
    /// `Emitter`: the name and version of the component that produced the flow.
    public struct Emitter: Sendable, Equatable {
        public var name: String
        public var version: String

        public init(name: String, version: String) {
            self.name = name
            self.version = version
        }

        /// Sluice itself.
        public static let sluice = Emitter(name: "Sluice", version: SluiceVersion.current)
    }

    /// flow.proto `Policy`: a policy object named in `*_allowed_by` / `*_denied_by`.
    public struct Policy: Sendable, Equatable {
        public var name: String
        public var namespace: String
        /// Cilium's policy labels: `k8s:io.cilium.k8s.policy.derived-from=KIND`, `...name=`,
        /// `...namespace=` (the last one only for namespaced objects).
        public var labels: [String]
        /// `CiliumNetworkPolicy`, `CiliumClusterwideNetworkPolicy`, `NetworkPolicy`.
        public var kind: String

        /// Creates the block; `labels` default to Cilium's derived policy labels.
        public init(name: String, namespace: String, kind: String, labels: [String]? = nil) {
            self.name = name
            self.namespace = namespace
            self.kind = kind
            self.labels =
                labels
                ?? ([
                    "k8s:io.cilium.k8s.policy.derived-from=\(kind)",
                    "k8s:io.cilium.k8s.policy.name=\(name)",
                ]
                    + (namespace.isEmpty ? [] : ["k8s:io.cilium.k8s.policy.namespace=\(namespace)"]))
        }
    }
}

extension Flow {
    /// A protobuf `Timestamp`: seconds and nanoseconds since the Unix epoch (UTC).
    public struct Timestamp: Sendable, Equatable, Hashable, Comparable {
        /// Whole seconds since 1970-01-01T00:00:00Z.
        public var seconds: Int64
        /// Nanoseconds within the second, 0 ..< 1_000_000_000.
        public var nanos: Int32

        /// Creates a timestamp from its two parts.
        public init(seconds: Int64 = 0, nanos: Int32 = 0) {
            self.seconds = seconds
            self.nanos = nanos
        }

        /// Creates a timestamp from nanoseconds since the epoch (negative values are floored correctly).
        public init(nanosecondsSinceEpoch ns: Int64) {
            let (q, r) = ns.quotientAndRemainder(dividingBy: 1_000_000_000)
            if r < 0 {
                self.init(seconds: q - 1, nanos: Int32(r + 1_000_000_000))
            } else {
                self.init(seconds: q, nanos: Int32(r))
            }
        }

        public static func < (a: Timestamp, b: Timestamp) -> Bool {
            (a.seconds, a.nanos) < (b.seconds, b.nanos)
        }
    }

    /// The `IP` block.
    public struct IP: Sendable, Equatable {
        /// Source address in its usual text form.
        public var source: String
        /// Destination address in its usual text form.
        public var destination: String
        /// `ipVersion`.
        public var ipVersion: IPVersion

        /// Creates the block.
        public init(source: String, destination: String, ipVersion: IPVersion) {
            self.source = source
            self.destination = destination
            self.ipVersion = ipVersion
        }
    }

    /// `event_type`: the Cilium monitor message type (`type`) and sub-type (`sub_type`).
    public struct EventType: Sendable, Equatable {
        /// Monitor message type: 1 drop, 4 trace, 5 policy verdict, 129 L7 (access log).
        public var type: Int32
        /// Sub-type: the drop reason for drops, the observation point for traces, 0 otherwise.
        public var subType: Int32

        /// Creates the block.
        public init(type: Int32 = 0, subType: Int32 = 0) {
            self.type = type
            self.subType = subType
        }

        /// Monitor message type of drop notifications.
        public static let drop: Int32 = 1
        /// Monitor message type of debug notifications.
        public static let debug: Int32 = 2
        /// Monitor message type of debug captures.
        public static let capture: Int32 = 3
        /// Monitor message type of trace notifications.
        public static let trace: Int32 = 4
        /// Monitor message type of policy verdict notifications.
        public static let policyVerdict: Int32 = 5
        /// Monitor message type of socket traces.
        public static let traceSock: Int32 = 7
        /// Monitor message type of L7 access-log records.
        public static let l7: Int32 = 129
        /// Monitor message type of agent notifications.
        public static let agent: Int32 = 130
    }
}
