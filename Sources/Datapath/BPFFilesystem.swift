internal import CSluice

#if canImport(Glibc)
    internal import Glibc
#endif

/// The BPF filesystem where Sluice pins its maps and its sk_lookup link.
///
/// Pins live in a mount namespace: a process started with `ip netns exec` gets a fresh `/sys`
/// (and so a fresh, empty `/sys/fs/bpf`), and pins it makes there vanish with it. Start the
/// agent with only the network namespace changed (`nsenter --net=...` or `setns`) so that it
/// shares `/sys/fs/bpf` with `sluice observe`.
enum BPFFilesystem {
    /// Where bpffs is mounted on Linux.
    static let mountPoint = "/sys/fs/bpf"
    /// Mode of the directories Sluice creates under bpffs (root only).
    static let directoryMode: mode_t = 0o700

    /// The names Sluice pins under its pin directory: the maps (pinned by libbpf by name) and
    /// the sk_lookup link.
    static let pinnedNames = [
        "sluice_endpoints", "sluice_l7_ports", "sluice_steered", "sluice_proxy_socks",
        "sluice_flow_head", "sluice_flows", "sluice_policy", "sluice_policy_mode", "sluice_ipcache", "sluice_ct",
        "sluice_config", "sluice_veths", "sluice_fragments", "sluice_dns_deny", "sluice_dns_gen", "sluice_dns_stats",
        Datapath.skLookupLinkName,
    ]

    /// Mounts bpffs on `/sys/fs/bpf` unless a bpffs is already mounted there.
    static func ensureMounted() throws {
        if CSluice_is_bpffs(mountPoint) == 1 {
            return
        }
        guard mount("bpf", mountPoint, "bpf", 0, "mode=0700") == 0 else {
            throw DatapathError.fromErrno("mount bpf", mountPoint)
        }
    }

    /// Creates `path` and its missing parents (like `mkdir -p`).
    static func makeDirectories(_ path: String) throws {
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, directoryMode) != 0, Glibc.errno != EEXIST {
                throw DatapathError.fromErrno("mkdir", prefix)
            }
        }
    }

    /// Takes an exclusive `flock` on the directory `path` (created if missing) and returns the
    /// descriptor that holds it; the lock lasts until that descriptor is closed or the process
    /// ends. Tries every 100 ms for `waitMs` (an agent being restarted may still be exiting),
    /// then fails with `EWOULDBLOCK`. Two agents on one pin directory would overwrite each
    /// other's policy maps and sk_lookup link, so the second one must not start.
    static func lockDirectory(_ path: String, waitMs: Int) throws -> Int32 {
        try makeDirectories(path)
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw DatapathError.fromErrno("open", path) }
        var waited = 0
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let error = Glibc.errno
            guard error == EWOULDBLOCK || error == EINTR, waited < waitMs else {
                Glibc.close(fd)
                throw DatapathError(
                    call: "lock", errno: error,
                    context: "\(path) (another sluice-agent uses this pin directory; stop it first)")
            }
            if error == EWOULDBLOCK {
                usleep(100_000)
                waited += 100
            }
        }
        return fd
    }

    /// Removes the pin at `path`; a missing pin is not an error.
    static func unpin(_ path: String) throws {
        if unlink(path) != 0, Glibc.errno != ENOENT {
            throw DatapathError.fromErrno("unlink", path)
        }
    }

    /// Whether something is pinned (or any file exists) at `path`.
    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }
}
