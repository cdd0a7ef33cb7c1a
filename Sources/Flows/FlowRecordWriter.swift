public import CSluiceShared

/// Fills flow records (`struct sluice_flow`) in place, on the request path: no allocation, no Foundation.
///
/// The caller owns the slot: `Datapath`'s ring writer takes a sequence number, sets `commit = 0`, calls one
/// `write…` function here and then publishes `commit`. These functions never touch `commit`. The slot may still
/// hold the record written there `capacity` records earlier, so they write every field a reader reads: the
/// record's header (cleared, then set), and for L7 records the fixed fields of the HTTP or DNS part (set) and
/// only the used bytes of its text fields (method, url, headers, query), whose lengths say where they end. Bytes
/// past a length and the L7 part of an L3/L4 record are never read (`Flow.decode`). Writing 1 KiB per record
/// (twice, before) cost get-ka several percent of its CPU. Safe from any thread for a slot it owns.
public enum FlowRecordWriter {
    /// Writes an L3/L4 drop (`Type` L3_L4, `event_type` 1 with the drop reason as sub-type, verdict DROPPED,
    /// `is_reply` unknown, the TCP flags of the dropped packet).
    public static func writeL3L4Drop(_ p: UnsafeMutablePointer<sluice_flow>, common: FlowCommon) {
        var c = common
        c.verdict = .dropped
        c.flowType = .l3L4
        c.eventType = Flow.EventType.drop
        c.isReply = nil
        writeCommon(p, c)
    }

    /// Writes an L3/L4 flow exactly as `common` describes it (policy verdicts, traces).
    public static func writeL3L4(_ p: UnsafeMutablePointer<sluice_flow>, common: FlowCommon) {
        var c = common
        c.flowType = .l3L4
        writeCommon(p, c)
    }

    /// Writes an HTTP request or response flow: `Type` L7, `event_type` 129, `is_reply` = (type == RESPONSE),
    /// no TCP flags. The url is `scheme://authority` followed by `path` (which starts with `/`), copied into the
    /// record and cut at `SLUICE_HTTP_URL_MAX` bytes; the method is cut at `SLUICE_HTTP_METHOD_MAX`.
    /// `code` is 0 on requests; `latencyNs` is 0 on requests or when the pairing failed. `policyID` is the
    /// `PolicyKey.ref` of the policy whose rule decided a request (0 = none); `verdict` why that side decided and
    /// the header actions of the matching rule (request flows; nil = none recorded). `FlowRedaction.current`
    /// applies: with query redaction the path stops at its `?`, with userinfo redaction a password becomes
    /// `HUBBLE_REDACTED`. `headers`: the request's headers, packed and redacted (`HTTPHeaderRecord`), copied
    /// into the record (request flows; nil = none).
    public static func writeHTTP(
        _ p: UnsafeMutablePointer<sluice_flow>, common: FlowCommon, l7Type: Flow.L7FlowType,
        method: UnsafeRawBufferPointer, scheme: StaticString, authority: UnsafeRawBufferPointer,
        path: UnsafeRawBufferPointer, code: UInt16, latencyNs: UInt64, proto: Flow.L7Protocol, policyID: UInt32 = 0,
        verdict: Flow.L7Verdict? = nil, headers: HTTPHeaderRecord.Packer? = nil
    ) {
        writeHTTP(
            p, common: common, timeNs: common.timeNs, flowVerdict: common.verdict, direction: common.direction,
            l7Type: l7Type, method: method, scheme: scheme, authority: authority, path: path, code: code,
            latencyNs: latencyNs, proto: proto, policyID: policyID, verdict: verdict, headers: headers)
    }

