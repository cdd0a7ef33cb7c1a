import Glibc
import HTTP2
import SluiceIO
import SluiceModel

/// The observer's follow-stream transport (issue 17, s18-obs2): framed messages of 958 bytes (the
/// sandbox's get-ka flows), a fresh array each as the encoder makes them, queued on one gRPC
/// response stream and flushed every 2,000 (one 20 ms ring poll at ~50k requests/s), over TCP
/// loopback to a reader thread that only counts. Two ways in the same build, alternating:
/// `copy`, the path before s18-obs2 (the default session: the outbox copies into nghttp2's DATA
/// frame, the frames are appended to a 256 KiB batch, one send per batch) and `gather` (the
/// observer's now: NO_COPY DATA frames, the arrays themselves in an `HTTP2WriteBatch`, one
/// sendmsg per batch). CPU time of the sending thread per message, sends per flush; the reader's
/// byte count is checked against what was sent.
enum TransportBenchmark {
    static let messageBytes = 958
    static let perFlush = 2_000
    static let messages = 200_000

    static func run() throws {
        print("transport (follow stream, \(messageBytes)-byte messages, \(perFlush) per flush, TCP loopback):")
        for round in 0..<3 {
            for gather in [false, true] {
                let (ns, writesPerFlush) = try once(gather: gather)
                print(
                    "  round \(round + 1) \(gather ? "gather" : "copy  "): \(Int(ns)) ns/message, "
                        + "\((writesPerFlush * 10).rounded() / 10) sends/flush")
            }
        }
    }

    final class Counter: @unchecked Sendable { var bytes = 0 }

    /// A TCP pair on 127.0.0.1 (the kernel's TCP send path, as the observer's client sees it) whose
    /// reader thread only counts what arrives, and a server HTTP/2 session with one gRPC response
    /// stream open to send on (flow-control windows at their maximum): what both transport
    /// benchmarks send through.
    struct Loopback {
        let sender: Int32
        let receiver: Int32
        let counter: Counter
        let reader: WorkerThread
        let server: HTTP2Session
        let stream: Int32

        static func open(gather: Bool) throws -> Loopback {
            var fds: [Int32] = [0, 0]
            let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    _ = bind(listener, $0, length)
                    _ = listen(listener, 1)
                    _ = getsockname(listener, $0, &length)
                    fds[1] = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                    _ = connect(fds[1], $0, length)
                }
            }
            fds[0] = accept(listener, nil, nil)
            Glibc.close(listener)
            let (sender, receiver) = (fds[0], fds[1])
            let counter = Counter()
            let reader = WorkerThread(name: "transport-reader") {
                let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 16)
                defer { buffer.deallocate() }
                while true {
                    let n = read(receiver, buffer, 1 << 20)
                    if n <= 0 { break }
                    counter.bytes += n
                }
            }
            try reader.start()

            var limits = HTTP2Limits.default
            limits.initialStreamWindow = Int32.max
            limits.connectionWindow = Int32.max
            let client = try HTTP2Session(role: .client, limits: limits, clock: ManualClock(startNs: 0))
            let server = try HTTP2Session(role: .server, clock: ManualClock(startNs: 0), gather: gather)
            let id = try client.submitRequest(
                HTTP2HeaderBlock([
                    (":method", "POST"), (":scheme", "http"), (":authority", "a"),
                    (":path", "/observer.Observer/GetFlows"), ("content-type", "application/grpc"),
                ]), hasBody: false)
            var hello: [UInt8] = []
            while let chunk = try client.produce() { hello.append(contentsOf: chunk) }
            try hello.withUnsafeBytes { try server.receive($0) }
            try server.submitResponse(
                stream: id, HTTP2HeaderBlock([(":status", "200"), ("content-type", "application/grpc")]),
                hasBody: true)
            return Loopback(
                sender: sender, receiver: receiver, counter: counter, reader: reader, server: server, stream: id)
        }

        /// Ends the sending side, waits for the reader to see the end, closes both sockets.
        func close() {
            shutdown(sender, Int32(SHUT_WR))
            reader.join()
            Glibc.close(sender)
            Glibc.close(receiver)
        }
    }

    static func once(gather: Bool) throws -> (Double, Double) {
        let loopback = try Loopback.open(gather: gather)
        let (sender, counter, server, id) = (loopback.sender, loopback.counter, loopback.server, loopback.stream)

        let template = [UInt8](repeating: 0x41, count: messageBytes)
        var pending: [UInt8] = []
        let batch = HTTP2WriteBatch()
        var writes = 0
        var flushes = 0
        func sendAll(_ bytes: UnsafeRawBufferPointer) {
            var offset = 0
            while offset < bytes.count {
                guard case .bytes(let n) = Socket.write(sender, UnsafeRawBufferPointer(rebasing: bytes[offset...]))
                else { fatalError("send failed") }
                offset += n
                writes += 1
            }
        }
        let ns = try timed {
            var queued = 0
            while queued < messages {
                for _ in 0..<perFlush {
                    var message = template
                    message[0] = UInt8(truncatingIfNeeded: queued)  // a fresh array per message
                    server.append(stream: id, message)
                    queued += 1
                }
                flushes += 1
                if gather {
                    while true {
                        if !batch.isEmpty {
                            let result = batch.withIOVecs { iovecs, _ in Socket.write(sender, iovecs: iovecs) }
                            guard case .bytes(let n) = result else { fatalError("sendmsg failed") }
                            batch.consume(n)
                            writes += 1
                            continue
                        }
                        try server.produce(into: batch, limit: 256 * 1024)
                        if batch.isEmpty { break }
                    }
                } else {
                    while true {
                        pending.removeAll(keepingCapacity: true)
                        while pending.count < 256 * 1024, let chunk = try server.produce() {
                            pending.append(contentsOf: chunk)
                        }
                        if pending.isEmpty { break }
                        pending.withUnsafeBytes { sendAll($0) }
                    }
                }
            }
        }
        loopback.close()
        check(server.queued(stream: id) == 0, "transport: bytes left queued")
        // What the reader got: the server's HEADERS and SETTINGS, then one 9-byte header per DATA
        // frame (at most 16 KiB each) and every message.
        let body = messages * messageBytes
        let frames = (body + 16383) / 16384
        check(
            counter.bytes >= body + 9 * frames && counter.bytes < body + 9 * frames + 1024,
            "transport (\(gather ? "gather" : "copy")): the reader got \(counter.bytes) bytes for \(body) of messages")
        return (ns / Double(messages), Double(writes) / Double(flushes))
    }
}

