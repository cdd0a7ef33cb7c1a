/// Parses and validates `toPorts[]` entries with Cilium's rules (pkg/policy/api/rule_validation.go
/// PortRule.sanitize, PortProtocol.sanitize); messages are Cilium's where it has one.
enum PortRuleParser {
    /// At most this many ports in one `ports` list (Cilium maxPorts).
    static let maxPorts = 40
    /// Largest port range Sluice expands for L7 redirection (one steering entry per port).
    static let maxL7RangePorts = 1024

    private static let unsupported: Set<String> = ["listener"]
    private static let tlsFields: Set<String> = ["terminatingTLS", "originatingTLS"]

    /// Parses one `toPorts[]` entry. Deny rules take only `ports`.
    static func parse(_ value: YAMLValue, direction: Direction, isDeny: Bool) throws(LoadError) -> PortRule {
        let allowed: Set<String> =
            isDeny ? ["ports"] : Set(["ports", "rules", "serverNames"]).union(unsupported).union(tlsFields)
        let mapping = try value.mapping(allowing: allowed)
        for key in unsupported.sorted() {
            if let field = mapping.entries[key] {
                throw field.error("\"\(key)\" is not supported by Sluice yet")
            }
        }
        let portsValue = mapping["ports"]
        let portItems = try portsValue?.sequence() ?? []
        if portItems.count > maxPorts, let portsValue {
            throw portsValue.error("too many ports, the max is \(maxPorts)")
        }
        let rulesValue = mapping["rules"]
        let rules =
            try rulesValue.map { rulesValue throws(LoadError) in
                try L7RuleParser.parse(rulesValue, direction: direction)
            } ?? .none
        let serverNames = try parseServerNames(mapping, hasL7Rules: rules.kind != nil)
        let isDNS = rules.kind == .dns
        var ports: [PortProtocol] = []
        for item in portItems {
            let port = try parsePort(item, hasDNSRules: isDNS)
            if rules.kind != nil { try checkL7(port, item: item, what: "L7 rules", tcpOnly: rules.kind == .http) }
            ports.append(port)
        }
        if isDNS && ports.isEmpty, let rulesValue {
            throw rulesValue.error("Port 53 must be specified for DNS rules")
        }
        if !serverNames.isEmpty {
            // The proxy reads SNI on TCP connections (ANY covers TCP); the same port checks as L7.
            for (port, item) in zip(ports, portItems) {
                try checkL7(port, item: item, what: "serverNames", tcpOnly: port.proto != .any)
            }
        }
        var rule = PortRule(ports: ports, rules: rules, serverNames: serverNames)
        rule.terminatingTLS = try mapping["terminatingTLS"].map { v throws(LoadError) in try TLSContext.parse(v) }
        rule.originatingTLS = try mapping["originatingTLS"].map { v throws(LoadError) in try TLSContext.parse(v) }
        if rule.interception != nil {
            // Interception puts the port under the HTTP proxy: TCP only, as HTTP rules.
            if rules.kind == .dns, let rulesValue {
                throw rulesValue.error("DNS rules can not be used with terminatingTLS or originatingTLS")
            }
            for (port, item) in zip(ports, portItems) {
                try checkL7(port, item: item, what: "terminatingTLS/originatingTLS", tcpOnly: port.proto != .any)
            }
        }
        return rule
    }

    /// `serverNames` as Cilium validates it (PortRule.Validate): none with L7 rules unless
    /// `terminatingTLS` is set, no empty entry; then each entry compiles to a `ServerNamePattern`.
    static func parseServerNames(_ mapping: YAMLMapping, hasL7Rules: Bool) throws(LoadError) -> [ServerNamePattern] {
        guard let field = mapping.entries["serverNames"] else { return [] }
        let items = try field.sequence()
        if items.isEmpty { return [] }
        if hasL7Rules && !mapping.has("terminatingTLS") {
            throw field.error("ServerNames are not allowed with L7 rules without TLS termination")
        }
        var patterns: [ServerNamePattern] = []
        for item in items {
            let text = try item.string()
            let result = Result { () throws(ServerNamePattern.SyntaxError) in try ServerNamePattern(text) }
            switch result {
            case .success(let pattern):
                patterns.append(pattern)
            case .failure(.empty):
                throw item.error(ServerNamePattern.SyntaxError.empty.description)
            case .failure(let error):
                throw item.error("invalid server name \"\(text)\": \(error)")
            }
        }
        return patterns
    }

