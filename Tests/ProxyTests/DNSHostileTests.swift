import DNS
import Flows
import Foundation
import Glibc
import Policy
import PolicyYAML
import SluiceIO
import SluiceModel
import XCTest

@testable import Agent
@testable import Proxy

/// One DNS proxy worker on loopback whose upstream is a plain socket the test reads and answers
/// by hand (`upstream`), so it can forge answers next to the genuine one. toFQDNs selector
/// `*.allowed.test` is published to a real `FQDNService` whose cache shows what was learned.
final class DNSHostileHarness {
    let sink = CollectingSink()
    let loop: EventLoop
    let worker: DNSWorker
    let service: FQDNService
    let port: UInt16
    let client: Int32
    /// The "real" DNS server: queries arrive here, the test answers from it.
    let upstream: Int32
    let upstreamPort: UInt16
    /// The worker's listener (closed once the loop has stopped).
    private let listenerFD: Int32
    private let thread: WorkerThread

    /// `learning: false`: the worker gets no FQDN service (no answer is held: the relay path).
    init(config: DNSProxyConfig = DNSProxyConfig(), cache: FQDNCache = FQDNCache(), learning: Bool = true) throws {
        // No SO_REUSEPORT (`DNSProxyHarness`: a port-0 bind with it may share another's port).
        let fd = try DNSSocket.listenUDP(address: DNSTest.loopback, port: 0, reusePort: false)
        listenerFD = fd
        port = DNSTest.port(of: fd)
        let repository = PolicyRepository()
        try repository.apply(
            yamlText: DNSProxyHarness.yaml(port: port, patterns: ["*.allowed.test"]), fileName: "dns.yaml")
        var allocator = IdentityAllocator()
        let snapshot = repository.compile(endpoints: DNSProxyHarness.endpoints, allocator: &allocator)
        let steer = SteerInfo(
            endpointID: DNSProxyHarness.clientID,
            sourceIdentity: snapshot.identity(ofEndpoint: DNSProxyHarness.clientID) ?? 0,
            destinationIdentity: snapshot.identity(ofEndpoint: DNSProxyHarness.dnsID) ?? 0,
            direction: .egress)
        service = FQDNService(cache: cache, datapath: NoopFQDNDatapath(), stateFile: nil)
        let sets = try FQDNSelectorSet.parse(
            yamlText: """
                apiVersion: cilium.io/v2
                kind: CiliumNetworkPolicy
                metadata: {name: fqdn, namespace: default}
                spec:
                  endpointSelector: {matchLabels: {app: client}}
                  egress:
                  - toFQDNs:
                    - matchPattern: "*.allowed.test"
                """, fileName: "f.yaml")
        service.publish(selectors: FQDNSelectorSet(merging: Array(sets.values)))
        try service.start()
        upstream = DNSTest.udpSocket(timeoutMs: 2000)
        upstreamPort = DNSTest.port(of: upstream)
        loop = try EventLoop()
        let ctx = WorkerContext(
            loop: loop, config: ProxyConfig(workers: 1), steering: FixedSteering(steer),
            flows: sink, snapshot: snapshot)
        var config = config
        config.upstreamOverride = DNSEndpointAddress(address: DNSTest.loopback, port: upstreamPort)
        worker = DNSWorker(ctx: ctx, config: config, service: learning ? service : nil)
        try worker.start(udpFD: fd, tcpFD: -1)
        let loop = self.loop
        thread = WorkerThread(name: "test-loop") { loop.run() }
        try thread.start()
        client = DNSTest.udpSocket(timeoutMs: 2000)
    }

    deinit {
        loop.stop()
        thread.join()
        service.stop()
        close(client)
        close(upstream)
        close(listenerFD)
    }

    /// Sends a query from the client and returns it as the upstream received it (its forwarded
    /// bytes and the proxy's source port), or nil.
    func forward(_ query: [UInt8]) -> (bytes: [UInt8], port: UInt16)? {
        DNSTest.send(client, query, port: port)
        return DNSTest.receive(upstream)
    }

    /// Reads the worker's counters on its loop thread.
    func counters() -> DNSCounters {
        let done = DispatchSemaphore(value: 0)
        var copy = DNSCounters()
        loop.execute { [worker] in
            copy = worker.counters
            done.signal()
        }
        done.wait()
        return copy
    }

