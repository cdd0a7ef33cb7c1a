/// Hubble's `DropReason` (flow.proto) for a numeric drop reason: the enum `name` protojson prints in
/// `drop_reason_desc`, and the `text` the compact printer shows as the flow type (cilium `monitor/api/drop.go`).
///
/// Unknown numbers keep their value: protojson prints an unknown enum as its number and the monitor text falls
/// back to the decimal number, exactly as Go does.
public struct DropReason: RawRepresentable, Sendable, Hashable {
    /// The numeric reason (`drop_reason`, and `event_type.sub_type` of drop events).
    public var rawValue: UInt32

    /// Wraps a number.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The reason whose protobuf name is `name` (as Go's `DropReason_value`), or nil.
    public init?(name: String) {
        if name == "DROP_REASON_UNKNOWN" {
            self.init(rawValue: 0)
            return
        }
        guard let index = Self.names.firstIndex(of: name) else { return nil }
        self.init(rawValue: Self.firstNamed + UInt32(index))
    }

    /// `INVALID_SOURCE_IP` (132): the source address is not the sending endpoint's.
    public static let invalidSourceIP = DropReason(rawValue: 132)
    /// `POLICY_DENIED` (133): default deny.
    public static let policyDenied = DropReason(rawValue: 133)
    /// `INVALID_PACKET_DROPPED` (134): truncated or malformed headers.
    public static let invalidPacket = DropReason(rawValue: 134)
    /// `UNSUPPORTED_L3_PROTOCOL` (139): a frame that is neither IP nor ARP.
    public static let unsupportedL3Protocol = DropReason(rawValue: 139)
    /// `FIRST_LOGICAL_DATAGRAM_FRAGMENT_NOT_FOUND` (175): a later fragment whose first was not seen.
    public static let fragmentNotFound = DropReason(rawValue: 175)
    /// `SOCKET_LOOKUP_FAILED` (178).
    public static let socketLookupFailed = DropReason(rawValue: 178)
    /// `PROXY_REDIRECTION_NOT_SUPPORTED_FOR_PROTOCOL` (180).
    public static let proxyRedirectionNotSupported = DropReason(rawValue: 180)
    /// `POLICY_DENY` (181): explicit deny (ingressDeny / egressDeny).
    public static let policyDeny = DropReason(rawValue: 181)
    /// `AUTH_REQUIRED` (189).
    public static let authRequired = DropReason(rawValue: 189)

    /// The protobuf enum name, or nil when flow.proto has no value with this number.
    public var name: String? {
        if rawValue == 0 { return "DROP_REASON_UNKNOWN" }
        guard rawValue >= Self.firstNamed, rawValue - Self.firstNamed < UInt32(Self.names.count) else { return nil }
        let name = Self.names[Int(rawValue - Self.firstNamed)]
        return name.isEmpty ? nil : name
    }

    /// The monitor's human text (`Policy denied`), or the decimal number when it has none.
    public var text: String {
        Self.texts.first(where: { $0.0 == rawValue })?.1 ?? "\(rawValue)"
    }

    private static let firstNamed: UInt32 = 130