    /// Cilium's per-port L7 checks: TCP only (except DNS), no port 0; Sluice's range cap.
    /// `what`: "L7 rules" or "serverNames"; `tcpOnly`: refuse a protocol other than TCP.
    private static func checkL7(_ port: PortProtocol, item: YAMLValue, what: String, tcpOnly: Bool) throws(LoadError) {
        let mapping = try item.mapping(allowing: ["port", "endPort", "protocol"])
        if tcpOnly && port.proto != .tcp {
            let except = what == "L7 rules" ? " except for DNS rules" : ""
            throw (mapping["protocol"] ?? item).error(
                "\(what) can only apply to TCP (not \(port.proto.rawValue))\(except)")
        }
        guard case .number(let number) = port.port else { return }
        if number == 0 {
            throw (mapping["port"] ?? item).error("\(what) can not be used when a port is 0")
        }
        if let endPort = port.endPort, endPort > number, Int(endPort) - Int(number) + 1 > maxL7RangePorts {
            throw (mapping["endPort"] ?? item).error(
                "\(what) on a range of more than \(maxL7RangePorts) ports are not supported by Sluice")
        }
    }

    /// Parses `{port, endPort, protocol}`. `defaultProtocol` is ANY for Cilium, TCP for NetworkPolicy.
    static func parsePort(
        _ value: YAMLValue, hasDNSRules: Bool = false, defaultProtocol: L4Protocol = .any,
        portRequired: Bool = true
    ) throws(LoadError) -> PortProtocol {
        let mapping = try value.mapping(allowing: ["port", "endPort", "protocol"])
        let proto =
            try mapping["protocol"].map { value throws(LoadError) in try parseProtocol(value) }
            ?? defaultProtocol
        var endPort: UInt16?
        if let endValue = mapping["endPort"] {
            guard let number = UInt16(try endValue.string()) else {
                throw endValue.error("endPort must be a number between 0 and 65535")
            }
            endPort = number
        }
        guard let portValue = mapping["port"], !(try portValue.string()).isEmpty else {
            if portRequired { throw value.error("Port must be specified") }
            return PortProtocol(port: .number(0), endPort: nil, proto: proto)
        }
        let text = try portValue.string()
        if isServiceName(text) {
            return PortProtocol(port: .named(text.lowercased()), endPort: nil, proto: proto)
        }
        guard let number = UInt16(text) else {
            throw portValue.error("Unable to parse port: strconv.ParseUint: parsing \"\(text)\": invalid syntax")
        }
        if hasDNSRules, let endPort, endPort > number {
            throw portValue.error("DNS rules do not support port ranges")
        }
        return PortProtocol(port: .number(number), endPort: endPort, proto: proto)
    }

    private static func parseProtocol(_ value: YAMLValue) throws(LoadError) -> L4Protocol {
        let text = try value.string().uppercased()
        if let proto = L4Protocol(rawValue: text), !proto.isICMP { return proto }
        if text == "VRRP" || text == "IGMP" {
            throw value.error("protocol \(text) is not supported by Sluice yet")
        }
        throw value.error("invalid protocol \"\(try value.string())\", must be { tcp | udp | sctp | any }")
    }

    /// IANA service name syntax (RFC 6335 5.1): 1-15 of `[a-z0-9-]`, at least one letter, no
    /// leading, trailing or doubled hyphen. Anything else is parsed as a number.
    static func isServiceName(_ text: String) -> Bool {
        let bytes = Array(text.lowercased().utf8)
        guard (1...15).contains(bytes.count), bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-")
        else { return false }
        var sawLetter = false
        var previousHyphen = false
        for byte in bytes {
            let isLetter = byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")
            let isDigit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            let isHyphen = byte == UInt8(ascii: "-")
            guard isLetter || isDigit || isHyphen, !(isHyphen && previousHyphen) else { return false }
            sawLetter = sawLetter || isLetter
            previousHyphen = isHyphen
        }
        return sawLetter
    }
}