    /// The forwarder's open upstream sockets, read on the loop thread.
    func openUpstreamSockets() -> Int {
        let done = DispatchSemaphore(value: 0)
        var count = 0
        loop.execute { [worker] in
            count = worker.forwarder?.openSockets ?? -1
            done.signal()
        }
        done.wait()
        return count
    }

    /// An answer to `query` (its ID and question as given) with one A record.
    static func answer(
        to query: [UInt8], name: String? = nil, type: RRType? = nil, ip: IPv4Address,
        qr: Bool = true
    ) throws -> [UInt8] {
        var message = try query.withUnsafeBytes { try DNSParser.parse($0) }
        if let name { message.questions[0].name = try DomainName(name) }
        if let type { message.questions[0].type = type }
        message.header.qr = qr
        message.header.ra = true
        message.answers = [ResourceRecord(name: message.questions[0].name, ttl: 30, rdata: .a(ip))]
        return DNSSerializer.serialize(message)
    }
}

/// A UDP socket bound to `address` (network order), any port; 2 s receive timeout.
private func socket(boundTo address: UInt32) -> Int32 {
    let fd = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = address
    _ = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    return fd
}

/// Messages a client should never get past the screen (cilium-hardening.md 7): bytes in,
/// answer (or silence) out, nothing forwarded, nothing recorded.
final class DNSHostileQueryTests: XCTestCase {
    private func message(id: UInt16, opcode: UInt8 = 0, qr: Bool = false, names: [String]) throws -> [UInt8] {
        DNSSerializer.serialize(
            DNSMessage(
                header: DNSHeader(id: id, qr: qr, opcode: opcode, rd: true),
                questions: try names.map { Question(name: try DomainName($0), type: .a) }))
    }

    func testTwoQuestionsGetFormErrAndAreNotForwarded() throws {
        let h = try DNSProxyHarness()
        let answer = try parse(h.ask(message(id: 0x2222, names: ["a.allowed.test.", "b.allowed.test."])))
        XCTAssertEqual(answer.header.id, 0x2222)
        XCTAssertEqual(answer.rcode, .formErr)
        XCTAssertTrue(answer.answers.isEmpty)
        XCTAssertEqual(h.counters().formatErrors, 1)
        XCTAssertTrue(h.upstream.receivedIDs.isEmpty, "never forwarded")
        XCTAssertTrue(h.sink.flows.isEmpty, "screened before policy: no flow, as in Cilium")
    }

    func testNoQuestionGetsFormErr() throws {
        let h = try DNSProxyHarness()
        XCTAssertEqual(try parse(h.ask(message(id: 0x2223, names: []))).rcode, .formErr)
        XCTAssertTrue(h.upstream.receivedIDs.isEmpty)
    }

    func testAnswerRecordsInAQueryBeyondMiekgLimitsGetFormErr() throws {
        let h = try DNSProxyHarness()
        var query = DNSMessage(
            header: DNSHeader(id: 0x2224, rd: true),
            questions: [Question(name: try DomainName("a.allowed.test."), type: .a)])
        let name = try DomainName("a.allowed.test.")
        query.answers = [
            ResourceRecord(name: name, ttl: 1, rdata: .a(IPv4Address(6, 6, 6, 6))),
            ResourceRecord(name: name, ttl: 1, rdata: .a(IPv4Address(6, 6, 6, 7))),
        ]
        XCTAssertEqual(try parse(h.ask(DNSSerializer.serialize(query))).rcode, .formErr)
        XCTAssertTrue(h.upstream.receivedIDs.isEmpty)
    }

    func testOpcodesOtherThanQueryGetNotImp() throws {
        let h = try DNSProxyHarness()
        for opcode: UInt8 in [1, 2, 4, 5, 15] {
            let answer = try parse(
                h.ask(message(id: 0x3300 + UInt16(opcode), opcode: opcode, names: ["a.allowed.test."])))
            XCTAssertEqual(answer.header.id, 0x3300 + UInt16(opcode))
            XCTAssertEqual(answer.header.opcode, opcode)
            XCTAssertEqual(answer.rcode, .notImp, "opcode \(opcode)")
            XCTAssertTrue(answer.header.qr)
        }
        // Even an unparseable body with a bad opcode gets its NOTIMP (header only).
        let garbage: [UInt8] = [0x12, 0x34, 0x10, 0x00, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0xFF]
        let answer = try parse(h.ask(garbage))
        XCTAssertEqual(answer.header.id, 0x1234)
        XCTAssertEqual(answer.rcode, .notImp)
        XCTAssertEqual(h.counters().notImplemented, 6)
        XCTAssertTrue(h.upstream.receivedIDs.isEmpty)
        XCTAssertTrue(h.sink.flows.isEmpty)
    }

