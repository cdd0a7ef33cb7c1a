import SluiceModel

extension FlowFilter {
    mutating func addLabel(_ option: Option, _ value: String) throws(Error) {
        guard let selector = LabelSelector(text: value) else { throw Error("invalid label selector: \(value)") }
        add(selector, for: option, from: .fromLabel, to: .toLabel, \.labels)
    }

    mutating func addIP(_ option: Option, _ value: String) throws(Error) {
        guard let ip = IPMatch(value) else { throw Error("invalid IP address or CIDR: \(value)") }
        add(ip, for: option, from: .fromIP, to: .toIP, \.ips)
    }

    mutating func addPort(_ option: Option, _ value: String) throws(Error) {
        guard let port = UInt16(value) else { throw Error("invalid port: \(value)") }
        add(port, for: option, from: .fromPort, to: .toPort, \.ports)
    }

    mutating func addIdentity(_ option: Option, _ value: String) throws(Error) {
        let reserved = ReservedIdentity.id(named: value)
        guard let identity = UInt32(value) ?? reserved else { throw Error("invalid identity: \(value)") }
        add(identity, for: option, from: .fromIdentity, to: .toIdentity, \.identities)
    }

    mutating func addFQDN(_ option: Option, _ value: String) throws(Error) {
        guard let pattern = FQDNGlob(value) else {
            throw Error(
                "invalid FQDN in filter: only alphanumeric ASCII characters, the hyphen \"-\", \".\" and \"*\" are allowed: \(value)"
            )
        }
        add(pattern, for: option, from: .fromFQDN, to: .toFQDN, \.fqdns)
    }

    /// One side's value: the `from` option matches the source, the `to` option the destination
    /// (in both clauses), and the either-side option (`--label`, `--ip`, ...) the source in the
    /// left clause or the destination in the right one.
    mutating func add<T>(_ value: T, for option: Option, from: Option, to: Option, _ field: WritableKeyPath<Side, [T]>)
    {
        switch option {
        case from: both { $0.source[keyPath: field].append(value) }
        case to: both { $0.destination[keyPath: field].append(value) }
        default:
            either(
                source: { $0.source[keyPath: field].append(value) },
                destination: { $0.destination[keyPath: field].append(value) })
        }
    }

    /// `-t/--type`: a monitor message type name or number, optionally `:sub-type` (a trace observation point name
    /// or a number).
    mutating func addType(_ value: String) throws(Error) {
        let parts = value.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0])
        guard let type = Self.messageTypes[name] ?? Int32(name) else { throw Error("invalid --type value: \(value)") }
        var subType: Int32?
        if parts.count == 2 {
            let sub = String(parts[1])
            if type == Flow.EventType.trace, let i = FlowPrinter.traceObservationPoints.firstIndex(of: sub) {
                subType = Int32(i)
            } else if let n = Int32(sub) {
                subType = n
            } else {
                throw Error("invalid --type value: \(value)")
            }
        }
        both { $0.eventTypes.append(EventTypeMatch(type: type, subType: subType)) }
    }

    mutating func addRegex(_ option: Option, _ value: String) throws(Error) {
        let regex: Regex<AnyRegexOutput>
        do {
            regex = try Regex(value)
        } catch {
            throw Error("invalid regular expression for --\(option.rawValue): \(value)")
        }
        if option == .httpPath {
            both { $0.httpPaths.append(regex) }
        } else {
            both { $0.httpURLs.append(regex) }
        }
    }

    /// `--node-name`, `--uuid`, `--tcp-flags`, `--http-header`, `--ip-version`, `-4`, `-6`.
    mutating func addFlowProperty(_ option: Option, _ value: String) throws(Error) {
        switch option {
        case .nodeName: both { $0.nodeNames.append(value) }
        case .uuid: both { $0.uuids.append(value) }
        case .tcpFlags:
            var match = TCPFlagsMatch(flags: [], ns: false)
            for part in value.split(separator: ",", omittingEmptySubsequences: false) {
                let name = part.uppercased()
                if name == "NS" {
                    match.ns = true
                } else if let flag = Flow.TCPFlags.protoOrder.first(where: { $0.1 == name })?.0 {
                    match.flags.insert(flag)
                } else {
                    throw Error(
                        "unknown TCP flag \"\(part)\" in --tcp-flags \(value) (SYN, FIN, RST, PSH, ACK, URG, ECE, CWR, NS)"
                    )
                }
            }
            both { $0.tcpFlags.append(match) }
        case .httpHeader:
            guard let colon = value.firstIndex(of: ":") else {
                throw Error("invalid --http-header value, expected key:value: \(value)")
            }
            let header = Flow.HTTP.Header(
                key: String(value[..<colon]), value: String(value[value.index(after: colon)...]))
            both { $0.httpHeaders.append(header) }
        case .ipv4: both { $0.ipVersions.append(.ipv4) }
        case .ipv6: both { $0.ipVersions.append(.ipv6) }
        case .ipVersion:
            switch value.lowercased() {
            case "4", "v4", "ipv4", "ip4": both { $0.ipVersions.append(.ipv4) }
            case "6", "v6", "ipv6", "ip6": both { $0.ipVersions.append(.ipv6) }
            default: throw Error("invalid IP version filter argument: \(value) (4 or 6)")
            }
        default: break
        }
    }

    /// cilium `monitor/api` `MessageTypeNames`.
    static let messageTypes: [String: Int32] = [
        "drop": Flow.EventType.drop, "debug": Flow.EventType.debug, "capture": Flow.EventType.capture,
        "trace": Flow.EventType.trace, "policy-verdict": Flow.EventType.policyVerdict,
        "trace-sock": Flow.EventType.traceSock, "recorder": 8, "l7": Flow.EventType.l7,
        "agent": Flow.EventType.agent,
    ]
}
