import Glibc

/// A failed system call: the call's name and its errno.
public struct SyscallError: Error, CustomStringConvertible, Equatable {
    /// The C function that failed, e.g. "accept4".
    public let call: String
    /// The errno value.
    public let errno: Int32

    public init(_ call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    /// Builds an error from a shim's `-errno` return value.
    public init(_ call: String, negated: Int32) {
        self.init(call, errno: -negated)
    }

    public var description: String {
        "\(call): \(String(cString: strerror(errno))) (errno \(errno))"
    }

    /// EAGAIN / EWOULDBLOCK: the call would block.
    public var isWouldBlock: Bool { errno == EAGAIN || errno == EWOULDBLOCK }
}