    /// flow.proto `DropReason` names for 130, 131, ...; "" marks a number flow.proto skips (159).
    private static let names: [String] = [
        "INVALID_SOURCE_MAC", "INVALID_DESTINATION_MAC", "INVALID_SOURCE_IP", "POLICY_DENIED",
        "INVALID_PACKET_DROPPED", "CT_TRUNCATED_OR_INVALID_HEADER", "CT_MISSING_TCP_ACK_FLAG",
        "CT_UNKNOWN_L4_PROTOCOL", "CT_CANNOT_CREATE_ENTRY_FROM_PACKET", "UNSUPPORTED_L3_PROTOCOL",
        "MISSED_TAIL_CALL", "ERROR_WRITING_TO_PACKET", "UNKNOWN_L4_PROTOCOL", "UNKNOWN_ICMPV4_CODE",
        "UNKNOWN_ICMPV4_TYPE", "UNKNOWN_ICMPV6_CODE", "UNKNOWN_ICMPV6_TYPE", "ERROR_RETRIEVING_TUNNEL_KEY",
        "ERROR_RETRIEVING_TUNNEL_OPTIONS", "INVALID_GENEVE_OPTION", "UNKNOWN_L3_TARGET_ADDRESS",
        "STALE_OR_UNROUTABLE_IP", "NO_MATCHING_LOCAL_CONTAINER_FOUND", "ERROR_WHILE_CORRECTING_L3_CHECKSUM",
        "ERROR_WHILE_CORRECTING_L4_CHECKSUM", "CT_MAP_INSERTION_FAILED", "INVALID_IPV6_EXTENSION_HEADER",
        "IP_FRAGMENTATION_NOT_SUPPORTED", "SERVICE_BACKEND_NOT_FOUND", "",
        "NO_TUNNEL_OR_ENCAPSULATION_ENDPOINT", "FAILED_TO_INSERT_INTO_PROXYMAP",
        "REACHED_EDT_RATE_LIMITING_DROP_HORIZON", "UNKNOWN_CONNECTION_TRACKING_STATE", "LOCAL_HOST_IS_UNREACHABLE",
        "NO_CONFIGURATION_AVAILABLE_TO_PERFORM_POLICY_DECISION", "UNSUPPORTED_L2_PROTOCOL",
        "NO_MAPPING_FOR_NAT_MASQUERADE", "UNSUPPORTED_PROTOCOL_FOR_NAT_MASQUERADE", "FIB_LOOKUP_FAILED",
        "ENCAPSULATION_TRAFFIC_IS_PROHIBITED", "INVALID_IDENTITY", "UNKNOWN_SENDER", "NAT_NOT_NEEDED",
        "IS_A_CLUSTERIP", "FIRST_LOGICAL_DATAGRAM_FRAGMENT_NOT_FOUND", "FORBIDDEN_ICMPV6_MESSAGE",
        "DENIED_BY_LB_SRC_RANGE_CHECK", "SOCKET_LOOKUP_FAILED", "SOCKET_ASSIGN_FAILED",
        "PROXY_REDIRECTION_NOT_SUPPORTED_FOR_PROTOCOL", "POLICY_DENY", "VLAN_FILTERED", "INVALID_VNI",
        "INVALID_TC_BUFFER", "NO_SID", "MISSING_SRV6_STATE", "NAT46", "NAT64", "AUTH_REQUIRED", "CT_NO_MAP_FOUND",
        "SNAT_NO_MAP_FOUND", "INVALID_CLUSTER_ID", "UNSUPPORTED_PROTOCOL_FOR_DSR_ENCAP", "NO_EGRESS_GATEWAY",
        "UNENCRYPTED_TRAFFIC", "TTL_EXCEEDED", "NO_NODE_ID", "DROP_RATE_LIMITED",
    ]

    /// Monitor texts (cilium `pkg/monitor/api/drop.go`) for the reasons a Sluice node can produce or print.
    private static let texts: [(UInt32, String)] = [
        (132, "Invalid source ip"), (133, "Policy denied"), (134, "Invalid packet"), (139, "Unsupported L3 protocol"),
        (150, "Unknown L3 target address"), (151, "Stale or unroutable IP"), (158, "Service backend not found"),
        (162, "Reached EDT rate-limiting drop horizon"), (163, "Unknown connection tracking state"),
        (164, "Local host is unreachable"), (166, "Unsupported L2 protocol"), (167, "No mapping for NAT masquerade"),
        (168, "Unsupported protocol for NAT masquerade"), (169, "FIB lookup failed"),
        (170, "Encapsulation traffic is prohibited"), (171, "Invalid identity"), (172, "Unknown sender"),
        (173, "NAT not needed"), (174, "Is a ClusterIP"), (175, "First logical datagram fragment not found"),
        (176, "Forbidden ICMPv6 message"), (177, "Denied by LB src range check"), (178, "Socket lookup failed"),
        (179, "Socket assign failed"), (180, "Proxy redirection not supported for protocol"),
        (181, "Policy denied by denylist"), (182, "VLAN traffic disallowed by VLAN filter"),
        (183, "Incorrect VNI from VTEP"), (184, "Failed to update or lookup TC buffer"),
        (185, "No SID was found for the IP address"), (186, "SRv6 state was removed during tail call"),
        (187, "L3 translation from IPv4 to IPv6 failed (NAT46)"),
        (188, "L3 translation from IPv6 to IPv4 failed (NAT64)"),
        (189, "Authentication required"), (190, "No conntrack map found"), (191, "No nat map found"),
        (192, "Invalid ClusterID"), (193, "Unsupported packet protocol for DSR encapsulation"),
        (194, "No egress gateway found"), (195, "Traffic is unencrypted"), (196, "TTL exceeded"),
        (197, "No node ID found"), (198, "Rate limited"),
    ]
}
