internal import CSluice
import Glibc
import SluiceAPI
import SluiceIO
import SluiceJSON

/// Serves control requests (`ControlRequest`, SluiceAPI) on a unix stream socket, one at a time,
/// on the calling thread: the client writes a JSON request and shuts down its write side; the
/// server answers with a JSON response and closes.
final class ControlServer {
    let path: String
    let handler: (ControlRequest) -> ControlResponse

    init(path: String, handler: @escaping (ControlRequest) -> ControlResponse) {
        self.path = path
        self.handler = handler
    }

    func serve() throws {
        let fd = try Self.bindListening(path: path)
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

    /// A listening socket at `path` (an old one is replaced), readable by root only.
    static func bindListening(path: String) throws -> Int32 {
        try Files.createDirectories(Files.directory(of: path))
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlError(message: "socket: \(String(cString: strerror(errno)))") }
        var addr = try ControlSocket.address(path)
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
}