    /// `writeHTTP` with the record's time, verdict and direction given apart from `common`, whose
    /// own are ignored: a recorder passes the connection's `common` as stored, unchanged. A copy
    /// of it with those fields changed, built on the stack field by field just before the call,
    /// was loaded back here sixteen bytes at a time across the fresh stores (a store-forwarding
    /// stall: a third of this function's samples, docs/performance.md s23-own).
    public static func writeHTTP(
        _ p: UnsafeMutablePointer<sluice_flow>, common: FlowCommon, timeNs: UInt64, flowVerdict: Flow.Verdict,
        direction: Flow.TrafficDirection, l7Type: Flow.L7FlowType, method: UnsafeRawBufferPointer,
        scheme: StaticString, authority: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, code: UInt16,
        latencyNs: UInt64, proto: Flow.L7Protocol, policyID: UInt32 = 0, verdict: Flow.L7Verdict? = nil,
        headers: HTTPHeaderRecord.Packer? = nil
    ) {
        writeCommon(
            p, common, timeNs: timeNs, verdict: flowVerdict, direction: direction, isReply: l7Type == .response,
            flowType: .l7, eventType: Flow.EventType.l7, tcpFlags: [])
        p.pointee.latency_ns = latencyNs
        p.pointee.l7_type = l7Type.rawValue
        p.pointee.l7_proto = proto.rawValue
        withUnsafeMutablePointer(to: &p.pointee.l7) { union in
            union.withMemoryRebound(to: sluice_flow_http.self, capacity: 1) { http in
                http.pointee.code = code
                http.pointee._pad1 = 0
                http.pointee.error_side = 0
                http.pointee._pad2 = 0
                http.pointee.error_errno = 0
                http.pointee.method_len = UInt8(copy(method, into: &http.pointee.method, at: 0))
                var used = copy(
                    UnsafeRawBufferPointer(start: scheme.utf8Start, count: scheme.utf8CodeUnitCount),
                    into: &http.pointee.url, at: 0)
                used = copy(schemeSeparator, into: &http.pointee.url, at: used)
                // Hubble's redaction (FlowRedaction.current): userinfo password, query. Its
                // stored flag is read in place; the value (with its header lists, four retains
                // and releases) is copied only when redaction is on.
                if FlowRedaction.current.enabled {
                    let redaction = FlowRedaction.current
                    let (head, masked, tail) = redaction.recordedAuthority(authority)
                    used = copy(head, into: &http.pointee.url, at: used)
                    if masked {
                        let mask = FlowRedaction.redacted
                        used = copy(
                            UnsafeRawBufferPointer(start: mask.utf8Start, count: mask.utf8CodeUnitCount),
                            into: &http.pointee.url, at: used)
                        used = copy(tail, into: &http.pointee.url, at: used)
                    }
                    used = copy(redaction.recordedPath(path), into: &http.pointee.url, at: used)
                } else {
                    used = copy(authority, into: &http.pointee.url, at: used)
                    used = copy(path, into: &http.pointee.url, at: used)
                }
                http.pointee.url_len = UInt16(used)
                http.pointee.policy_id = policyID
                http.pointee.reason = verdict?.reason.rawValue ?? 0
                http.pointee.header_actions = verdict?.headerActions.rawValue ?? 0
                if let headers {
                    http.pointee.headers_len = UInt16(copy(headers.bytes, into: &http.pointee.headers, at: 0))
                    http.pointee.n_headers = UInt8(clamping: headers.count)
                    http.pointee.headers_cut = headers.cut ? 1 : 0
                } else {
                    http.pointee.headers_len = 0
                    http.pointee.n_headers = 0
                    http.pointee.headers_cut = 0
                }
            }
        }
    }

    /// Marks an HTTP response record (after `writeHTTP`) as ended by a failed connection: the
    /// peer's side (1 downstream, 2 upstream) and the errno of its failed call, 0 for an EOF.
    public static func setHTTPConnectionError(_ p: UnsafeMutablePointer<sluice_flow>, side: UInt8, errno: Int32) {
        withUnsafeMutablePointer(to: &p.pointee.l7) { union in
            union.withMemoryRebound(to: sluice_flow_http.self, capacity: 1) { http in
                http.pointee.error_side = side
                http.pointee.error_errno = UInt16(truncatingIfNeeded: errno)
            }
        }
    }

    /// Marks a DNS response record (after `writeDNS`) as ended by a failed connection or send:
    /// the peer's side (1 downstream, 2 upstream) and the errno, 0 for an EOF.
    public static func setDNSConnectionError(_ p: UnsafeMutablePointer<sluice_flow>, side: UInt8, errno: Int32) {
        withUnsafeMutablePointer(to: &p.pointee.l7) { union in
            union.withMemoryRebound(to: sluice_flow_dns.self, capacity: 1) { dns in
                dns.pointee.error_side = side
                dns.pointee.error_errno = UInt16(truncatingIfNeeded: errno)
            }
        }
    }

