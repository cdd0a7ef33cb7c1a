public import CSluiceShared
import SluiceModel

extension Flow {
    /// Builds the Hubble flow of one flow-map record.
    ///
    /// - `time_ns` (CLOCK_MONOTONIC) plus `monotonicToWallOffsetNs` gives the wall-clock time.
    /// - Endpoints are named from `directory`: a local endpoint (by the record's endpoint ID, else by its IPv4
    ///   address) gives ID, namespace, pod and labels; any other peer keeps the record's identity and takes the labels
    ///   of that identity (`reserved:world` for world).
    /// - L7 flows carry ports without TCP flags; `event_type.sub_type` is the drop reason on drop events and the
    ///   observation point on trace events (which also carry `trace_observation_point` and `trace_reason`);
    ///   policy-verdict events carry `policy_match_type`.
    /// Reads only the record; lengths stored in it are clamped to the array sizes, so any bytes decode safely.
    public static func decode(_ rec: sluice_flow, directory: EndpointDirectory, monotonicToWallOffsetNs: Int64) -> Flow
    {
        var flow = Flow()
        flow.time = Timestamp(nanosecondsSinceEpoch: Int64(bitPattern: rec.time_ns) &+ monotonicToWallOffsetNs)
        flow.verdict = Verdict(rawValue: rec.verdict) ?? .unknown
        flow.dropReason = UInt32(rec.drop_reason)
        flow.type = FlowType(rawValue: rec.flow_type) ?? .unknown
        flow.nodeName = directory.nodeName
        switch Int32(rec.event_type) {
        case EventType.drop:
            flow.eventType = EventType(type: EventType.drop, subType: Int32(rec.drop_reason))
        case EventType.trace:
            flow.eventType = EventType(type: EventType.trace, subType: Int32(rec.trace_point))
            flow.traceObservationPoint = TraceObservationPoint(subType: Int32(rec.trace_point))
            flow.traceReason = TraceReason(rawValue: rec.trace_reason) ?? .unknown
        case EventType.policyVerdict:
            flow.eventType = EventType(type: EventType.policyVerdict)
            flow.policyMatchType = UInt32(rec.policy_match)
        default:
            flow.eventType = EventType(type: Int32(rec.event_type))
        }
        flow.trafficDirection = TrafficDirection(c: rec.direction)
        switch UInt32(rec.is_reply) {
        case SLUICE_REPLY_TRUE.rawValue: flow.isReply = true
        case SLUICE_REPLY_FALSE.rawValue: flow.isReply = false
        default: flow.isReply = nil
        }
        flow.ip = decodeIP(rec)
        flow.l4 = decodeL4(rec, withFlags: flow.type != .l7)
        let v4 = rec.ip_version == 4
        flow.source = decodeEndpoint(
            id: rec.src_endpoint, identity: rec.src_identity,
            ipv4: v4 ? withUnsafeBytes(of: rec.src_ip) { $0.load(as: UInt32.self) } : nil,
            directory: directory)
        flow.destination = decodeEndpoint(
            id: rec.dst_endpoint, identity: rec.dst_identity,
            ipv4: v4 ? withUnsafeBytes(of: rec.dst_ip) { $0.load(as: UInt32.self) } : nil,
            directory: directory)
        if v4 {
            // Hubble fills these from the DNS cache for any address; local endpoints have their pod.
            if flow.source?.podName.isEmpty ?? true {
                flow.sourceNames = directory.names(
                    ipv4NetworkOrder: withUnsafeBytes(of: rec.src_ip) { $0.load(as: UInt32.self) })
            }
            if flow.destination?.podName.isEmpty ?? true {
                flow.destinationNames = directory.names(
                    ipv4NetworkOrder: withUnsafeBytes(of: rec.dst_ip) { $0.load(as: UInt32.self) })
            }
        }
        flow.l7 = decodeL7(rec)
        decodePolicy(rec, into: &flow, directory: directory)
        flow.l7Verdict = decodeL7Verdict(rec)
        return flow
    }