/// How often a follow stream's batches go to the socket (issue 17, s21-obs): messages copied into
/// batch arrays as `FollowStream` does, the arrays handed to the gather session, and the session
/// written either once per ring poll (`poll`, 64 KiB arrays as before s21-obs: 1,250 messages,
/// ~1.2 MB, one 5 ms poll at ~125k requests/s, sendmsg per 512 KiB) or as soon as each batch is
/// handed on (`each`, 128 and 256 KiB: one sendmsg per batch). Arrays written out are reused, as
/// the stream reuses them. CPU
/// time of the sending thread per message (the loopback delivery runs in it); run under
/// `taskset -c 0` to put the reader on the sender's core, as in the sandbox.
enum TransportBatchingBenchmark {
    static let messageBytes = 958
    static let perPoll = 1_250
    static let messages = 250_000

    static func run() throws {
        print("transport batching (\(messageBytes)-byte messages, \(perPoll) per poll, TCP loopback):")
        for round in 0..<4 {
            for (each, kib) in [(false, 64), (true, 128), (true, 256)] {
                let (ns, writes) = try once(flushEachBatch: each, batchBytes: kib * 1024)
                print(
                    "  round \(round + 1) \(each ? "each" : "poll") \(kib) KiB: \(Int(ns)) ns/message, "
                        + "\((writes * 10).rounded() / 10) sends/poll")
            }
        }
    }

    static func once(flushEachBatch: Bool, batchBytes: Int) throws -> (Double, Double) {
        let loopback = try TransportBenchmark.Loopback.open(gather: true)
        let (sender, counter, server, id) = (loopback.sender, loopback.counter, loopback.server, loopback.stream)

        let message = [UInt8](repeating: 0x41, count: messageBytes)
        let batch = HTTP2WriteBatch()
        var writes = 0
        var polls = 0
        var current: [UInt8] = []
        var handed: [[UInt8]] = []
        var free: [[UInt8]] = []
        func flush() {
            while true {
                if !batch.isEmpty {
                    let result = batch.withIOVecs { iovecs, _ in Socket.write(sender, iovecs: iovecs) }
                    guard case .bytes(let n) = result else { fatalError("sendmsg failed") }
                    batch.consume(n)
                    writes += 1
                    continue
                }
                try? server.produce(into: batch, limit: 512 * 1024)
                if batch.isEmpty { break }
            }
            // Everything written: the arrays handed on are the stream's again.
            for var array in handed {
                array.removeAll(keepingCapacity: true)
                free.append(array)
            }
            handed.removeAll(keepingCapacity: true)
        }
        func handOn() {
            handed.append(current)
            server.append(stream: id, current)
            current = free.popLast() ?? []
            current.removeAll(keepingCapacity: true)
            if current.capacity < batchBytes { current.reserveCapacity(batchBytes + 4096) }
            if flushEachBatch { flush() }
        }
        current.reserveCapacity(batchBytes + 4096)
        let ns = timed {
            var queued = 0
            while queued < messages {
                for _ in 0..<perPoll {
                    message.withUnsafeBytes { current.append(contentsOf: $0.assumingMemoryBound(to: UInt8.self)) }
                    current[current.count - messageBytes] = UInt8(truncatingIfNeeded: queued)
                    queued += 1
                    if current.count >= batchBytes { handOn() }
                }
                if !current.isEmpty { handOn() }
                flush()
                polls += 1
            }
        }
        loopback.close()
        check(server.queued(stream: id) == 0, "transport batching: bytes left queued")
        let body = messages * messageBytes
        check(counter.bytes >= body, "transport batching: the reader got \(counter.bytes) bytes for \(body)")
        return (ns / Double(messages), Double(writes) / Double(polls))
    }
}
