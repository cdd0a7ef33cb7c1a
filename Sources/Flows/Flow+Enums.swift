import SluiceModel

/// Hubble's enums (flow.proto). Raw values are the protobuf numbers, which are also the values the flow record
/// (`bpf/include/sluice_flow.h`) stores; `name` is the protobuf enum name protojson and the printers use.
extension Flow {
    /// `Verdict`.
    public enum Verdict: UInt8, Sendable, CaseIterable {
        case unknown = 0
        case forwarded = 1
        case dropped = 2
        case error = 3
        case audit = 4
        case redirected = 5
        case traced = 6
        case translated = 7

        /// The protobuf name (`FORWARDED`, `VERDICT_UNKNOWN`...).
        public var name: String {
            switch self {
            case .unknown: "VERDICT_UNKNOWN"
            case .forwarded: "FORWARDED"
            case .dropped: "DROPPED"
            case .error: "ERROR"
            case .audit: "AUDIT"
            case .redirected: "REDIRECTED"
            case .traced: "TRACED"
            case .translated: "TRANSLATED"
            }
        }

        /// The verdict with protobuf name `name` (exact, as Go's `Verdict_value`), or nil.
        public init?(name: String) {
            guard let v = Self.allCases.first(where: { $0.name == name }) else { return nil }
            self = v
        }
    }

    /// `FlowType`.
    public enum FlowType: UInt8, Sendable, CaseIterable {
        case unknown = 0
        case l3L4 = 1
        case l7 = 2
        case sock = 3

        /// The protobuf name (`L3_L4`, `L7`...).
        public var name: String {
            switch self {
            case .unknown: "UNKNOWN_TYPE"
            case .l3L4: "L3_L4"
            case .l7: "L7"
            case .sock: "SOCK"
            }
        }
    }

    /// `TrafficDirection`: SluiceModel's, with its one mapping to the C enum and to Hubble's names.
    public typealias TrafficDirection = SluiceModel.TrafficDirection

    /// `L7FlowType`.
    public enum L7FlowType: UInt8, Sendable, CaseIterable {
        case unknown = 0
        case request = 1
        case response = 2
        case sample = 3

        /// The protobuf name (`REQUEST`, `RESPONSE`...).
        public var name: String {
            switch self {
            case .unknown: "UNKNOWN_L7_TYPE"
            case .request: "REQUEST"
            case .response: "RESPONSE"
            case .sample: "SAMPLE"
            }
        }
    }

    /// `IPVersion`.
    public enum IPVersion: UInt8, Sendable, CaseIterable {
        case notUsed = 0
        case ipv4 = 1
        case ipv6 = 2

        /// The protobuf name (`IPv4`, `IPv6`, `IP_NOT_USED`).
        public var name: String {
            switch self {
            case .notUsed: "IP_NOT_USED"
            case .ipv4: "IPv4"
            case .ipv6: "IPv6"
            }
        }
    }

    /// The application protocol the proxy saw, as stored in the record's `l7_proto`
    /// (`enum sluice_l7_proto`); it decides `l7.http.protocol`.
    public enum L7Protocol: UInt8, Sendable, CaseIterable {
        case none = 0
        case http10 = 1
        case http11 = 2
        case http2 = 3
        case dns = 4

        /// Hubble's `HTTP.protocol` text: "HTTP/1" for 1.0 (Cilium's access log says so), "HTTP/1.1", "HTTP/2".
        public var httpProtocolName: String {
            switch self {
            case .http10: "HTTP/1"
            case .http11: "HTTP/1.1"
            case .http2: "HTTP/2"
            case .none, .dns: ""
            }
        }
    }
}
