import Foundation
import Glibc

/// A blocking HTTP/1 origin on 127.0.0.1:<ephemeral port> for proxy tests. Each accepted
/// connection runs `script` on its own thread; the script reads what it expects and writes canned
/// answers through the `TestSocket`, which records every byte received. `stop()` ends the accept
/// thread, then closes the listener; it waits for no script (scripts end when their sockets time
/// out or close).
final class UpstreamServer {
    let port: UInt16
    private let listenFD: Int32
    private let lock = NSLock()
    private var accepted: [TestSocket] = []
    /// Client ports of barrier connections (`connectionsSoFar`) and, once accepted, how many
    /// connections came before each.
    private var markers: Set<UInt16> = []
    private var acceptedBeforeMarker: [UInt16: Int] = [:]
    private var finished = 0
    private var stopped = false
    /// Signalled when the accept thread has returned for good.
    private let acceptLoopEnded = DispatchSemaphore(value: 0)
    private let script: (TestSocket) -> Void

    /// Starts listening and accepting; nil when no socket could be opened.
    init?(script: @escaping (TestSocket) -> Void) {
        guard let l = Loopback.listen() else { return nil }
        listenFD = l.fd
        port = l.port
        self.script = script
        let thread = Thread { [listenFD, acceptLoopEnded, weak self] in
            defer { acceptLoopEnded.signal() }
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
        let peerPort = Loopback.peerPort(socket.fd)
        lock.lock()
        if markers.contains(peerPort) {
            acceptedBeforeMarker[peerPort] = accepted.count
            lock.unlock()
            return  // the barrier's own connection: closed with `socket`, no script
        }
        accepted.append(socket)
        lock.unlock()
        let script = self.script
        Thread { [weak self] in
            script(socket)
            guard let self else { return }
            self.lock.lock()
            self.finished += 1
            self.lock.unlock()
        }.start()
    }

    /// The number of connections the server accepted before a marker connection made now.
    /// Loopback connects complete in the kernel before `connect` returns and `accept` takes them
    /// in order, so every connection opened before this call is counted, without waiting for time
    /// to pass: "the proxy opened no connection" is checked, not hoped for. -1 when the marker
    /// was not accepted within 5 s.
    func connectionsSoFar() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { Glibc.close(fd) }
        var local = Loopback.address(port: 0)
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { return -1 }
        let marker = Loopback.localPort(fd)
        lock.lock()
        markers.insert(marker)
        lock.unlock()
        var addr = Loopback.address(port: port)
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return -1 }
        var count = -1
        _ = eventually {
            self.lock.lock()
            defer { self.lock.unlock() }
            count = self.acceptedBeforeMarker[marker] ?? -1
            return count >= 0
        }
        return count
    }

    /// The number of connections whose script has returned.
    var finishedScripts: Int {
        lock.lock()
        defer { lock.unlock() }
        return finished
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

    /// Stops accepting and closes the listener; returns once the accept thread has ended.
    ///
    /// The shutdown takes the socket out of LISTEN: a blocked `accept` wakes and a later one fails
    /// at once (EINVAL). The descriptor is closed only after the thread returned. Closing it
    /// earlier let a thread that had not yet reached `accept` (a busy machine starts or resumes
    /// it late) call it on the same descriptor number reopened by the next test's listener: it
    /// took that test's upstream connection and, its own server gone, closed it, so the proxy
    /// answered 503 (seen in `HTTP1ConnectionDecideTests` and `HTTP2ConnectionDecideTests`).
    func stop() {
        lock.lock()
        let first = !stopped
        stopped = true
        lock.unlock()
        guard first else { return }
        _ = Glibc.shutdown(listenFD, Int32(SHUT_RDWR))
        acceptLoopEnded.wait()
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
