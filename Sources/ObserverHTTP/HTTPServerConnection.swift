import HTTP1
import SluiceIO

/// One accepted connection of the observer's HTTP/1.1 server: reads request heads (the project's
/// HTTP/1 parser), answers each through `route`, keeps the connection for the next request unless
/// the client or an error says otherwise. GET and HEAD only, no request bodies (a body is 400 and
/// close); a connection idle for `idleTimeoutNs` is closed.
///
/// Loop thread only. Owns its descriptor; `close()` (idempotent) releases it.
final class HTTPServerConnection: EventHandler, TimerTarget {
    static let maxHeadBytes = 16 * 1024
    static let idleTimeoutNs: UInt64 = 30_000_000_000

    private let loop: EventLoop
    private var fd: Int32
    private var registration = EventLoop.Registration.none
    private let input = IOBuffer(capacity: 4096, limit: HTTPServerConnection.maxHeadBytes)
    private var output: [UInt8] = []
    private var outputSent = 0
    private var closeAfterWrite = false
    private var head = RequestHead()
    private lazy var idleTimer = LoopTimer(target: self)
    private let route: (HTTPRequest) -> HTTPResponse
    private let onClose: (HTTPServerConnection) -> Void

    init(
        loop: EventLoop, fd: Int32, route: @escaping (HTTPRequest) -> HTTPResponse,
        onClose: @escaping (HTTPServerConnection) -> Void
    ) throws(SyscallError) {
        self.loop = loop
        self.fd = fd
        self.route = route
        self.onClose = onClose
        registration = try loop.register(fd: fd, events: EventLoop.Events.readable, handler: self, tag: 0)
        loop.schedule(idleTimer, at: loop.now + Self.idleTimeoutNs)
    }

    var isOpen: Bool { fd >= 0 }

    func handleEvents(_ events: UInt32, tag: UInt32) {
        if !output.isEmpty {
            flush()
            return
        }
        readAndAnswer()
    }

    func timerFired(now: UInt64) { close() }

    private func readAndAnswer() {
        while fd >= 0 {
            if input.writableCount == 0, !input.reserveSpace() {
                answer(HTTPResponse(status: 431, text: "request head too large\n"), close: true)
                return
            }
            switch Socket.read(fd, into: input) {
            case .bytes: answerComplete()
            case .wouldBlock: return
            case .eof, .error:
                close()
                return
            }
            if !output.isEmpty { return }
        }
    }

    /// Answers every complete request in the buffer (pipelining), in order.
    private func answerComplete() {
        while fd >= 0, output.isEmpty, !input.isEmpty {
            let result = HTTP1Parser.parseRequestHead(input.readable, into: &head)
            switch result {
            case .needMore: return
            case .error(let error):
                answer(HTTPResponse(status: error.status, text: error.reason + "\n"), close: true)
                return
            case .complete:
                let bytes = input.readable
                let method = String(decoding: head.method(in: bytes), as: UTF8.self)
                let target = String(decoding: head.target(in: bytes), as: UTF8.self)
                let keepAlive = head.keepAlive
                let hasBody = head.framing != .none && head.framing != .contentLength(0)
                input.consume(head.headLength)
                if hasBody {
                    answer(HTTPResponse(status: 400, text: "request bodies are not accepted\n"), close: true)
                } else if method != "GET" && method != "HEAD" {
                    answer(HTTPResponse(status: 405, text: "only GET and HEAD\n"), close: !keepAlive)
                } else {
                    let response = route(HTTPRequest(method: method, target: target))
                    answer(response, close: !keepAlive, headOnly: method == "HEAD")
                }
            }
        }
    }

    private func answer(_ response: HTTPResponse, close: Bool, headOnly: Bool = false) {
        output = response.serialized(close: close, headOnly: headOnly)
        outputSent = 0
        closeAfterWrite = close
        loop.schedule(idleTimer, at: loop.now + Self.idleTimeoutNs)
        flush()
    }

    private func flush() {
        while fd >= 0, outputSent < output.count {
            let r = output.withUnsafeBytes { Socket.write(fd, UnsafeRawBufferPointer(rebasing: $0[outputSent...])) }
            switch r {
            case .bytes(let n): outputSent += n
            case .wouldBlock:
                try? loop.modify(fd: fd, registration: registration, events: EventLoop.Events.writable)
                return
            case .eof, .error:
                close()
                return
            }
        }
        guard fd >= 0 else { return }
        output.removeAll(keepingCapacity: true)
        if closeAfterWrite {
            close()
            return
        }
        try? loop.modify(fd: fd, registration: registration, events: EventLoop.Events.readable)
        input.compact()
        answerComplete()
    }

    func close() {
        guard fd >= 0 else { return }
        loop.cancel(idleTimer)
        loop.deregister(fd: fd, registration: registration)
        Socket.close(fd)
        fd = -1
        onClose(self)
    }
}
