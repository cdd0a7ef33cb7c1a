#if canImport(Glibc)
    internal import Glibc
#endif

/// A failed system or libbpf call in `Datapath`: the call, the errno it reported and what it
/// was working on (a path, an interface index, a map).
public struct DatapathError: Error, CustomStringConvertible, Equatable {
    /// The C function or command that failed, e.g. `bpf_tc_attach`.
    public let call: String
    /// The errno value (positive); 0 when the failure had none (e.g. a command's exit status).
    public let errno: Int32
    /// What the call was applied to, e.g. `ifindex 7` or `/sys/fs/bpf/sluice`.
    public let context: String

    /// Creates an error for `call` failing with `errno` on `context`.
    public init(call: String, errno: Int32, context: String = "") {
        self.call = call
        self.errno = errno
        self.context = context
    }

    /// `call(context): strerror(errno)`.
    public var description: String {
        let target = context.isEmpty ? "" : "(\(context))"
        guard errno != 0 else { return "\(call)\(target) failed" }
        return "\(call)\(target): \(String(cString: strerror(errno)))"
    }

    /// Whether the failure was `ENOENT` (a missing pin, map entry or filter).
    public var isNotFound: Bool { errno == ENOENT }
}

extension DatapathError {
    /// An error from the calling thread's current `errno` (C calls returning -1 or NULL).
    static func fromErrno(_ call: String, _ context: String = "") -> DatapathError {
        DatapathError(call: call, errno: Glibc.errno, context: context)
    }

    /// Converts a libbpf 1.x integer result (negative errno on failure) into a thrown error.
    @discardableResult
    static func check(_ result: Int32, _ call: String, _ context: String = "") throws -> Int32 {
        guard result < 0 else { return result }
        throw DatapathError(call: call, errno: -result, context: context)
    }

    /// Converts a libbpf low-level map call result (-1 with errno, or a negative errno) into a
    /// thrown error. libbpf 1.x returns the negative errno and also sets errno.
    static func checkMapCall(_ result: Int32, _ call: String, _ context: String) throws(DatapathError) {
        guard result < 0 else { return }
        throw DatapathError(call: call, errno: result == -1 ? Glibc.errno : -result, context: context)
    }
}