    /// The policy named by an L7 request record (`policy_id`), a policy-verdict record or an
    /// explicit-deny drop (`policy_ref`: the policy map entry's), filed under the field of its
    /// direction and verdict (a REDIRECTED verdict allowed). Unknown numbers (a policy deleted
    /// since) name nothing.
    private static func decodePolicy(_ rec: sluice_flow, into flow: inout Flow, directory: EndpointDirectory) {
        let ref = withUnsafePointer(to: rec) { policyRef($0) }
        guard ref != 0, let entry = directory.policy(ref: ref) else { return }
        let policy = Policy(name: entry.name, namespace: entry.namespace, kind: entry.kind)
        let denied = flow.verdict == .dropped
        switch (flow.trafficDirection, denied) {
        case (.egress, false): flow.egressAllowedBy = [policy]
        case (.egress, true): flow.egressDeniedBy = [policy]
        case (.ingress, false): flow.ingressAllowedBy = [policy]
        case (.ingress, true): flow.ingressDeniedBy = [policy]
        default: break
        }
    }

    /// The policy directory reference a record names, 0 for none: an L7 request's `policy_id` (of
    /// its HTTP or DNS part), a policy verdict's or a drop's `policy_ref` (the policy map entry's).
    /// `decode` and the observer's direct encoder (`FlowRecordProto`) both name policies by it.
    @inlinable
    public static func policyRef(_ rec: UnsafePointer<sluice_flow>) -> UInt32 {
        if rec.pointee.flow_type == FlowType.l7.rawValue {
            guard rec.pointee.l7_type == L7FlowType.request.rawValue else { return 0 }
            switch L7Protocol(rawValue: rec.pointee.l7_proto)?.record {
            case .http?: return rec.pointee.l7.http.policy_id
            case .dns?: return rec.pointee.l7.dns.policy_id
            case nil: return 0
            }
        }
        let event = Int32(rec.pointee.event_type)
        return event == EventType.policyVerdict || event == EventType.drop ? rec.pointee.policy_ref : 0
    }

    /// The reason and header actions of an HTTP request record; nil when none was recorded (or
    /// the byte names no reason this build knows).
    private static func decodeL7Verdict(_ rec: sluice_flow) -> L7Verdict? {
        guard rec.flow_type == FlowType.l7.rawValue, rec.l7_type == L7FlowType.request.rawValue,
            L7Protocol(rawValue: rec.l7_proto)?.record == .http, let reason = L7Reason(rawValue: rec.l7.http.reason)
        else { return nil }
        return L7Verdict(reason: reason, headerActions: HeaderActions(rawValue: rec.l7.http.header_actions))
    }

    /// RFC 5952 text of a 16-byte address field.
    private static func ipv6Text<T>(_ field: T) -> String {
        withUnsafeBytes(of: field) { IPv6Address(bytes: $0)?.description ?? "" }
    }

    private static func decodeIP(_ rec: sluice_flow) -> IP? {
        switch rec.ip_version {
        case 4:
            let s = rec.src_ip, d = rec.dst_ip
            return IP(
                source: IPv4Address(s.0, s.1, s.2, s.3).description,
                destination: IPv4Address(d.0, d.1, d.2, d.3).description, ipVersion: .ipv4)
        case 6:
            return IP(
                source: ipv6Text(rec.src_ip),
                destination: ipv6Text(rec.dst_ip),
                ipVersion: .ipv6)
        default:
            return nil
        }
    }

    private static func decodeL4(_ rec: sluice_flow, withFlags: Bool) -> Layer4? {
        switch rec.l4_proto {
        case FlowCommon.tcp:
            return .tcp(
                TCP(
                    sourcePort: rec.src_port, destinationPort: rec.dst_port,
                    flags: withFlags ? TCPFlags(rawValue: rec.tcp_flags) : nil))
        case FlowCommon.udp:
            return .udp(UDP(sourcePort: rec.src_port, destinationPort: rec.dst_port))
        case FlowCommon.sctp:
            return .sctp(SCTP(sourcePort: rec.src_port, destinationPort: rec.dst_port))
        case FlowCommon.icmp where rec.ip_version == 4:
            return .icmpv4(ICMP(type: rec.icmp_type, code: rec.icmp_code))
        case FlowCommon.icmpv6 where rec.ip_version == 6:
            return .icmpv6(ICMP(type: rec.icmp_type, code: rec.icmp_code))
        default:
            return nil
        }
    }

