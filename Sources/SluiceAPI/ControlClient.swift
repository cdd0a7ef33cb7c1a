import Glibc
import SluiceJSON

/// Sends one request to the agent and returns its answer: the client writes a JSON request and
/// shuts down its write side; the agent answers with a JSON response and closes.
public enum ControlClient {
    public static func send(_ request: ControlRequest, path: String) throws -> ControlResponse {
        // Encoded before connecting: the agent's clock for this client runs from the accept, and
        // a policy file of 100,000 rules takes a while to encode.
        let bytes = try JSON.encode(request)
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
            throw ControlError(
                message: "cannot reach the agent at \(path): \(String(cString: strerror(errno))) (is the sandbox up?)")
        }
        ControlSocket.writeAll(fd, bytes)
        shutdown(fd, Int32(SHUT_WR))
        let data = ControlSocket.readAll(fd)
        guard let response = try? JSON.decode(ControlResponse.self, from: data) else {
            throw ControlError(message: "the agent gave no answer")
        }
        return response
    }

    /// Sends `op` and decodes the JSON its answer carries (`introspect`, `ct-list`).
    public static func query<T: Decodable>(_ op: ControlOperation, as type: T.Type, path: String) throws -> T {
        let response = try send(ControlRequest(op: op), path: path)
        guard response.ok else { throw ControlError(message: response.message) }
        return try JSON.decode(T.self, from: Array(response.message.utf8))
    }
}

/// Unix-socket plumbing shared by `ControlClient` and the agent's control server.
public enum ControlSocket {
    public static func address(_ path: String) throws -> sockaddr_un {
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

    /// Reads until end of file (or an error).
    public static func readAll(_ fd: Int32) -> [UInt8] {
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

    /// Writes all of `data` unless the peer goes away.
    public static func writeAll(_ fd: Int32, _ data: [UInt8]) {
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
