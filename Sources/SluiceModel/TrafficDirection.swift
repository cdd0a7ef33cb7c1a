internal import CSluiceShared

/// Traffic direction from the point of view of the endpoint whose policy applies, as Cilium and
/// Hubble use it (`traffic_direction`). Raw values are `enum sluice_direction` of
/// bpf/include/sluice_flow.h (TrafficDirectionTests holds them equal) and Hubble's
/// `TrafficDirection` protobuf numbers. Interpolated, a value prints its case name (`ingress`);
/// `name` is Hubble's.
public enum TrafficDirection: UInt8, Sendable, Hashable, CaseIterable {
    case unknown = 0
    /// Toward the selected endpoint.
    case ingress = 1
    /// From the selected endpoint.
    case egress = 2

    /// The direction of a C `enum sluice_direction` byte (`sluice_flow.direction`, map keys);
    /// unknown values are `.unknown`.
    public init(c value: UInt8) {
        switch UInt32(value) {
        case SLUICE_DIR_INGRESS.rawValue: self = .ingress
        case SLUICE_DIR_EGRESS.rawValue: self = .egress
        default: self = .unknown
        }
    }

    /// The C `enum sluice_direction` byte.
    public var cValue: UInt8 {
        switch self {
        case .unknown: return UInt8(SLUICE_DIR_UNKNOWN.rawValue)
        case .ingress: return UInt8(SLUICE_DIR_INGRESS.rawValue)
        case .egress: return UInt8(SLUICE_DIR_EGRESS.rawValue)
        }
    }

    /// The Hubble protobuf name: `INGRESS`, `EGRESS`, `TRAFFIC_DIRECTION_UNKNOWN`.
    public var name: String {
        switch self {
        case .unknown: return "TRAFFIC_DIRECTION_UNKNOWN"
        case .ingress: return "INGRESS"
        case .egress: return "EGRESS"
        }
    }

    /// The direction of a Hubble protobuf name; nil for any other text.
    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }
}