    private static func decodeEndpoint(
        id: UInt32, identity: UInt32, ipv4: UInt32?,
        directory: EndpointDirectory
    ) -> FlowEndpoint {
        let local = id != 0 ? directory.endpoint(id: id) : ipv4.flatMap { directory.endpoint(ipv4NetworkOrder: $0) }
        guard let local else {
            return FlowEndpoint(id: id, identity: identity, labels: directory.labels(identity: identity))
        }
        return FlowEndpoint(
            id: local.id, identity: identity != 0 ? identity : local.identity,
            namespace: local.namespace, labels: local.labels, podName: local.pod)
    }

    private static func decodeL7(_ rec: sluice_flow) -> Layer7? {
        guard rec.flow_type == FlowType.l7.rawValue else { return nil }
        var l7 = Layer7(type: L7FlowType(rawValue: rec.l7_type) ?? .unknown, latencyNs: rec.latency_ns)
        let proto = L7Protocol(rawValue: rec.l7_proto) ?? .none
        switch proto.record {
        case .http?: l7.record = .http(decodeHTTP(rec.l7.http, proto: proto))
        case .dns?: l7.record = .dns(decodeDNS(rec.l7.dns, type: l7.type))
        case nil: break
        }
        return l7
    }

    private static func decodeHTTP(_ h: sluice_flow_http, proto: L7Protocol) -> HTTP {
        HTTP(
            code: UInt32(h.code),
            method: text(of: h.method, count: Int(h.method_len)),
            url: text(of: h.url, count: Int(h.url_len)),
            protocol: proto.httpProtocolName,
            headers: withUnsafeBytes(of: h.headers) { all in
                HTTPHeaderRecord.decode(UnsafeRawBufferPointer(rebasing: all.prefix(Int(h.headers_len))))
            },
            connectionError: ConnectionError.Side(rawValue: h.error_side).map {
                ConnectionError(side: $0, errno: Int32(h.error_errno))
            })
    }

    private static func decodeDNS(_ d: sluice_flow_dns, type: L7FlowType) -> DNS {
        var dns = DNS(query: text(of: d.query, count: Int(d.query_len)))
        if d.qtype != 0 { dns.qtypes = [DNS.typeName(d.qtype)] }
        guard type == .response else { return dns }
        dns.connectionError = ConnectionError.Side(rawValue: d.error_side).map {
            ConnectionError(side: $0, errno: Int32(d.error_errno))
        }
        dns.ttl = d.ttl
        dns.rcode = UInt32(d.rcode)
        let count = min(Int(d.n_ips), Int(SLUICE_DNS_IPS_MAX))
        withUnsafeBytes(of: d.ips) { all in
            for i in 0..<count {
                let slot = all[i * 16..<i * 16 + 16]
                if d.ip_versions & (UInt8(1) << UInt8(i)) != 0 {
                    dns.ips.append(IPv6Address(bytes: slot)?.description ?? "")
                } else {
                    let s = slot.startIndex
                    dns.ips.append(IPv4Address(all[s], all[s + 1], all[s + 2], all[s + 3]).description)
                }
            }
        }
        let types = DNSAnswerTypes(rawValue: d.rrtypes_mask)
        for (bit, name) in [(DNSAnswerTypes.a, "A"), (.aaaa, "AAAA"), (.cname, "CNAME")] where types.contains(bit) {
            dns.rrtypes.append(name)
        }
        return dns
    }

    /// The first `count` bytes of a fixed C char array (clamped to its size) as UTF-8 text.
    private static func text<T>(of array: T, count: Int) -> String {
        withUnsafeBytes(of: array) { bytes in
            String(decoding: bytes.prefix(max(0, min(count, bytes.count))), as: UTF8.self)
        }
    }
}
