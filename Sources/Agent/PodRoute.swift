import Glibc
import SluiceModel

/// Finds a local pod's host-side interface the way the CNI wired it: by the route the node has
/// to the pod's address. CNIs that give each pod a veth (Calico, Cilium, the sandbox, the
/// `ptp` plugin) route the pod's /32 over that veth, so an `RTM_GETROUTE` for the address with
/// `RTM_F_FIB_MATCH` (the matching FIB entry, not just the next hop) names the interface.
///
/// Only a direct /32 unicast route with one output interface and no gateway counts as a pod
/// route: a /24 to a bridge, a default route via a gateway, a local address or no route at
/// all are `notPodRoute` (the pod is not wired yet, or not by a per-pod-route CNI), so the
/// agent never attaches to a bridge or the uplink.
///
/// The request and the reply parsing are pure (`request`, `parse`, byte-fixture tests); the
/// socket part (`lookup`) only sends and receives.
enum PodRoute {
    /// What a route query says about an address.
    enum Answer: Equatable {
        /// A per-pod route: the interface index its packets leave by.
        case podRoute(ifindex: Int32)
        /// A route that is not a pod's (or none): why, in words for `sluice status`.
        case notPodRoute(String)
        /// The query failed or the reply could not be read.
        case failed(String)
    }

    // Netlink and rtnetlink constants (linux/netlink.h, linux/rtnetlink.h).
    static let rtmsgSize = 12
    static let rtmNewRoute: UInt16 = 24
    static let rtmGetRoute: UInt16 = 26
    static let rtmFFibMatch: UInt32 = 0x2000
    static let rtaDst: UInt16 = 1
    static let rtaOif: UInt16 = 4
    static let rtaGateway: UInt16 = 5
    static let rtaMultipath: UInt16 = 9
    static let rtnUnicast: UInt8 = 1
    static let routeTypeNames: [UInt8: String] = [
        2: "local", 3: "broadcast", 4: "anycast", 5: "multicast", 6: "blackhole", 7: "unreachable", 8: "prohibit",
        9: "throw", 10: "nat",
    ]

    /// The `RTM_GETROUTE` request for `address` (host byte order fields, as netlink wants).
    static func request(for address: IPv4Address, sequence: UInt32) -> [UInt8] {
        var out = Netlink.header(
            type: rtmGetRoute, flags: Netlink.flagRequest, sequence: sequence, bodyLength: rtmsgSize + 8)
        // rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags.
        out += [UInt8(AF_INET), 32, 0, 0, 0, 0, 0, 0] + Netlink.bytes(rtmFFibMatch)
        // RTA_DST: the address in network order.
        out += Netlink.bytes(UInt16(8)) + Netlink.bytes(rtaDst)
        let h = address.hostOrder
        out += [
            UInt8(h >> 24), UInt8(truncatingIfNeeded: h >> 16), UInt8(truncatingIfNeeded: h >> 8),
            UInt8(truncatingIfNeeded: h),
        ]
        return out
    }

    /// Reads the kernel's reply to the request with `sequence` (messages of other sequence
    /// numbers are skipped). Never traps on short or malformed input.
    static func parse(_ reply: [UInt8], sequence: UInt32) -> Answer {
        let walk: Netlink.Walk<Answer> = Netlink.walk(reply, sequence: sequence) { type, start, end in
            switch type {
            case Netlink.nlmsgError:
                guard let code = Netlink.errorCode(reply, from: start, to: end) else {
                    return .failed("short netlink error message")
                }
                if code == 0 { return nil }
                if code == ENETUNREACH || code == EHOSTUNREACH { return .notPodRoute("no route") }
                return .failed("RTM_GETROUTE: \(String(cString: strerror(code)))")
            case Netlink.nlmsgDone:
                return .notPodRoute("no route")
            case rtmNewRoute:
                return route(reply, from: start + Netlink.headerSize, to: end)
            default:
                return nil
            }
        }
        switch walk {
        case .stopped(let answer): return answer
        case .malformed(let reason): return .failed(reason)
        case .ended: return .failed("no answer to the route query")
        }
    }

    /// One `RTM_NEWROUTE` body (rtmsg and attributes) in `bytes[start..<end]`.
    private static func route(_ bytes: [UInt8], from start: Int, to end: Int) -> Answer {
        guard start + rtmsgSize <= end else { return .failed("short route message") }
        let dstLength = bytes[start + 1]
        let type = bytes[start + 7]
        var oif: Int32?
        var gateway = false
        var multipath = false
        let malformed = Netlink.attributes(bytes, from: start + rtmsgSize, to: end) { attribute, value, length in
            switch attribute {
            case rtaOif where length >= 8: oif = Int32(bitPattern: Netlink.u32(bytes, value))
            case rtaGateway: gateway = true
            case rtaMultipath: multipath = true
            default: break
            }
        }
        if let offset = malformed { return .failed("malformed route attribute at \(offset)") }
        guard type == rtnUnicast else {
            return .notPodRoute("a \(routeTypeNames[type] ?? "type \(type)") route, not a pod's")
        }
        if gateway { return .notPodRoute("a route via a gateway, not a pod's") }
        if multipath { return .notPodRoute("a multipath route, not a pod's") }
        guard dstLength == 32 else { return .notPodRoute("a /\(dstLength) route, not a per-pod /32") }
        guard let oif, oif > 0 else { return .notPodRoute("a route without an output interface") }
        return .podRoute(ifindex: oif)
    }

    // MARK: the socket

    /// Asks the kernel (in this thread's network namespace) for the route to `address`.
    static func lookup(_ address: IPv4Address) -> Answer {
        let sequence: UInt32 = 1  // a socket of its own per query
        let noAnswer = Answer.failed("no answer to the route query")
        let outcome = Netlink.exchange(request(for: address, sequence: sequence), bufferSize: 16384, reads: 8) {
            reply -> Answer? in
            let answer = parse(reply, sequence: sequence)
            return answer == noAnswer ? nil : answer
        }
        switch outcome {
        case .failure(let error): return .failed(error.message)
        case .success(let answer): return answer ?? noAnswer
        }
    }

    /// The interface's name (`if_indextoname`), or nil when it is gone.
    static func interfaceName(_ ifindex: Int32) -> String? {
        var name = [CChar](repeating: 0, count: 64)
        guard if_indextoname(UInt32(bitPattern: ifindex), &name) != nil else { return nil }
        return String(cString: name)
    }
}
