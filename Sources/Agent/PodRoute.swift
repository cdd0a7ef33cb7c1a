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
    static let headerSize = 16
    static let rtmsgSize = 12
    static let nlmsgError: UInt16 = 2
    static let nlmsgDone: UInt16 = 3
    static let rtmNewRoute: UInt16 = 24
    static let rtmGetRoute: UInt16 = 26
    static let nlmFRequest: UInt16 = 1
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
        var out: [UInt8] = []
        out.reserveCapacity(36)
        func u16(_ v: UInt16) { withUnsafeBytes(of: v) { out += $0 } }
        func u32(_ v: UInt32) { withUnsafeBytes(of: v) { out += $0 } }
        u32(UInt32(headerSize + rtmsgSize + 8))
        u16(rtmGetRoute)
        u16(nlmFRequest)
        u32(sequence)
        u32(0)
        // rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags.
        out += [UInt8(AF_INET), 32, 0, 0, 0, 0, 0, 0]
        u32(rtmFFibMatch)
        // RTA_DST: the address in network order.
        u16(8)
        u16(rtaDst)
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
        var offset = 0
        while offset + headerSize <= reply.count {
            let length = Int(u32(reply, offset))
            let type = u16(reply, offset + 4)
            let seq = u32(reply, offset + 8)
            guard length >= headerSize, offset + length <= reply.count else {
                return .failed("malformed netlink message (length \(length) at \(offset) of \(reply.count))")
            }
            let end = offset + length
            defer { offset += (length + 3) & ~3 }
            guard seq == sequence else { continue }
            switch type {
            case nlmsgError:
                guard length >= headerSize + 4 else { return .failed("short netlink error message") }
                let error = Int32(bitPattern: u32(reply, offset + headerSize))
                if error == 0 { continue }
                let code = -error
                if code == ENETUNREACH || code == EHOSTUNREACH { return .notPodRoute("no route") }
                return .failed("RTM_GETROUTE: \(String(cString: strerror(code)))")
            case nlmsgDone:
                return .notPodRoute("no route")
            case rtmNewRoute:
                return route(reply, from: offset + headerSize, to: end)
            default:
                continue
            }
        }
        return .failed("no answer to the route query")
    }

    /// One `RTM_NEWROUTE` body (rtmsg and attributes) in `bytes[start..<end]`.
    private static func route(_ bytes: [UInt8], from start: Int, to end: Int) -> Answer {
        guard start + rtmsgSize <= end else { return .failed("short route message") }
        let dstLength = bytes[start + 1]
        let type = bytes[start + 7]
        var oif: Int32?
        var gateway = false
        var multipath = false
        var offset = start + rtmsgSize
        while offset + 4 <= end {
            let length = Int(u16(bytes, offset))
            let attribute = u16(bytes, offset + 2) & 0x3fff
            guard length >= 4, offset + length <= end else { return .failed("malformed route attribute at \(offset)") }
            switch attribute {
            case rtaOif where length >= 8: oif = Int32(bitPattern: u32(bytes, offset + 4))
            case rtaGateway: gateway = true
            case rtaMultipath: multipath = true
            default: break
            }
            offset += (length + 3) & ~3
        }
        guard type == rtnUnicast else {
            return .notPodRoute("a \(routeTypeNames[type] ?? "type \(type)") route, not a pod's")
        }
        if gateway { return .notPodRoute("a route via a gateway, not a pod's") }
        if multipath { return .notPodRoute("a multipath route, not a pod's") }
        guard dstLength == 32 else { return .notPodRoute("a /\(dstLength) route, not a per-pod /32") }
        guard let oif, oif > 0 else { return .notPodRoute("a route without an output interface") }
        return .podRoute(ifindex: oif)
    }

    private static func u16(_ b: [UInt8], _ at: Int) -> UInt16 {
        var v: UInt16 = 0
        withUnsafeMutableBytes(of: &v) { for i in 0..<2 { $0[i] = b[at + i] } }
        return v
    }

    private static func u32(_ b: [UInt8], _ at: Int) -> UInt32 {
        var v: UInt32 = 0
        withUnsafeMutableBytes(of: &v) { for i in 0..<4 { $0[i] = b[at + i] } }
        return v
    }

    // MARK: the socket

    /// Asks the kernel (in this thread's network namespace) for the route to `address`.
    static func lookup(_ address: IPv4Address) -> Answer {
        // SOCK_RAW (3) | SOCK_CLOEXEC (0o2000000), protocol NETLINK_ROUTE (0): Linux's values,
        // spelled out because Glibc's socket-type enum is not visible in every build of the module.
        let fd = socket(AF_NETLINK, 3 | 0o2_000_000, 0)
        guard fd >= 0 else { return .failed("netlink socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let sequence: UInt32 = 1  // a socket of its own per query
        let message = request(for: address, sequence: sequence)
        let sent = message.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard sent == message.count else { return .failed("netlink send: \(String(cString: strerror(errno)))") }
        var buffer = [UInt8](repeating: 0, count: 16384)
        for _ in 0..<8 {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return .failed("netlink recv: \(String(cString: strerror(errno)))") }
            let answer = parse(Array(buffer[0..<n]), sequence: sequence)
            if answer != .failed("no answer to the route query") { return answer }
        }
        return .failed("no answer to the route query")
    }

    /// The interface's name (`if_indextoname`), or nil when it is gone.
    static func interfaceName(_ ifindex: Int32) -> String? {
        var name = [CChar](repeating: 0, count: 64)
        guard if_indextoname(UInt32(bitPattern: ifindex), &name) != nil else { return nil }
        return String(cString: name)
    }
}
