import Glibc
import KubeClient
import SluiceModel

/// This node's own IPv4 addresses when no endpoints file names them
/// (`--endpoints-from=kubernetes`): the ipcache maps them to the reserved identity host (1), as
/// Cilium classes every address of the node, so that the node's own traffic to its pods (the
/// kubelet's health probes) is `host`, not `world`.
///
/// Sources: every IPv4 address of the agent's network namespace (the node's, the agent runs
/// with hostNetwork) but 127/8, read with an `RTM_GETADDR` dump, and the `status.hostIP` of
/// this node's pods. The request and the reply parsing are pure (`request`, `parse`,
/// byte-fixture tests), as is the choice of the set (`choose`); `lookup` only sends and
/// receives.
enum NodeAddresses {
    /// What one reply buffer of the dump says.
    enum Chunk: Equatable {
        /// Addresses (network order) of this buffer; more buffers follow.
        case more([UInt32])
        /// Addresses of this buffer, and the dump is complete.
        case done([UInt32])
        /// The dump failed or the reply could not be read.
        case failed(String)
    }

    // Netlink and rtnetlink constants (linux/netlink.h, linux/rtnetlink.h, linux/if_addr.h).
    static let headerSize = 16
    static let ifaddrmsgSize = 8
    static let nlmsgError: UInt16 = 2
    static let nlmsgDone: UInt16 = 3
    static let rtmNewAddr: UInt16 = 20
    static let rtmGetAddr: UInt16 = 22
    /// NLM_F_REQUEST | NLM_F_DUMP (NLM_F_ROOT | NLM_F_MATCH).
    static let dumpFlags: UInt16 = 0x301
    static let ifaAddress: UInt16 = 1
    static let ifaLocal: UInt16 = 2

    /// The `RTM_GETADDR` dump request for the IPv4 addresses of every interface.
    static func request(sequence: UInt32) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(headerSize + ifaddrmsgSize)
        func u16(_ v: UInt16) { withUnsafeBytes(of: v) { out += $0 } }
        func u32(_ v: UInt32) { withUnsafeBytes(of: v) { out += $0 } }
        u32(UInt32(headerSize + ifaddrmsgSize))
        u16(rtmGetAddr)
        u16(dumpFlags)
        u32(sequence)
        u32(0)
        // ifaddrmsg: family, prefixlen, flags, scope, index (all interfaces).
        out += [UInt8(AF_INET), 0, 0, 0]
        u32(0)
        return out
    }

    /// Reads one buffer of the kernel's reply to the dump with `sequence` (messages of other
    /// sequence numbers are skipped): each IPv4 address's `IFA_LOCAL` (else `IFA_ADDRESS`), 127/8
    /// left out. Never traps on short or malformed input.
    static func parse(_ reply: [UInt8], sequence: UInt32) -> Chunk {
        var addresses: [UInt32] = []
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
                return .failed("RTM_GETADDR: \(String(cString: strerror(-error)))")
            case nlmsgDone:
                return .done(addresses)
            case rtmNewAddr:
                switch address(reply, from: offset + headerSize, to: end) {
                case .success(let ip?): addresses.append(ip)
                case .success(nil): break
                case .failure(let error): return .failed(error.message)
                }
            default:
                continue
            }
        }
        guard offset == reply.count else { return .failed("a truncated netlink message at \(offset)") }
        return .more(addresses)
    }

    struct ParseError: Error { var message: String }

    /// One `RTM_NEWADDR` body in `bytes[start..<end]`: its IPv4 address (network order), nil for
    /// another family or a loopback address.
    private static func address(_ bytes: [UInt8], from start: Int, to end: Int) -> Result<UInt32?, ParseError> {
        guard start + ifaddrmsgSize <= end else { return .failure(ParseError(message: "short address message")) }
        guard bytes[start] == UInt8(AF_INET) else { return .success(nil) }
        var local: UInt32?
        var peer: UInt32?
        var offset = start + ifaddrmsgSize
        while offset + 4 <= end {
            let length = Int(u16(bytes, offset))
            let attribute = u16(bytes, offset + 2) & 0x3fff
            guard length >= 4, offset + length <= end else {
                return .failure(ParseError(message: "malformed address attribute at \(offset)"))
            }
            if length == 8 {
                if attribute == ifaLocal { local = u32(bytes, offset + 4) }
                if attribute == ifaAddress { peer = u32(bytes, offset + 4) }
            }
            offset += (length + 3) & ~3
        }
        guard let ip = local ?? peer, !isLoopback(ip) else { return .success(nil) }
        return .success(ip)
    }

    /// Whether `networkOrder` is in 127.0.0.0/8.
    static func isLoopback(_ networkOrder: UInt32) -> Bool {
        IPv4Address(networkOrder: networkOrder).hostOrder >> 24 == 127
    }

    /// The node's addresses (network order, sorted, each once): `interfaces` (this namespace's),
    /// `fixed` (the endpoints file's `nodeIP`) and the `status.hostIP` of the pods of `workloads`
    /// on `nodeName`; never 0.0.0.0, a 127/8 address or one of `endpointIPs` (a local pod's own
    /// address keeps its pod identity whatever a stale status says).
    static func choose(
        interfaces: [UInt32], fixed: [UInt32], workloads: KubeWorkloads.State?, nodeName: String,
        endpointIPs: Set<UInt32>
    ) -> [UInt32] {
        var out = Set(interfaces).union(fixed)
        for pod in workloads?.pods.values.map({ $0 }) ?? [] where pod.nodeName == nodeName {
            if let ip = IPv4Address(pod.hostIP) { out.insert(ip.networkOrder) }
        }
        return out.filter { $0 != 0 && !isLoopback($0) && !endpointIPs.contains($0) }.sorted {
            IPv4Address(networkOrder: $0).hostOrder < IPv4Address(networkOrder: $1).hostOrder
        }
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

    /// The IPv4 addresses (network order) of every interface in this thread's network namespace
    /// but 127/8, or why they could not be read.
    static func lookup() -> Result<[UInt32], ParseError> {
        // SOCK_RAW (3) | SOCK_CLOEXEC, NETLINK_ROUTE (0), as PodRoute.lookup.
        let fd = socket(AF_NETLINK, 3 | 0o2_000_000, 0)
        guard fd >= 0 else {
            return .failure(ParseError(message: "netlink socket: \(String(cString: strerror(errno)))"))
        }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let sequence: UInt32 = 1  // a socket of its own per dump
        let message = request(sequence: sequence)
        let sent = message.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard sent == message.count else {
            return .failure(ParseError(message: "netlink send: \(String(cString: strerror(errno)))"))
        }
        var buffer = [UInt8](repeating: 0, count: 32768)
        var addresses: [UInt32] = []
        // A node has a bounded number of addresses; a dump that never ends is an error.
        for _ in 0..<4096 {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else {
                return .failure(ParseError(message: "netlink recv: \(String(cString: strerror(errno)))"))
            }
            switch parse(Array(buffer[0..<n]), sequence: sequence) {
            case .more(let some): addresses += some
            case .done(let last): return .success(addresses + last)
            case .failed(let reason): return .failure(ParseError(message: reason))
            }
        }
        return .failure(ParseError(message: "the address dump did not end"))
    }
}
