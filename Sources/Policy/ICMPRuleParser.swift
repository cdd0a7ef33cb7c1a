/// `icmps: [{fields: [{type, family}]}]` in CNP/CCNP rules (Cilium pkg/policy/api/icmp.go and
/// rule_validation.go, with Cilium's messages). Each field becomes a port entry
/// {ICMP type, ICMP | ICMPv6}: it turns default deny on like `toPorts` and ANDs with the rule's
/// L3 selectors. The checks run in Cilium's order: type names while decoding, then (the caller)
/// `icmps` with `toPorts`, then `verify`: at most 40 fields, families.
enum ICMPRuleParser {
    /// At most this many fields in one `icmps` item (Cilium maxICMPFields).
    static let maxFields = 40

    /// One parsed `icmps` item, kept with its YAML for `verify`.
    struct Rule {
        var value: YAMLValue
        var fields: [(type: UInt8, family: String, value: YAMLValue)]

        /// The port entries: the type with protocol ICMP, or ICMPv6 when the family says IPv6.
        var ports: [PortProtocol] {
            fields.map { field in
                PortProtocol(
                    port: .number(UInt16(field.type)), endPort: nil,
                    proto: field.family == ICMPRuleParser.ipv6 ? .icmpv6 : .icmp)
            }
        }
    }

    static let ipv4 = "IPv4"
    static let ipv6 = "IPv6"

    /// Cilium's ICMPv4 type names (icmpIpv4TypeNameToCode). `ExtendedEchoReply` is accepted
    /// here although Cilium's CRD pattern misspells it (cilium-hardening.md 1).
    static let ipv4Names: [String: UInt8] = [
        "EchoReply": 0, "DestinationUnreachable": 3, "Redirect": 5, "Echo": 8, "EchoRequest": 8,
        "RouterAdvertisement": 9, "RouterSelection": 10, "TimeExceeded": 11, "ParameterProblem": 12,
        "Timestamp": 13, "TimestampReply": 14, "Photuris": 40, "ExtendedEchoRequest": 42, "ExtendedEchoReply": 43,
    ]

    /// Cilium's ICMPv6 type names (icmpIpv6TypeNameToCode).
    static let ipv6Names: [String: UInt8] = [
        "DestinationUnreachable": 1, "PacketTooBig": 2, "TimeExceeded": 3, "ParameterProblem": 4,
        "EchoRequest": 128, "EchoReply": 129, "MulticastListenerQuery": 130, "MulticastListenerReport": 131,
        "MulticastListenerDone": 132, "RouterSolicitation": 133, "RouterAdvertisement": 134,
        "NeighborSolicitation": 135, "NeighborAdvertisement": 136, "RedirectMessage": 137,
        "RouterRenumbering": 138, "ICMPNodeInformationQuery": 139, "ICMPNodeInformationResponse": 140,
        "InverseNeighborDiscoverySolicitation": 141, "InverseNeighborDiscoveryAdvertisement": 142,
        "HomeAgentAddressDiscoveryRequest": 144, "HomeAgentAddressDiscoveryReply": 145,
        "MobilePrefixSolicitation": 146, "MobilePrefixAdvertisement": 147,
        "DuplicateAddressRequestCodeSuffix": 157, "DuplicateAddressConfirmationCodeSuffix": 158,
        "ExtendedEchoRequest": 160, "ExtendedEchoReply": 161,
    ]

    /// Decodes the `icmps` list: every field's type, a number 0-255 or a name of its family (an
    /// unknown name: "ICMP type X not found in F", F as written, empty when omitted).
    static func parse(_ value: YAMLValue) throws(LoadError) -> [Rule] {
        var rules: [Rule] = []
        for item in try value.sequence() {
            let mapping = try item.mapping(allowing: ["fields"])
            var fields: [(type: UInt8, family: String, value: YAMLValue)] = []
            for fieldValue in try mapping["fields"]?.sequence() ?? [] {
                let field = try fieldValue.mapping(allowing: ["type", "family"])
                let family = try field["family"]?.string() ?? ""
                let typeValue = try field.required("type")
                fields.append((try type(typeValue, family: family), family, fieldValue))
            }
            rules.append(Rule(value: item, fields: fields))
        }
        return rules
    }

    /// Cilium's ICMPRule.verify: the field count, then each family (IPv4, IPv6 or omitted).
    static func verify(_ rules: [Rule]) throws(LoadError) {
        for rule in rules {
            if rule.fields.count > maxFields {
                let fieldsValue = (try? rule.value.mapping(allowing: ["fields"]))?["fields"] ?? rule.value
                throw fieldsValue.error("too many types, the max is \(maxFields)")
            }
            for field in rule.fields where field.family != ipv4 && field.family != ipv6 && !field.family.isEmpty {
                let familyValue = (try? field.value.mapping(allowing: ["type", "family"]))?["family"] ?? field.value
                throw familyValue.error("wrong family: \(field.family)")
            }
        }
    }

    /// One field's type: a decimal 0-255, or a CamelCase name looked up in the family's table
    /// (IPv6 for "IPv6", else IPv4, as Cilium's UnmarshalJSON does).
    private static func type(_ value: YAMLValue, family: String) throws(LoadError) -> UInt8 {
        let text = try value.string()
        if !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            guard text.utf8.count <= 3, let number = UInt8(text) else {
                throw value.error("ICMP type \(text) is out of range: it must be 0-255 or a type name")
            }
            return number
        }
        let names = family == ipv6 ? ipv6Names : ipv4Names
        guard let number = names[text] else {
            throw value.error("ICMP type \(text) not found in \(family)")
        }
        return number
    }
}
