/// ICMP type and code text as Hubble's summaries print it: gopacket's `ICMPv4TypeCode.String()` and
/// `ICMPv6TypeCode.String()` (`EchoRequest`, `DestinationUnreachable(Port)`, `TimeExceeded(Code: 7)`, `42(0)`).
enum ICMPNames {
    /// One ICMP type: its name and the names of its codes (nil: the type uses no code).
    private struct TypeInfo {
        var name: String
        var codes: [UInt8: String]?

        init(name: String, codes: [UInt8: String]? = nil) {
            self.name = name
            self.codes = codes
        }
    }

    private static let ipv4: [UInt8: TypeInfo] = [
        0: TypeInfo(name: "EchoReply"),
        3: TypeInfo(
            name: "DestinationUnreachable",
            codes: [
                0: "Net", 1: "Host", 2: "Protocol", 3: "Port", 4: "FragmentationNeeded", 5: "SourceRoutingFailed",
                6: "NetUnknown", 7: "HostUnknown", 8: "SourceIsolated", 9: "NetAdminProhibited",
                10: "HostAdminProhibited",
                11: "NetTOS", 12: "HostTOS", 13: "CommAdminProhibited", 14: "HostPrecedence", 15: "PrecedenceCutoff",
            ]),
        4: TypeInfo(name: "SourceQuench"),
        5: TypeInfo(name: "Redirect", codes: [0: "Net", 1: "Host", 2: "TOS+Net", 3: "TOS+Host"]),
        8: TypeInfo(name: "EchoRequest"),
        9: TypeInfo(name: "RouterAdvertisement"),
        10: TypeInfo(name: "RouterSolicitation"),
        11: TypeInfo(name: "TimeExceeded", codes: [0: "TTLExceeded", 1: "FragmentReassemblyTimeExceeded"]),
        12: TypeInfo(
            name: "ParameterProblem", codes: [0: "PointerIndicatesError", 1: "MissingOption", 2: "BadLength"]),
        13: TypeInfo(name: "TimestampRequest"),
        14: TypeInfo(name: "TimestampReply"),
        15: TypeInfo(name: "InfoRequest"),
        16: TypeInfo(name: "InfoReply"),
        17: TypeInfo(name: "AddressMaskRequest"),
        18: TypeInfo(name: "AddressMaskReply"),
    ]

    private static let ipv6: [UInt8: TypeInfo] = [
        1: TypeInfo(
            name: "DestinationUnreachable",
            codes: [
                0: "NoRouteToDst", 1: "AdminProhibited", 2: "BeyondScopeOfSrc", 3: "AddressUnreachable",
                4: "PortUnreachable", 5: "SrcAddressFailedPolicy", 6: "RejectRouteToDst",
            ]),
        2: TypeInfo(name: "PacketTooBig"),
        3: TypeInfo(name: "TimeExceeded", codes: [0: "HopLimitExceeded", 1: "FragmentReassemblyTimeExceeded"]),
        4: TypeInfo(
            name: "ParameterProblem",
            codes: [
                0: "ErroneousHeaderField", 1: "UnrecognizedNextHeader", 2: "UnrecognizedIPv6Option",
            ]),
        128: TypeInfo(name: "EchoRequest"),
        129: TypeInfo(name: "EchoReply"),
        133: TypeInfo(name: "RouterSolicitation"),
        134: TypeInfo(name: "RouterAdvertisement"),
        135: TypeInfo(name: "NeighborSolicitation"),
        136: TypeInfo(name: "NeighborAdvertisement"),
        137: TypeInfo(name: "Redirect"),
    ]

    static func v4(_ icmp: Flow.ICMP) -> String { text(icmp, ipv4) }
    static func v6(_ icmp: Flow.ICMP) -> String { text(icmp, ipv6) }

    private static func text(_ icmp: Flow.ICMP, _ table: [UInt8: TypeInfo]) -> String {
        guard let info = table[icmp.type] else { return "\(icmp.type)(\(icmp.code))" }
        guard let codes = info.codes else {
            return icmp.code == 0 ? info.name : "\(info.name)(Code: \(icmp.code))"
        }
        guard let code = codes[icmp.code] else { return "\(info.name)(Code: \(icmp.code))" }
        return "\(info.name)(\(code))"
    }
}
