import SluiceModel

/// Hubble's enums (flow.proto). Raw values are the protobuf numbers, which are also the values the flow record
/// (`bpf/include/sluice_flow.h`) stores; `name` is the protobuf enum name protojson and the printers use.
extension Flow {
    /// `Verdict`.
    public enum Verdict: UInt8, Sendable, CaseIterable, ProtoEnum {
        case unknown = 0
        case forwarded = 1
        case dropped = 2
        case error = 3
        case audit = 4
        case redirected = 5
        case traced = 6
        case translated = 7

        /// The protobuf names, in raw-value order.
        public static let protoNames = [
            "VERDICT_UNKNOWN", "FORWARDED", "DROPPED", "ERROR", "AUDIT", "REDIRECTED", "TRACED", "TRANSLATED",
        ]
    }

    /// `FlowType`.
    public enum FlowType: UInt8, Sendable, CaseIterable, ProtoEnum {
        case unknown = 0
        case l3L4 = 1
        case l7 = 2
        case sock = 3

        /// The protobuf names, in raw-value order.
        public static let protoNames = ["UNKNOWN_TYPE", "L3_L4", "L7", "SOCK"]
    }

    /// `TrafficDirection`: SluiceModel's, with its one mapping to the C enum and to Hubble's names.
    public typealias TrafficDirection = SluiceModel.TrafficDirection

    /// `L7FlowType`.
    public enum L7FlowType: UInt8, Sendable, CaseIterable, ProtoEnum {
        case unknown = 0
        case request = 1
        case response = 2
        case sample = 3

        /// The protobuf names, in raw-value order.
        public static let protoNames = ["UNKNOWN_L7_TYPE", "REQUEST", "RESPONSE", "SAMPLE"]
    }

    /// `IPVersion`.
    public enum IPVersion: UInt8, Sendable, CaseIterable, ProtoEnum {
        case notUsed = 0
        case ipv4 = 1
        case ipv6 = 2

        /// The protobuf names, in raw-value order.
        public static let protoNames = ["IP_NOT_USED", "IPv4", "IPv6"]
    }

    /// The application protocol the proxy saw, as stored in the record's `l7_proto`
    /// (`enum sluice_l7_proto`); it decides `l7.http.protocol`.
    public enum L7Protocol: UInt8, Sendable, CaseIterable {
        case none = 0
        case http10 = 1
        case http11 = 2
        case http2 = 3
        case dns = 4
        /// A TLS connection judged by `serverNames` from its ClientHello: written as an HTTP record
        /// whose url is `https://<SNI>` and whose protocol is "TLS" (docs/observability.md).
        case tls = 5

        /// Hubble's `HTTP.protocol` text: "HTTP/1" for 1.0 (Cilium's access log says so), "HTTP/1.1",
        /// "HTTP/2"; "TLS" for Sluice's SNI records.
        public var httpProtocolName: String {
            switch self {
            case .http10: "HTTP/1"
            case .http11: "HTTP/1.1"
            case .http2: "HTTP/2"
            case .tls: "TLS"
            case .none, .dns: ""
            }
        }

        /// The part of the flow record's `l7` union a record of this protocol fills.
        public enum Record: Sendable {
            /// `l7.http`: HTTP/1.0, HTTP/1.1, HTTP/2, and TLS (an HTTP record, see `tls`).
            case http
            /// `l7.dns`.
            case dns
        }

        /// See `Record`; nil for `none`.
        @inlinable
        public var record: Record? {
            switch self {
            case .http10, .http11, .http2, .tls: .http
            case .dns: .dns
            case .none: nil
            }
        }
    }
}

/// A flow.proto enum whose raw values are 0, 1, 2, ...: its protobuf names are one list, the one of
/// raw value n at index n, instead of a switch per enum.
public protocol ProtoEnum: RawRepresentable, CaseIterable where RawValue == UInt8 {
    static var protoNames: [String] { get }
}

extension ProtoEnum {
    /// The protobuf name (`FORWARDED`, `L3_L4`...), as protojson and the printers write it.
    public var name: String { Self.protoNames[Int(rawValue)] }

    /// The case with protobuf name `name` (exact, as Go's `<Enum>_value`), or nil.
    public init?(name: String) {
        guard let index = Self.protoNames.firstIndex(of: name), let value = Self(rawValue: UInt8(index)) else {
            return nil
        }
        self = value
    }
}
