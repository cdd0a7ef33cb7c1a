import Foundation
import Glibc

/// A blocking HTTP/1 origin on 127.0.0.1:<ephemeral port> for proxy tests. Each accepted
/// connection runs `script` on its own thread; the script reads what it expects and writes canned
/// answers through the `TestSocket`, which records every byte received. `stop()` closes the
/// listener and waits for nothing (scripts end when their sockets time out or close).
final class UpstreamServer {
    let port: UInt16
    private let listenFD: Int32
    private let lock = NSLock()
    private var accepted: [TestSocket] = []
    private let script: (TestSocket) -> Void

    /// Starts listening and accepting; nil when no socket could be opened.
    init?(script: @escaping (TestSocket) -> Void) {
        guard let l = Loopback.listen() else { return nil }
        listenFD = l.fd
        port = l.port
        self.script = script
        let thread = Thread { [listenFD, weak self] in
            while true {
                let fd = Glibc.accept(listenFD, nil, nil)
                if fd < 0 {
                    if errno == EINTR { continue }
                    return
                }
                guard let self else {
                    Glibc.close(fd)
                    return
                }
                self.handle(TestSocket(fd: fd))
            }
        }
        thread.start()
    }

    private func handle(_ socket: TestSocket) {
        lock.lock()
        accepted.append(socket)
        lock.unlock()
        let script = self.script
        Thread { script(socket) }.start()
    }

    /// The connections accepted so far, in order.
    var connections: [TestSocket] {
        lock.lock()
        defer { lock.unlock() }
        return accepted
    }

    /// All bytes received on connection `index` (empty when there is none).
    func received(_ index: Int = 0) -> String {
        let c = connections
        return index < c.count ? String(decoding: c[index].received, as: UTF8.self) : ""
    }

    /// Stops accepting (shutdown wakes the blocked accept) and closes the listener.
    func stop() {
        _ = Glibc.shutdown(listenFD, Int32(SHUT_RDWR))
        Glibc.close(listenFD)
    }

    // MARK: canned scripts

    /// Reads one request head per answer and writes the answer; for each request with a
    /// Content-Length body, reads that body first. Closes after the last answer.
    static func answering(_ answers: [String], closeAfter: Bool = true) -> (TestSocket) -> Void {
        { socket in
            for answer in answers {
                let request = socket.readMessage()
                if request.isEmpty { return }
                socket.send(answer)
            }
            if closeAfter { socket.shutdownWrite() } else { _ = socket.readToEnd() }
        }
    }

    /// Answers every request with 200 and a body naming the request line, until the proxy closes.
    static let echoRequestLine: (TestSocket) -> Void = { socket in
        while true {
            let request = socket.readMessage()
            if request.isEmpty { return }
            let line = String(decoding: request, as: UTF8.self).components(separatedBy: "\r\n")[0]
            socket.send("HTTP/1.1 200 OK\r\ncontent-length: \(line.utf8.count)\r\n\r\n\(line)")
        }
    }
}