    /// Writes a DNS request or response flow (`observation_source` "proxy"): query name (cut at
    /// `SLUICE_DNS_QUERY_MAX`), first question type, and on responses rcode, TTL and answer types.
    /// Add answer addresses afterwards with `appendDNSAddress`. `policyID` as in `writeHTTP`.
    public static func writeDNS(
        _ p: UnsafeMutablePointer<sluice_flow>, common: FlowCommon, l7Type: Flow.L7FlowType,
        query: UnsafeRawBufferPointer, qtype: UInt16, rcode: UInt16, ttl: UInt32, rrtypes: DNSAnswerTypes,
        latencyNs: UInt64, policyID: UInt32 = 0
    ) {
        writeL7Header(p, common, l7Type: l7Type, latencyNs: latencyNs, proto: .dns)
        withUnsafeMutablePointer(to: &p.pointee.l7) { union in
            union.withMemoryRebound(to: sluice_flow_dns.self, capacity: 1) { dns in
                dns.pointee.n_ips = 0
                dns.pointee.ip_versions = 0
                dns.pointee._pad0 = 0
                dns.pointee.error_side = 0
                dns.pointee._pad1 = 0
                dns.pointee.error_errno = 0
                dns.pointee.ttl = ttl
                dns.pointee.rcode = rcode
                dns.pointee.qtype = qtype
                dns.pointee.rrtypes_mask = rrtypes.rawValue
                dns.pointee.query_len = UInt16(copy(query, into: &dns.pointee.query, at: 0))
                dns.pointee.policy_id = policyID
            }
        }
    }

    /// Adds an IPv4 answer address (network byte order) to a DNS record; false when the record is full
    /// (`SLUICE_DNS_IPS_MAX`).
    @discardableResult
    public static func appendDNSAddress(_ p: UnsafeMutablePointer<sluice_flow>, ipv4NetworkOrder: UInt32) -> Bool {
        withUnsafeBytes(of: ipv4NetworkOrder) { appendDNSAddress(p, bytes: $0, isIPv6: false) }
    }

    /// Adds an IPv6 answer address (16 bytes) to a DNS record; false when the record is full or `ipv6` is not
    /// 16 bytes long.
    @discardableResult
    public static func appendDNSAddress(_ p: UnsafeMutablePointer<sluice_flow>, ipv6: UnsafeRawBufferPointer) -> Bool {
        guard ipv6.count == addressBytes else { return false }
        return appendDNSAddress(p, bytes: ipv6, isIPv6: true)
    }

    // MARK: - Internals

    private static let addressBytes = 16
    private static let maxDNSAddresses = Int(SLUICE_DNS_IPS_MAX)
    private static var schemeSeparator: UnsafeRawBufferPointer {
        let separator: StaticString = "://"
        return UnsafeRawBufferPointer(start: separator.utf8Start, count: separator.utf8CodeUnitCount)
    }

    private static func appendDNSAddress(
        _ p: UnsafeMutablePointer<sluice_flow>, bytes: UnsafeRawBufferPointer, isIPv6: Bool
    ) -> Bool {
        withUnsafeMutablePointer(to: &p.pointee.l7) { union in
            union.withMemoryRebound(to: sluice_flow_dns.self, capacity: 1) { dns in
                let index = Int(dns.pointee.n_ips)
                guard index < maxDNSAddresses else { return false }
                withUnsafeMutableBytes(of: &dns.pointee.ips) { all in
                    let slot = UnsafeMutableRawBufferPointer(
                        rebasing: all[index * addressBytes..<(index + 1) * addressBytes])
                    slot.copyMemory(from: bytes)
                }
                if isIPv6 { dns.pointee.ip_versions |= UInt8(1) << UInt8(index) }
                dns.pointee.n_ips = UInt8(index + 1)
                return true
            }
        }
    }

