import SluiceModel

/// The part of a flow record every writer fills: time, verdict, addresses, identities, endpoints.
///
/// Built by the proxy per request (a plain value: no allocation) and passed to `FlowRecordWriter`. Addresses are
/// IPv4 in network byte order (the `s_addr` of a `sockaddr_in`), ports in host order. For L7 *response* flows
/// Hubble swaps source and destination (the source is the server): pass `swapped()` of the request's value.
public struct FlowCommon: Sendable, Equatable {
    /// CLOCK_MONOTONIC nanoseconds (the same clock as `bpf_ktime_get_ns`).
    public var timeNs: UInt64
    /// Hubble verdict.
    public var verdict: Flow.Verdict
    /// Traffic direction relative to the endpoint whose policy applied.
    public var direction: Flow.TrafficDirection
    /// `is_reply`; nil when unknown (drops). L7 writers derive it from the L7 type instead.
    public var isReply: Bool?
    /// Source IPv4, network byte order.
    public var srcIP: UInt32
    /// Destination IPv4, network byte order.
    public var dstIP: UInt32
    /// Source port, host order.
    public var srcPort: UInt16
    /// Destination port, host order.
    public var dstPort: UInt16
    /// IP protocol number: `FlowCommon.tcp` or `FlowCommon.udp`.
    public var l4Proto: UInt8
    /// Source security identity.
    public var srcIdentity: UInt32
    /// Destination security identity.
    public var dstIdentity: UInt32
    /// Source local endpoint ID, 0 when the source is not a local endpoint.
    public var srcEndpoint: UInt32
    /// Destination local endpoint ID, 0 when the destination is not a local endpoint.
    public var dstEndpoint: UInt32
    /// Drop reason (all Hubble reasons fit the record's byte); `DropReason(rawValue: 0)` when none.
    public var dropReason: DropReason
    /// `Type`.
    public var flowType: Flow.FlowType
    /// `event_type.type` (`Flow.EventType.drop`, `.l7`...).
    public var eventType: Int32
    /// TCP header flags (L3/L4 flows only).
    public var tcpFlags: Flow.TCPFlags

    /// IPPROTO_TCP.
    public static let tcp: UInt8 = 6
    /// IPPROTO_UDP.
    public static let udp: UInt8 = 17
    /// IPPROTO_ICMP.
    public static let icmp: UInt8 = 1
    /// IPPROTO_ICMPV6.
    public static let icmpv6: UInt8 = 58
    /// IPPROTO_SCTP.
    public static let sctp: UInt8 = 132

    /// Creates the common part; unspecified fields are zero.
    public init(
        timeNs: UInt64, verdict: Flow.Verdict, direction: Flow.TrafficDirection, isReply: Bool? = nil,
        srcIP: UInt32, dstIP: UInt32, srcPort: UInt16, dstPort: UInt16, l4Proto: UInt8,
        srcIdentity: UInt32 = 0, dstIdentity: UInt32 = 0, srcEndpoint: UInt32 = 0, dstEndpoint: UInt32 = 0,
        dropReason: DropReason = DropReason(rawValue: 0), flowType: Flow.FlowType = .unknown, eventType: Int32 = 0,
        tcpFlags: Flow.TCPFlags = []
    ) {
        self.timeNs = timeNs
        self.verdict = verdict
        self.direction = direction
        self.isReply = isReply
        self.srcIP = srcIP
        self.dstIP = dstIP
        self.srcPort = srcPort
        self.dstPort = dstPort
        self.l4Proto = l4Proto
        self.srcIdentity = srcIdentity
        self.dstIdentity = dstIdentity
        self.srcEndpoint = srcEndpoint
        self.dstEndpoint = dstEndpoint
        self.dropReason = dropReason
        self.flowType = flowType
        self.eventType = eventType
        self.tcpFlags = tcpFlags
    }

    /// The same flow seen from the other side: addresses, ports, identities and endpoints exchanged
    /// (Hubble's L7 response flows have the server as source).
    public func swapped() -> FlowCommon {
        var s = self
        swap(&s.srcIP, &s.dstIP)
        swap(&s.srcPort, &s.dstPort)
        swap(&s.srcIdentity, &s.dstIdentity)
        swap(&s.srcEndpoint, &s.dstEndpoint)
        return s
    }
}