    func testResponsesFromClientsAndShortMessagesGetNoAnswer() throws {
        let h = try DNSProxyHarness()
        let qr = try message(id: 0x4400, qr: true, names: ["a.allowed.test."])
        DNSTest.send(h.client, qr, port: h.port)
        DNSTest.send(h.client, Array(repeating: 0, count: 11), port: h.port)
        DNSTest.send(h.client, [], port: h.port)
        // The answer to a good query after them is the first thing the client hears.
        let answer = try parse(h.ask(DNSTest.query("ok.allowed.test.", id: 0x4401)))
        XCTAssertEqual(answer.header.id, 0x4401)
        XCTAssertEqual(answer.rcode, .noError)
        XCTAssertEqual(h.counters().ignored, 3)
        XCTAssertEqual(h.upstream.receivedIDs.count, 1, "only the good query went upstream")
    }
}

/// Upstream answers that are not the answer to the query in flight (cilium-hardening.md 7:
/// Cilium checks only the ID; Sluice also checks source and question): discarded, not relayed,
/// not learned; the genuine answer that follows is.
final class DNSForgedAnswerTests: XCTestCase {
    private let forged = IPv4Address(6, 6, 6, 6)
    private let genuine = IPv4Address(192, 0, 2, 53)

    func testForgedAnswersAreDiscardedAndTheGenuineOneIsRelayed() throws {
        let h = try DNSHostileHarness()
        let query = DNSTest.query("www.allowed.test.", id: 0x1111)
        let sent = try XCTUnwrap(h.forward(query))
        let proxy = sent.port
        // Right ID, right question, wrong source port.
        let wrongPort = socket(boundTo: DNSTest.loopback)
        defer { close(wrongPort) }
        DNSTest.send(wrongPort, try DNSHostileHarness.answer(to: sent.bytes, ip: forged), port: proxy)
        // Right ID and question, right port, wrong address (127.0.0.2).
        let wrongAddress = socket(boundTo: UInt32(bigEndian: 0x7F00_0002))
        defer { close(wrongAddress) }
        DNSTest.send(wrongAddress, try DNSHostileHarness.answer(to: sent.bytes, ip: forged), port: proxy)
        // Right ID, right source, other name / other type / other case-folded name of a
        // different label / not a response.
        DNSTest.send(
            h.upstream, try DNSHostileHarness.answer(to: sent.bytes, name: "evil.allowed.test.", ip: forged),
            port: proxy)
        DNSTest.send(h.upstream, try DNSHostileHarness.answer(to: sent.bytes, type: .aaaa, ip: forged), port: proxy)
        DNSTest.send(h.upstream, try DNSHostileHarness.answer(to: sent.bytes, ip: forged, qr: false), port: proxy)
        // Right source, wrong ID.
        var wrongID = try DNSHostileHarness.answer(to: sent.bytes, ip: forged)
        DNSWire.setID((DNSWire.id(of: sent.bytes.withUnsafeBytes { $0 }) ?? 0) &+ 1, in: &wrongID)
        DNSTest.send(h.upstream, wrongID, port: proxy)
        // The genuine answer, its name in other case (0x20): accepted.
        DNSTest.send(
            h.upstream, try DNSHostileHarness.answer(to: sent.bytes, name: "WWW.allowed.TEST.", ip: genuine),
            port: proxy)

        let answer = try parse(DNSTest.receive(h.client)?.bytes)
        XCTAssertEqual(answer.header.id, 0x1111)
        XCTAssertEqual(answer.answers.map(\.rdata), [.a(genuine)])
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        _ = setsockopt(h.client, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        XCTAssertNil(DNSTest.receive(h.client), "exactly one answer reaches the client")
        let counters = h.counters()
        XCTAssertEqual(counters.unmatchedAnswers, 3, "wrong port, wrong address, wrong ID")
        XCTAssertEqual(counters.mismatchedAnswers, 3, "other name, other type, QR=0")
        XCTAssertEqual(counters.answers, 1)
        XCTAssertEqual(Set(h.service.cache.entries(of: "www.allowed.test.").keys), [.v4(genuine)])
        XCTAssertTrue(h.service.cache.entries(of: "evil.allowed.test.").isEmpty, "the forged name is not learned")
        XCTAssertEqual(h.service.cache.allNames, ["www.allowed.test."])
    }

    func testAForgedAnswerAloneLeavesTheQueryWaitingAndLearnsNothing() throws {
        let h = try DNSHostileHarness(config: DNSProxyConfig(forwardTimeoutNs: 300_000_000))
        let sent = try XCTUnwrap(h.forward(DNSTest.query("x.allowed.test.", id: 0x2121)))
        DNSTest.send(
            h.upstream, try DNSHostileHarness.answer(to: sent.bytes, name: "y.allowed.test.", ip: forged),
            port: sent.port)
        var tv = timeval(tv_sec: 0, tv_usec: 600_000)
        _ = setsockopt(h.client, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        XCTAssertNil(DNSTest.receive(h.client))
        XCTAssertEqual(h.counters().mismatchedAnswers, 1)
        XCTAssertEqual(h.counters().timeouts, 1)
        XCTAssertTrue(h.service.cache.allNames.isEmpty)
    }
}

/// Where queries leave from and with which IDs (RFC 5452; unbound, dnsdist): random ports from
/// a rotating socket pool, IDs from getrandom(2).
final class DNSUpstreamRandomnessTests: XCTestCase {
    func testQueriesLeaveFromManyPortsWithUnpredictableIDs() throws {
        let h = try DNSHostileHarness()
        var ports: [UInt16] = [], ids: [UInt16] = []
        for i in 0..<100 {
            let sent = try XCTUnwrap(h.forward(DNSTest.query("r\(i).allowed.test.", id: UInt16(i))))
            ports.append(sent.port)
            ids.append(try XCTUnwrap(sent.bytes.withUnsafeBytes { DNSWire.id(of: $0) }))
        }
        XCTAssertGreaterThanOrEqual(Set(ports).count, 10, "100 queries over a pool of 32 random sockets: \(Set(ports))")
        XCTAssertEqual(Set(ids).count, 100, "IDs unique among queries in flight")
        let sequential = zip(ids, ids.dropFirst()).filter { $1 == $0 &+ 1 }.count
        XCTAssertLessThan(sequential, 3, "IDs must not follow each other: \(ids)")
        XCTAssertNotEqual(ids, (0..<100).map { UInt16($0) }, "the client's IDs are not reused")
    }

    func testPoolSocketsRotateAndRetiredOnesCloseOnceAnswered() throws {
        let h = try DNSHostileHarness(config: DNSProxyConfig(upstreamSocketPoolSize: 2, upstreamSocketMaxQueries: 5))
        XCTAssertEqual(h.openUpstreamSockets(), 2)
        var ports = Set<UInt16>()
        var held: [(bytes: [UInt8], port: UInt16)] = []
        for i in 0..<40 {
            let sent = try XCTUnwrap(h.forward(DNSTest.query("p\(i).allowed.test.", id: UInt16(100 + i))))
            ports.insert(sent.port)
            held.append(sent)
        }
        XCTAssertGreaterThanOrEqual(ports.count, 8, "each socket replaced after 5 queries: \(ports)")
        XCTAssertGreaterThan(h.openUpstreamSockets(), 2, "retired sockets wait for their answers")
        // Answer all: each on the port it left from; every client gets its answer.
        for sent in held {
            DNSTest.send(
                h.upstream, try DNSHostileHarness.answer(to: sent.bytes, ip: IPv4Address(192, 0, 2, 1)),
                port: sent.port)
        }
        var answered = Set<UInt16>()
        while answered.count < 40, let reply = DNSTest.receive(h.client) {
            answered.insert(try XCTUnwrap(reply.bytes.withUnsafeBytes { DNSWire.id(of: $0) }))
        }
        XCTAssertEqual(answered, Set((0..<40).map { UInt16(100 + $0) }))
        let deadline = Date().addingTimeInterval(2)
        while h.openUpstreamSockets() > 2, Date() < deadline { usleep(5000) }
        XCTAssertEqual(h.openUpstreamSockets(), 2, "retired sockets close after their last answer")
    }

    func testRetiredSocketsCloseWhenTheirQueriesTimeOut() throws {
        let h = try DNSHostileHarness(
            config: DNSProxyConfig(
                forwardTimeoutNs: 200_000_000, upstreamSocketPoolSize: 1,
                upstreamSocketMaxQueries: 2))
        for i in 0..<6 { XCTAssertNotNil(h.forward(DNSTest.query("t\(i).allowed.test.", id: UInt16(i)))) }
        XCTAssertEqual(h.openUpstreamSockets(), 4, "a fresh one in the pool, three retired with queries in flight")
        let deadline = Date().addingTimeInterval(3)
        while h.counters().timeouts < 6, Date() < deadline { usleep(10000) }
        XCTAssertEqual(h.counters().timeouts, 6)
        XCTAssertEqual(h.openUpstreamSockets(), 1)
    }

    func testRandomValuesAreSpreadAndBatchesDiffer() {
        let random = DNSRandom()
        let values = (0..<(4 * DNSRandom.batch)).map { _ in random.u16() }
        // 1,024 draws from 65,536 values repeat about 1024^2 / 2^17 = 8 times (Poisson); 40 or
        // more happens with probability below 1e-14, while a generator stuck on a small range or
        // a short cycle repeats hundreds of times.
        XCTAssertGreaterThan(Set(values).count, values.count - 40, "16-bit values from the CSPRNG rarely repeat")
        XCTAssertNotEqual(Array(values[0..<DNSRandom.batch]), Array(values[DNSRandom.batch..<(2 * DNSRandom.batch)]))
        var taken = Set<UInt16>()
        for _ in 0..<1000 { taken.insert(random.id { taken.contains($0) }) }
        XCTAssertEqual(taken.count, 1000, "id(unusedIn:) never returns a value in use")
    }
}

/// A DNS-over-TCP server on 127.0.0.1 for one connection: each query gets the messages
/// `respond` builds from it, in order; it counts the queries.
private final class DNSScriptedTCPUpstream {
    let fd: Int32
    let port: UInt16
    private let respond: (DNSMessage) -> [DNSMessage]
    private let lock = NSLock()
    private var seen = 0

    init(respond: @escaping (DNSMessage) -> [DNSMessage]) throws {
        self.respond = respond
        fd = try Socket.listenTCP(address: DNSTest.loopback, port: 0, transparent: false, reusePort: false)
        port = DNSTest.port(of: fd)
        Thread { [self] in self.serve() }.start()
    }

    /// Answers every query with about 15 KiB of TXT records.
    static func bigAnswers() throws -> DNSScriptedTCPUpstream {
        let text = [[UInt8]](repeating: [UInt8](repeating: 0x61, count: 250), count: 60)
        return try DNSScriptedTCPUpstream { query in
            var message = query
            message.header.qr = true
            message.answers = [ResourceRecord(name: query.questions[0].name, ttl: 60, rdata: .txt(text))]
            return [message]
        }
    }

    var queries: Int {
        lock.lock()
        defer { lock.unlock() }
        return seen
    }

    private func serve() {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, 10000) > 0 else { return }
        let conn = accept(fd, nil, nil)
        guard conn >= 0 else { return }
        defer { close(conn) }
        var framer = DNSTCPFramer()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            var p = pollfd(fd: conn, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 10000) > 0 else { return }
            let n = buffer.withUnsafeMutableBytes { recv(conn, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return }
            let messages =
                (try? buffer.withUnsafeBytes { try framer.feed(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }) ?? []
            for bytes in messages {
                guard let query = try? bytes.withUnsafeBytes({ try DNSParser.parse($0) }), !query.questions.isEmpty
                else { continue }
                lock.lock()
                seen += 1
                lock.unlock()
                for message in respond(query) {
                    guard let framed = DNSTCPFramer.frame(DNSSerializer.serialize(message)) else { continue }
                    var sent = 0
                    while sent < framed.count {
                        let w = framed.withUnsafeBytes {
                            send(conn, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL))
                        }
                        if w <= 0 { return }
                        sent += w
                    }
                }
            }
        }
    }
}

/// Over TCP too, a message with the query's ID but another question is not its answer.
final class DNSStreamForgedAnswerTests: XCTestCase {
    func testMismatchedQuestionsOnTheUpstreamConnectionAreDiscarded() throws {
        let upstream = try DNSScriptedTCPUpstream { query in
            func answer(_ name: String?, _ type: RRType?, _ ip: IPv4Address) -> DNSMessage {
                var message = query
                if let name { message.questions[0].name = (try? DomainName(name)) ?? .root }
                if let type { message.questions[0].type = type }
                message.header.qr = true
                message.answers = [ResourceRecord(name: message.questions[0].name, ttl: 60, rdata: .a(ip))]
                return message
            }
            return [
                answer("evil.allowed.test.", nil, IPv4Address(6, 6, 6, 6)),
                answer(nil, .aaaa, IPv4Address(6, 6, 6, 7)),
                answer(nil, nil, IPv4Address(192, 0, 2, 77)),
            ]
        }
        let h = try DNSProxyHarness(tcpUpstreamPort: upstream.port)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var tv = timeval(tv_sec: 3, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = h.port.bigEndian
        addr.sin_addr.s_addr = DNSTest.loopback
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        XCTAssertEqual(r, 0)
        let framed = try XCTUnwrap(DNSTCPFramer.frame(DNSTest.query("www.allowed.test.", id: 0x5151)))
        _ = framed.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var framer = DNSTCPFramer()
        var buffer = [UInt8](repeating: 0, count: 4096)
        var answers: [DNSMessage] = []
        while answers.isEmpty {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            for bytes in try buffer.withUnsafeBytes({ try framer.feed(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }) {
                answers.append(try bytes.withUnsafeBytes { try DNSParser.parse($0) })
            }
        }
        XCTAssertEqual(answers.count, 1)
        XCTAssertEqual(answers.first?.header.id, 0x5151)
        XCTAssertEqual(answers.first?.answers.map(\.rdata), [.a(IPv4Address(192, 0, 2, 77))])
        XCTAssertEqual(h.counters().mismatchedAnswers, 2)
        XCTAssertEqual(h.counters().answers, 1)
    }
}

/// DNS over TCP from a client that pipelines and does not read: the proxy stops reading its
/// queries while answers wait (memory stays bounded), resumes when it reads, and closes it when
/// answers pile up past the bound anyway.
final class DNSStreamBackpressureTests: XCTestCase {
    /// A TCP client with a 4 KiB receive buffer (so the kernel holds few answers for it).
    private func connectSmall(port: UInt16) throws -> Int32 { try DNSTest.connectTCP(port: port, receiveBuffer: 4096) }

    private func sendQueries(_ fd: Int32, count: Int) {
        let all = (0..<count).compactMap { DNSTCPFramer.frame(DNSTest.query("q\($0).allowed.test.", id: UInt16($0))) }
            .flatMap { $0 }
        var sent = 0
        while sent < all.count {
            let n = all.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            XCTAssertGreaterThan(n, 0)
            if n <= 0 { return }
            sent += n
        }
    }

    private func waitFor(_ deadlineSeconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(deadlineSeconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(5000)
        }
        return condition()
    }

    func testAClientThatDoesNotReadIsPausedThenServedWhenItReads() throws {
        let upstream = try DNSScriptedTCPUpstream.bigAnswers()
        let h = try DNSProxyHarness(
            config: DNSProxyConfig(tcpMaxBufferedBytes: 32768, tcpMaxQueriesInFlight: 2),
            tcpUpstreamPort: upstream.port)
        let fd = try connectSmall(port: h.port)
        defer { close(fd) }
        let total = 400
        sendQueries(fd, count: total)
        XCTAssertTrue(waitFor(5) { h.counters().tcpPauses > 0 }, "the proxy stops reading the client's queries")
        // While the client reads nothing, the upstream stops getting queries well short of all.
        XCTAssertTrue(
            waitFor(5) {
                let before = upstream.queries
                usleep(200_000)
                return upstream.queries == before
            })
        XCTAssertLessThan(upstream.queries, total / 2, "reading the client's queries must stop")
        XCTAssertEqual(h.counters().tcpOverflowCloses, 0)
        // Now it reads: every query is answered, in full.
        var framer = DNSTCPFramer()
        var ids = Set<UInt16>()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while ids.count < total {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            for bytes in try buffer.withUnsafeBytes({ try framer.feed(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }) {
                let message = try bytes.withUnsafeBytes { try DNSParser.parse($0) }
                XCTAssertEqual(message.answers.count, 1)
                ids.insert(message.header.id)
            }
        }
        XCTAssertEqual(ids.count, total, "paused, not lost")
        XCTAssertEqual(upstream.queries, total)
    }

    /// An upstream that never reads: query bytes pile up toward it only to the bound, then the
    /// client's queries stay unread (60 KB queries, EDNS padding, so the kernel's buffers fill).
    func testQueriesForAnUpstreamThatDoesNotReadArePausedAtTheBound() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var small: Int32 = 4096
        _ = setsockopt(listener, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = DNSTest.loopback
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        XCTAssertEqual(listen(listener, 8), 0)
        let h = try DNSProxyHarness(
            config: DNSProxyConfig(tcpMaxBufferedBytes: 65536, tcpMaxQueriesInFlight: 1000),
            tcpUpstreamPort: DNSTest.port(of: listener))
        let fd = try connectSmall(port: h.port)
        defer { close(fd) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        let padding: [UInt8] = [0x00, 0x0C, 0xEA, 0x60] + [UInt8](repeating: 0, count: 60000)
        var sent = 0
        let deadline = Date().addingTimeInterval(5)
        var id: UInt16 = 0
        while sent < 200 && Date() < deadline && h.counters().tcpPauses == 0 {
            let q = DNSSerializer.serialize(
                DNSMessage(
                    header: DNSHeader(id: id, rd: true),
                    questions: [Question(name: try DomainName("q.allowed.test."), type: .a)],
                    opt: OPTRecord(udpPayloadSize: 1232, options: padding)))
            guard let framed = DNSTCPFramer.frame(q) else { return XCTFail("not framed") }
            var off = 0
            while off < framed.count && Date() < deadline {
                let n = framed.withUnsafeBytes { send(fd, $0.baseAddress! + off, $0.count - off, Int32(MSG_NOSIGNAL)) }
                if n > 0 { off += n } else { usleep(2000) }
            }
            sent += 1
            id += 1
        }
        XCTAssertTrue(waitFor(5) { h.counters().tcpPauses > 0 }, "paused after \(sent) queries of 60 KB")
        XCTAssertLessThan(sent, 200)
        XCTAssertEqual(h.counters().tcpOverflowCloses, 0, "paused, not closed")
    }

    func testAnswersPilingUpPastTheBoundCloseTheConnection() throws {
        let upstream = try DNSScriptedTCPUpstream.bigAnswers()
        let h = try DNSProxyHarness(
            config: DNSProxyConfig(tcpMaxBufferedBytes: 0, tcpMaxQueriesInFlight: 1000),
            tcpUpstreamPort: upstream.port)
        let fd = try connectSmall(port: h.port)
        defer { close(fd) }
        sendQueries(fd, count: 200)
        XCTAssertTrue(waitFor(5) { h.counters().tcpOverflowCloses == 1 }, "closed once answers exceed the bound")
        // The client sees the end of the stream after what was already sent.
        var buffer = [UInt8](repeating: 0, count: 65536)
        var received = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 {
                XCTAssertEqual(n, 0, "EOF, not a timeout")
                break
            }
            received += n
        }
        XCTAssertLessThan(received, 200 * 15000, "not every answer was buffered for it")
    }
}

/// The node-wide cap on learned toFQDNs IPs (besides the per-name one): a flood of names each
/// under its own cap cannot grow the cache, and the datapath loses what the cache evicts.
final class FQDNGlobalCapTests: XCTestCase {
    private func ip(_ n: Int) -> IPAddress { .v4(IPv4Address(hostOrder: UInt32(0x0A00_0000 + n))) }

    func testManyNamesStayUnderTheGlobalCapLeastRecentlySeenFirst() {
        let cache = FQDNCache(maxIPsPerName: 1000, maxEntries: 64)
        for n in 0..<64 { cache.update(name: "n\(n).test.", ips: [ip(n)], ttl: 30, nowNs: UInt64(n + 1)) }
        XCTAssertEqual(cache.count, 64)
        XCTAssertTrue(cache.evictBeyondCap().isEmpty, "at the cap nothing goes")
        // Refresh the oldest name: it becomes the most recently seen.
        cache.update(name: "n0.test.", ips: [ip(0)], ttl: 30, nowNs: 1000)
        cache.update(name: "new.test.", ips: [ip(500), ip(501)], ttl: 30, nowNs: 1001)
        XCTAssertEqual(cache.count, 66)
        let evicted = cache.evictBeyondCap()
        XCTAssertEqual(cache.count, 60, "down to 15/16 of the cap")
        XCTAssertEqual(Set(evicted.keys), Set((1...6).map { "n\($0).test." }), "the least recently seen, of any name")
        XCTAssertEqual(cache.entries(of: "n0.test.").count, 1, "refreshed: kept")
        XCTAssertEqual(cache.entries(of: "new.test.").count, 2, "just learned: kept")
        XCTAssertFalse(cache.allNames.contains("n1.test."), "names left empty are dropped")
    }

    func testCountFollowsSweepsPerNameEvictionAndLoad() throws {
        let cache = FQDNCache(maxIPsPerName: 2, maxEntries: 100)
        cache.update(name: "a.test.", ips: [ip(1), ip(2), ip(3)], ttl: 1, nowNs: 0)
        XCTAssertEqual(cache.count, 2, "the per-name cap counts")
        cache.update(name: "b.test.", ips: [ip(4)], ttl: 100, nowNs: 0)
        XCTAssertEqual(cache.count, 3)
        _ = cache.sweep(nowNs: 10_000_000_000) { _ in false }
        XCTAssertEqual(cache.count, 1)
        let copy = FQDNCache(maxEntries: 100)
        XCTAssertEqual(try copy.load(cache.encoded()), 1)
        XCTAssertEqual(copy.count, 1)
    }

    func testTheServiceRemovesGloballyEvictedIPsFromTheDatapath() throws {
        final class Recording: FQDNDatapath, @unchecked Sendable {
            let lock = NSLock()
            var removed: [String: [IPAddress]] = [:]
            func install(ips: [IPAddress], for name: String) -> Bool { true }
            func remove(ips: [IPAddress], for name: String) {
                lock.lock()
                removed[name, default: []] += ips
                lock.unlock()
            }
            func hasConnections(to ip: IPAddress) -> Bool { false }
        }
        let datapath = Recording()
        let service = FQDNService(cache: FQDNCache(maxEntries: 16), datapath: datapath, stateFile: nil)
        try service.start()
        defer { service.stop() }
        let done = DispatchSemaphore(value: 0)
        for n in 0..<20 {
            service.learn(name: "f\(n).test.", ips: [ip(n)], ttl: 300) { done.signal() }
            XCTAssertEqual(done.wait(timeout: .now() + 5), .success)
        }
        XCTAssertLessThanOrEqual(service.cache.count, 16)
        datapath.lock.lock()
        let removed = datapath.removed
        datapath.lock.unlock()
        XCTAssertEqual(removed["f0.test."], [ip(0)], "the oldest name's IP leaves the datapath")
        XCTAssertNil(removed["f19.test."])
        XCTAssertEqual(removed.values.map(\.count).reduce(0, +) + service.cache.count, 20)
    }

    func testAgentOption() throws {
        guard case .run(let o) = try AgentCommandLine.parse(["--fqdn-max-entries", "5000"], environment: { _ in nil })
        else { return XCTFail("not a run") }
        XCTAssertEqual(o.dns.fqdnMaxEntries, 5000)
        guard case .run(let d) = try AgentCommandLine.parse([], environment: { _ in nil }) else {
            return XCTFail("not a run")
        }
        XCTAssertEqual(d.dns.fqdnMaxEntries, 65536)
        XCTAssertThrowsError(try AgentCommandLine.parse(["--fqdn-max-entries", "0"], environment: { _ in nil }))
    }
}
