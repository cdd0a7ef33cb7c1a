/// Why a sandbox operation failed. A struct over a private enum so cases can be added.
public struct SandboxError: Error, Equatable, Sendable, CustomStringConvertible {
    private enum Kind: Equatable, Sendable {
        case commandFailed(command: [String], status: Int32, stderr: String)
        case cannotStart(command: [String], errno: Int32)
        case serverNotReady(owner: String, kind: String, port: Int, reason: String, logTail: String)
        case unknownTarget(String)
        case io(path: String, reason: String)
        case badState(path: String, reason: String)
        case addressSpaceExhausted(pods: Int)
        case teardown(original: String, cleanup: String)
        case cleanupIncomplete([String])
    }

    private let kind: Kind

    private init(_ kind: Kind) {
        self.kind = kind
    }

    /// An external command exited non-zero (or by a signal, `status` 128 + signal).
    static func commandFailed(_ command: [String], status: Int32, stderr: String) -> SandboxError {
        SandboxError(.commandFailed(command: command, status: status, stderr: stderr))
    }

    /// `posix_spawn` of a command failed.
    static func cannotStart(_ command: [String], errno: Int32) -> SandboxError {
        SandboxError(.cannotStart(command: command, errno: errno))
    }

    /// A server did not accept connections in time, or exited.
    static func serverNotReady(
        owner: String, kind: String, port: Int, reason: String,
        logTail: String
    ) -> SandboxError {
        SandboxError(.serverNotReady(owner: owner, kind: kind, port: port, reason: reason, logTail: logTail))
    }

    /// `exec` named a pod the sandbox does not have.
    static func unknownTarget(_ target: String) -> SandboxError {
        SandboxError(.unknownTarget(target))
    }

    /// Reading or writing a file failed.
    static func io(path: String, reason: String) -> SandboxError {
        SandboxError(.io(path: path, reason: reason))
    }

    /// `state.json` exists but cannot be decoded.
    static func badState(path: String, reason: String) -> SandboxError {
        SandboxError(.badState(path: path, reason: reason))
    }

    /// More pods than addresses in `10.244.0.0/16`.
    static func addressSpaceExhausted(pods: Int) -> SandboxError {
        SandboxError(.addressSpaceExhausted(pods: pods))
    }

    /// `up` failed and the teardown that followed failed too.
    static func teardown(original: Error, cleanup: Error) -> SandboxError {
        SandboxError(.teardown(original: "\(original)", cleanup: "\(cleanup)"))
    }

    /// `down` could not remove everything; each string names what is left and why.
    static func cleanupIncomplete(_ problems: [String]) -> SandboxError {
        SandboxError(.cleanupIncomplete(problems))
    }

    public var description: String {
        switch kind {
        case .commandFailed(let command, let status, let stderr):
            let detail = stderr.isEmpty ? "" : ": \(stderr)"
            return "command failed (exit \(status)): \(command.joined(separator: " "))\(detail)"
        case .cannotStart(let command, let errno):
            return "cannot start \(command.first ?? "?") (errno \(errno)): \(command.joined(separator: " "))"
        case .serverNotReady(let owner, let kind, let port, let reason, let logTail):
            let log = logTail.isEmpty ? "" : "\n--- last lines of its log ---\n\(logTail)"
            return "server \(kind):\(port) of \(owner) \(reason)\(log)"
        case .unknownTarget(let target):
            return "no pod \"\(target)\" in the sandbox (write NAMESPACE/POD; a bare POD means namespace default; "
                + "world/NAME for a world host, node for the node)"
        case .io(let path, let reason):
            return "\(path): \(reason)"
        case .badState(let path, let reason):
            return "\(path): unreadable sandbox state: \(reason)"
        case .addressSpaceExhausted(let pods):
            return "\(pods) pods do not fit in 10.244.0.0/16"
        case .teardown(let original, let cleanup):
            return "\(original)\n(cleaning up after it also failed: \(cleanup))"
        case .cleanupIncomplete(let problems):
            return "sandbox not fully removed:\n" + problems.joined(separator: "\n")
        }
    }
}
