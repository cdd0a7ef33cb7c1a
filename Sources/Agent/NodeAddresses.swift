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
    static let ifaddrmsgSize = 8
    static let rtmNewAddr: UInt16 = 20
    static let rtmGetAddr: UInt16 = 22
    static let ifaAddress: UInt16 = 1
    static let ifaLocal: UInt16 = 2

    /// The `RTM_GETADDR` dump request for the IPv4 addresses of every interface.
    static func request(sequence: UInt32) -> [UInt8] {
        var out = Netlink.header(
            type: rtmGetAddr, flags: Netlink.flagRequest | Netlink.flagDump, sequence: sequence,
            bodyLength: ifaddrmsgSize)
        // ifaddrmsg: family, prefixlen, flags, scope, index (all interfaces).
        out += [UInt8(AF_INET), 0, 0, 0] + Netlink.bytes(UInt32(0))
        return out
    }

    /// Reads one buffer of the kernel's reply to the dump with `sequence` (messages of other
    /// sequence numbers are skipped): each IPv4 address's `IFA_LOCAL` (else `IFA_ADDRESS`), 127/8
    /// left out. Never traps on short or malformed input.
    static func parse(_ reply: [UInt8], sequence: UInt32) -> Chunk {
        var addresses: [UInt32] = []
        let walk: Netlink.Walk<Chunk> = Netlink.walk(reply, sequence: sequence) { type, start, end in
            switch type {
            case Netlink.nlmsgError:
                guard let code = Netlink.errorCode(reply, from: start, to: end) else {
                    return .failed("short netlink error message")
                }
                return code == 0 ? nil : .failed("RTM_GETADDR: \(String(cString: strerror(code)))")
            case Netlink.nlmsgDone:
                return .done(addresses)
            case rtmNewAddr:
                switch address(reply, from: start + Netlink.headerSize, to: end) {
                case .success(let ip?): addresses.append(ip)
                case .success(nil): break
                case .failure(let error): return .failed(error.message)
                }
                return nil
            default:
                return nil
            }
        }
        switch walk {
        case .stopped(let chunk): return chunk
        case .malformed(let reason): return .failed(reason)
        case .ended(let offset):
            guard offset == reply.count else { return .failed("a truncated netlink message at \(offset)") }
            return .more(addresses)
        }
    }

    struct ParseError: Error { var message: String }

    /// One `RTM_NEWADDR` body in `bytes[start..<end]`: its IPv4 address (network order), nil for
    /// another family or a loopback address.
    private static func address(_ bytes: [UInt8], from start: Int, to end: Int) -> Result<UInt32?, ParseError> {
        guard start + ifaddrmsgSize <= end else { return .failure(ParseError(message: "short address message")) }
        guard bytes[start] == UInt8(AF_INET) else { return .success(nil) }
        var local: UInt32?
        var peer: UInt32?
        let malformed = Netlink.attributes(bytes, from: start + ifaddrmsgSize, to: end) { type, value, length in
            guard length == 8 else { return }
            if type == ifaLocal { local = Netlink.u32(bytes, value) }
            if type == ifaAddress { peer = Netlink.u32(bytes, value) }
        }
        if let offset = malformed {
            return .failure(ParseError(message: "malformed address attribute at \(offset)"))
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

    // MARK: the socket

    /// The IPv4 addresses (network order) of every interface in this thread's network namespace
    /// but 127/8, or why they could not be read.
    static func lookup() -> Result<[UInt32], ParseError> {
        let sequence: UInt32 = 1  // a socket of its own per dump
        var addresses: [UInt32] = []
        // A node has a bounded number of addresses; a dump that never ends is an error.
        let outcome = Netlink.exchange(request(sequence: sequence), bufferSize: 32768, reads: 4096) {
            reply -> Result<[UInt32], ParseError>? in
            switch parse(reply, sequence: sequence) {
            case .more(let some):
                addresses += some
                return nil
            case .done(let last): return .success(addresses + last)
            case .failed(let reason): return .failure(ParseError(message: reason))
            }
        }
        switch outcome {
        case .failure(let error): return .failure(ParseError(message: error.message))
        case .success(let result?): return result
        case .success(nil): return .failure(ParseError(message: "the address dump did not end"))
        }
    }
}
