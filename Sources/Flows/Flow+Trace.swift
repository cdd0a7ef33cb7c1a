extension Flow {
    /// flow.proto `TraceObservationPoint`: where a trace event saw the packet. Cilium's monitor sub-type
    /// numbers them differently (`TO_ENDPOINT` is sub-type 0, the proto's 101): `init(subType:)` converts.
    public enum TraceObservationPoint: UInt32, Sendable, CaseIterable {
        case unknown = 0
        case toProxy = 1
        case toHost = 2
        case toStack = 3
        case toOverlay = 4
        case toEndpoint = 101
        case fromEndpoint = 5
        case fromProxy = 6
        case fromHost = 7
        case fromStack = 8
        case fromOverlay = 9
        case fromNetwork = 10
        case toNetwork = 11

        /// The observation point of a trace event's monitor sub-type (Hubble's `decodeTraceObservationPoint`).
        public init(subType: Int32) {
            if subType == 0 {
                self = .toEndpoint
            } else {
                self = UInt32(exactly: subType).flatMap { TraceObservationPoint(rawValue: $0) } ?? .unknown
            }
        }

        /// The protobuf name (`TO_ENDPOINT`, `TO_STACK`...).
        public var name: String {
            switch self {
            case .unknown: "UNKNOWN_POINT"
            case .toProxy: "TO_PROXY"
            case .toHost: "TO_HOST"
            case .toStack: "TO_STACK"
            case .toOverlay: "TO_OVERLAY"
            case .toEndpoint: "TO_ENDPOINT"
            case .fromEndpoint: "FROM_ENDPOINT"
            case .fromProxy: "FROM_PROXY"
            case .fromHost: "FROM_HOST"
            case .fromStack: "FROM_STACK"
            case .fromOverlay: "FROM_OVERLAY"
            case .fromNetwork: "FROM_NETWORK"
            case .toNetwork: "TO_NETWORK"
            }
        }
    }

    /// flow.proto `TraceReason`: the connection-tracking state of a traced packet.
    public enum TraceReason: UInt8, Sendable, CaseIterable, ProtoEnum {
        case unknown = 0
        case new = 1
        case established = 2
        case reply = 3
        case related = 4

        /// The protobuf names, in raw-value order.
        public static let protoNames = ["TRACE_REASON_UNKNOWN", "NEW", "ESTABLISHED", "REPLY", "RELATED"]
    }

    /// Cilium's `policy_match_type` names (pkg/monitor/api `PolicyMatchType.String`), as `hubble observe`
    /// prints them after `policy-verdict:`.
    public static func policyMatchName(_ type: UInt32) -> String {
        switch type {
        case 0: "none"
        case 1: "L3-Only"
        case 2: "L3-L4"
        case 3: "L4-Only"
        case 4: "all"
        case 5: "L3-Proto"
        case 6: "Proto-Only"
        default: String(type)
        }
    }
}
