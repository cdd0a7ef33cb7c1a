import Glibc

/// The agent's open-file limit (RLIMIT_NOFILE). Each proxied connection holds two descriptors,
/// and the default soft limit (1024) would stop a node's proxy at about 500 connections, so the
/// agent raises the soft limit to the hard one before it opens anything.
enum ProcessLimits {
    /// The soft and hard open-file limits, or nil when they cannot be read.
    static func openFiles() -> (soft: UInt64, hard: UInt64)? {
        var limit = rlimit()
        guard getrlimit(RLIMIT_NOFILE_ID, &limit) == 0 else { return nil }
        return (UInt64(limit.rlim_cur), UInt64(limit.rlim_max))
    }

    /// Raises the soft open-file limit to the hard one; returns the soft limit in force after
    /// it (unchanged when the raise fails).
    @discardableResult
    static func raiseOpenFiles() -> UInt64 {
        guard let now = openFiles() else { return 1024 }
        guard now.soft < now.hard else { return now.soft }
        var limit = rlimit(rlim_cur: rlim_t(now.hard), rlim_max: rlim_t(now.hard))
        guard setrlimit(RLIMIT_NOFILE_ID, &limit) == 0 else { return now.soft }
        return now.hard
    }

    /// `RLIMIT_NOFILE` as the type setrlimit takes (Glibc imports it as an enum case).
    private static var RLIMIT_NOFILE_ID: __rlimit_resource_t { __rlimit_resource_t(RLIMIT_NOFILE.rawValue) }
}
