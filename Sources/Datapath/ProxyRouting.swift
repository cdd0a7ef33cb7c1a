#if canImport(Glibc)
    internal import Glibc
#endif

/// Policy routing that delivers packets marked by tc (`SLUICE_MARK_TO_PROXY`) locally, where
/// sk_lookup hands them to the proxy: the same mark, table and rule priority as Cilium.
extension Datapath {
    /// `ip rule` priority of the proxy rule (Cilium's `linux_defaults.RulePriorityToProxyIngress`).
    static let proxyRulePriority = "9"
    static let proxyRuleSelector = ["fwmark", "0x200/0xf00", "lookup", "2004"]
    static let ipCommandCandidates = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]

    /// Sysctls of the hairpin (bpf/lib/steer.h, `sluice_steer_to_endpoint`): packets of clients that
    /// are not local pods re-enter the stack on the loopback device after routing.
    /// - `conf.lo.accept_local=1`: the node's own curl has a local source address, which the
    ///   stack otherwise drops as a martian (Cilium sets it on cilium_host for the same reason).
    /// - `tcp_early_demux=0`: early demux would find the proxy's socket for a forwarded packet of
    ///   a hairpinned connection (same 4-tuple) and attach it, and `ip_forward` drops packets
    ///   that carry a socket: the world client's handshake never completes (measured). Without
    ///   it, local TCP delivery looks the route up per packet (AWS VPC CNI turns it off for the
    ///   same kind of hairpin). Per network namespace: the node's.
    static let hairpinSysctls = [
        ("/proc/sys/net/ipv4/conf/lo/accept_local", "1"),
        ("/proc/sys/net/ipv4/tcp_early_demux", "0"),
    ]

    /// Installs, in the caller's network namespace and idempotently,
    /// `ip rule add fwmark 0x200/0xf00 pref 9 lookup 2004`,
    /// `ip route replace local 0.0.0.0/0 dev lo table 2004` and the hairpin sysctls.
    public static func installProxyRouting() throws {
        for (path, value) in hairpinSysctls {
            try writeSysctl(path, value)
        }
        let ip = try ipCommand()
        let existing = try run(ip, ["-4", "rule", "show"] + proxyRuleSelector)
        if existing.output.isEmpty || existing.status != 0 {
            let added = try run(ip, ["-4", "rule", "add"] + proxyRuleSelector + ["pref", proxyRulePriority])
            guard added.status == 0 else {
                throw DatapathError(call: "ip rule add", errno: 0, context: added.output)
            }
        }
        let route = try run(ip, ["-4", "route", "replace", "local", "0.0.0.0/0", "dev", "lo", "table", "2004"])
        guard route.status == 0 else {
            throw DatapathError(call: "ip route replace", errno: 0, context: route.output)
        }
    }

    /// Writes `value` to a /proc/sys file of the calling thread's network namespace.
    static func writeSysctl(_ path: String, _ value: String) throws {
        let fd = Glibc.open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw DatapathError.fromErrno("open", path) }
        defer { Glibc.close(fd) }
        let written = value.utf8CString.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress, $0.count - 1) }
        guard written == value.utf8.count else { throw DatapathError.fromErrno("write", path) }
    }

    private static func ipCommand() throws -> String {
        for path in ipCommandCandidates where access(path, X_OK) == 0 {
            return path
        }
        throw DatapathError(call: "access", errno: ENOENT, context: "ip command")
    }

    /// Runs `path args` with posix_spawn and returns its exit status and combined output.
    static func run(_ path: String, _ args: [String]) throws -> (status: Int32, output: String) {
        var pipeFDs: [Int32] = [-1, -1]
        guard pipe(&pipeFDs) == 0 else { throw DatapathError.fromErrno("pipe", path) }
        // The read end must not leak into the child, or EOF would never come.
        _ = fcntl(pipeFDs[0], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 2)

        let argv = ([path] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, nil, argv, environ)
        Glibc.close(pipeFDs[1])
        defer { Glibc.close(pipeFDs[0]) }
        guard spawned == 0 else { throw DatapathError(call: "posix_spawn", errno: spawned, context: path) }

        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(pipeFDs[0], $0.baseAddress, $0.count) }
            if n > 0 { output += buffer[0..<n]; continue }
            if n < 0 && Glibc.errno == EINTR { continue }
            break
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard Glibc.errno == EINTR else { throw DatapathError.fromErrno("waitpid", path) }
        }
        let exited = (status & 0x7F) == 0
        let text = String(decoding: output, as: UTF8.self).trimmingTrailingNewlines()
        return (exited ? (status >> 8) & 0xFF : -1, text)
    }
}

extension String {
    fileprivate func trimmingTrailingNewlines() -> String {
        var result = self
        while result.last == "\n" { result.removeLast() }
        return result
    }
}
