import Glibc
import Policy
import SluiceIO
import SluiceJSON
internal import CSluice

/// A control request: one JSON object per connection, sent by `sluice apply`, `sluice policy get`.
public struct ControlRequest: Codable, Sendable {
    /// "apply", "get" or "status".
    public var op: String
    /// apply: the file's name (for error messages) and its documents, parsed from YAML by the
    /// CLI (`PolicyYAML`) with their lines and columns, so the agent's errors still point into
    /// the file. The agent has no YAML parser (it would bring Foundation into its memory).
    public var file: String?
    public var documents: [PolicyNode]?

    public init(op: String, file: String? = nil, documents: [PolicyNode]? = nil) {
        self.op = op
        self.file = file
        self.documents = documents
    }
}

/// The agent's answer.
public struct ControlResponse: Codable, Sendable {
    public var ok: Bool
    public var message: String

    public init(ok: Bool, message: String) {
        self.ok = ok
        self.message = message
    }
}

/// Serves control requests on a unix stream socket, one at a time, on the calling thread: the
/// client writes a JSON request and shuts down its write side; the server answers with a JSON
/// response and closes.
final class ControlServer {
    let path: String
    let handler: (ControlRequest) -> ControlResponse

    init(path: String, handler: @escaping (ControlRequest) -> ControlResponse) {
        self.path = path
        self.handler = handler
    }

    func serve() throws {
        let fd = try ControlSocket.bindListening(path: path)
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                throw ControlError(message: "accept on \(path): \(String(cString: strerror(errno)))")
            }
            let requestBytes = answer(client)
            close(client)
            // A large request (a policy file) leaves its text, its decoded trees and the policy
            // it replaced freed but resident, scattered between live blocks where free() cannot
            // give them back; hand those pages to the kernel once it is answered.
            if requestBytes >= Self.trimAfterBytes { _ = CSluice_release_free_memory() }
        }
    }

    /// Requests at least this large are followed by returning the heap's free pages.
    static let trimAfterBytes = 64 * 1024

    /// Reads, decodes and answers one request; returns its size. Everything it allocated is
    /// released when it returns.
    private func answer(_ client: Int32) -> Int {
        let body = ControlSocket.readAll(client)
        let response: ControlResponse
        do {
            response = handler(try JSON.decode(ControlRequest.self, from: body))
        } catch {
            response = ControlResponse(ok: false, message: "malformed control request: \(error)")
        }
        if let data = try? JSON.encode(response) { ControlSocket.writeAll(client, data) }
        return body.count
    }
}

public struct ControlError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Unix-socket plumbing shared by the server and `ControlClient`.
enum ControlSocket {
    static func address(_ path: String) throws -> sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            throw ControlError(message: "socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        return addr
    }

    static func bindListening(path: String) throws -> Int32 {
        try Files.createDirectories(Files.directory(of: path))
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlError(message: "socket: \(String(cString: strerror(errno)))") }
        var addr = try address(path)
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard r == 0, listen(fd, 16) == 0 else {
            throw ControlError(message: "bind \(path): \(String(cString: strerror(errno)))")
        }
        chmod(path, 0o600)
        return fd
    }

    static func readAll(_ fd: Int32) -> [UInt8] {
        var data: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                data.append(contentsOf: buf[0..<n])
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        return data
    }

    static func writeAll(_ fd: Int32, _ data: [UInt8]) {
        data.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = write(fd, raw.baseAddress! + off, raw.count - off)
                if n <= 0 {
                    if n < 0 && errno == EINTR { continue }
                    return
                }
                off += n
            }
        }
    }
}

/// Sends one request to the agent and returns its answer.
public enum ControlClient {
    public static func send(_ request: ControlRequest, path: String) throws -> ControlResponse {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlError(message: "socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var addr = try ControlSocket.address(path)
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard r == 0 else {
            throw ControlError(message: "cannot reach the agent at \(path): \(String(cString: strerror(errno))) (is the sandbox up?)")
        }
        ControlSocket.writeAll(fd, try JSON.encode(request))
        shutdown(fd, Int32(SHUT_WR))
        let data = ControlSocket.readAll(fd)
        guard let response = try? JSON.decode(ControlResponse.self, from: data) else {
            throw ControlError(message: "the agent gave no answer")
        }
        return response
    }
}