    private static func writeL7Header(
        _ p: UnsafeMutablePointer<sluice_flow>, _ common: FlowCommon, l7Type: Flow.L7FlowType, latencyNs: UInt64,
        proto: Flow.L7Protocol
    ) {
        var c = common
        c.flowType = .l7
        c.eventType = Flow.EventType.l7
        c.isReply = l7Type == .response
        c.tcpFlags = []
        writeCommon(p, c)
        p.pointee.latency_ns = latencyNs
        p.pointee.l7_type = l7Type.rawValue
        p.pointee.l7_proto = proto.rawValue
    }

    /// Bytes of the record's header after `commit`, up to the L7 part (a union as large as its
    /// HTTP member, asserted in sluice_flow.h): what `writeCommon` clears. A constant, so the
    /// request path pays no key path or lazy global for it (`FlowRecordWriterTests` holds it
    /// equal to the offset of `l7`).
    static var headerBytes: Int {
        MemoryLayout<sluice_flow>.size - MemoryLayout<sluice_flow_http>.size - MemoryLayout<UInt64>.size
    }

    /// Zeroes the header after `commit` (not the L7 part), then writes the fields of `c`.
    private static func writeCommon(_ p: UnsafeMutablePointer<sluice_flow>, _ c: FlowCommon) {
        writeCommon(
            p, c, timeNs: c.timeNs, verdict: c.verdict, direction: c.direction, isReply: c.isReply,
            flowType: c.flowType, eventType: c.eventType, tcpFlags: c.tcpFlags)
    }

    /// Zeroes the header after `commit` (not the L7 part), then writes the fields of `c` but the
    /// ones given apart, which replace its own.
    @inline(__always)
    private static func writeCommon(
        _ p: UnsafeMutablePointer<sluice_flow>, _ c: FlowCommon, timeNs: UInt64, verdict: Flow.Verdict,
        direction: Flow.TrafficDirection, isReply: Bool?, flowType: Flow.FlowType, eventType: Int32,
        tcpFlags: Flow.TCPFlags
    ) {
        (UnsafeMutableRawPointer(p) + MemoryLayout<UInt64>.size)
            .initializeMemory(as: UInt8.self, repeating: 0, count: headerBytes)
        p.pointee.time_ns = timeNs
        p.pointee.src_identity = c.srcIdentity
        p.pointee.dst_identity = c.dstIdentity
        p.pointee.src_endpoint = c.srcEndpoint
        p.pointee.dst_endpoint = c.dstEndpoint
        withUnsafeMutableBytes(of: &p.pointee.src_ip) { $0.storeBytes(of: c.srcIP, as: UInt32.self) }
        withUnsafeMutableBytes(of: &p.pointee.dst_ip) { $0.storeBytes(of: c.dstIP, as: UInt32.self) }
        p.pointee.src_port = c.srcPort
        p.pointee.dst_port = c.dstPort
        p.pointee.ip_version = 4
        p.pointee.l4_proto = c.l4Proto
        p.pointee.verdict = verdict.rawValue
        p.pointee.flow_type = flowType.rawValue
        p.pointee.event_type = UInt8(truncatingIfNeeded: eventType)
        p.pointee.drop_reason = UInt8(truncatingIfNeeded: c.dropReason.rawValue)
        p.pointee.direction = direction.rawValue
        p.pointee.is_reply =
            isReply.map { $0 ? UInt8(SLUICE_REPLY_TRUE.rawValue) : UInt8(SLUICE_REPLY_FALSE.rawValue) }
            ?? UInt8(SLUICE_REPLY_UNKNOWN.rawValue)
        p.pointee.tcp_flags = tcpFlags.rawValue
    }

    /// Copies as much of `source` as fits into the fixed C array `array` starting at byte `offset`; returns the new
    /// end offset.
    private static func copy<T>(_ source: UnsafeRawBufferPointer, into array: inout T, at offset: Int) -> Int {
        withUnsafeMutableBytes(of: &array) { destination in
            let n = min(source.count, max(0, destination.count - offset))
            guard n > 0, let from = source.baseAddress, let to = destination.baseAddress else { return offset }
            (to + offset).copyMemory(from: from, byteCount: n)
            return offset + n
        }
    }
}
