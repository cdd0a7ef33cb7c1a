import CLibbpf
import CSluice
import CSluiceShared
import DNS
import Flows
import XCTest

@testable import Agent
@testable import Datapath
@testable import Proxy

/// Denied DNS queries answered by tc from the deny cache (bpf/lib/dns_deny.h), run with
/// BPF_PROG_RUN on a real datapath: the entry goes in through the adapter the proxy uses, with the
/// key `DNSDenyKey` builds; the reply tc makes must be byte for byte the proxy's
/// (`DNSReply.error`), its UDP checksum valid, and its flow record the proxy's
/// (`DNSFlowRecorder.request`) but for the time. Every other query passes to the proxy untouched.
final class DatapathSteeringDNSDenyTests: XCTestCase {
    private static let repositoryFile = String(#filePath.dropLast(#filePath.split(separator: "/").last!.count + 1))
    static let pod: UInt32 = 0x0A01_F40A  // 10.244.1.10
    static let server: UInt32 = 0x3502_00C0  // 192.0.2.53
    static let redirect: UInt32 = 7  // TC_ACT_REDIRECT
    static let ok: UInt32 = 0
    private var pinDirectory = ""
    private var datapath: Datapath?
    private var sport: UInt16 = 41_000

    override func setUpWithError() throws {
        pinDirectory = "/sys/fs/bpf/sluice-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let datapath = try Datapath.open(
            objectDirectory: NodePolicyTests.bpfDirectory(file: Self.repositoryFile), pinDirectory: pinDirectory)
        self.datapath = datapath
        try datapath.setEndpoint(
            ipv4: Self.pod, info: sluice_endpoint_info(id: 1, identity: 1001, ifindex: 0, flags: 0))
        try datapath.syncL7Ports([
            sluice_l7_key(endpoint_id: 1, port: 53, proto: 17, direction: UInt8(SLUICE_DIR_EGRESS.rawValue)):
                sluice_l7_value(kind: UInt8(SLUICE_PROXY_DNS_UDP.rawValue), _pad: (0, 0, 0), _reserved: 0),
            sluice_l7_key(endpoint_id: 1, port: 53, proto: 6, direction: UInt8(SLUICE_DIR_EGRESS.rawValue)):
                sluice_l7_value(kind: UInt8(SLUICE_PROXY_DNS_TCP.rawValue), _pad: (0, 0, 0), _reserved: 0),
        ])
    }

    override func tearDown() {
        datapath?.close()
        try? Datapath.unpinAll(pinDirectory: pinDirectory)
    }

    // MARK: fixtures

    /// A query for `name` (dotted, as written: its case is kept) with `flags`, QDCOUNT `questions`
    /// (the question repeated), and an OPT record when `opt` is given (its 11 bytes or more).
    static func query(
        _ name: String, type: UInt16 = 1, flags: UInt16 = 0x0100, questions: UInt8 = 1, opt: [UInt8]? = nil
    ) -> [UInt8] {
        var wire: [UInt8] = []
        for label in name.split(separator: ".") {
            wire.append(UInt8(label.utf8.count))
            wire += Array(label.utf8)
        }
        wire.append(0)
        let question = wire + [UInt8(type >> 8), UInt8(type & 0xFF), 0, 1]
        var bytes: [UInt8] = [0xBE, 0xEF, UInt8(flags >> 8), UInt8(flags & 0xFF), 0, questions, 0, 0, 0, 0, 0]
        bytes.append(opt == nil ? 0 : 1)
        for _ in 0..<questions { bytes += question }
        return bytes + (opt ?? [])
    }

    /// An OPT record: payload size 4096, the DO bit when `dnssecOK`, `options` as rdata.
    static func opt(dnssecOK: Bool = false, options: [UInt8] = []) -> [UInt8] {
        [0, 0, 41, 0x10, 0x00, 0, 0, dnssecOK ? 0x80 : 0, 0, UInt8(options.count >> 8), UInt8(options.count & 0xFF)]
            + options
    }

    /// Ethernet (distinct MACs) + IPv4 + UDP with a valid checksum, pod:40000 -> server:53.
    static func frame(_ dns: [UInt8], sport: UInt16 = 40_000, proto: UInt8 = 17) -> [UInt8] {
        let podMAC: [UInt8] = [0x02, 0, 0, 0, 0, 0x0A]
        let hostMAC: [UInt8] = [0x02, 0, 0, 0, 0, 0x01]
        var l4: [UInt8]
        if proto == 17 {
            l4 = be16(sport) + be16(53) + be16(UInt16(8 + dns.count)) + [0, 0] + dns
            let sum = checksum(pseudo(src: pod, dst: server, length: l4.count) + l4)
            let check = sum == 0 ? 0xFFFF : sum
            l4[6] = UInt8(check >> 8)
            l4[7] = UInt8(check & 0xFF)
        } else {
            l4 = be16(sport) + be16(53) + [0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xFF, 0xFF, 0, 0, 0, 0] + dns
        }
        var ip: [UInt8] = [0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, proto, 0, 0]
        let total = UInt16(20 + l4.count)
        ip[2] = UInt8(total >> 8)
        ip[3] = UInt8(total & 0xFF)
        withUnsafeBytes(of: pod) { ip += $0 }
        withUnsafeBytes(of: server) { ip += $0 }
        return hostMAC + podMAC + [0x08, 0x00] + ip + l4
    }

    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }

    static func pseudo(src: UInt32, dst: UInt32, length: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: src) { bytes += $0 }
        withUnsafeBytes(of: dst) { bytes += $0 }
        return bytes + [0, 17] + be16(UInt16(length))
    }

    /// The Internet checksum (RFC 1071) of `bytes`.
    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i < bytes.count {
            sum += UInt32(bytes[i]) << 8 | (i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0)
            i += 2
        }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }

    /// Inserts the proxy's entry for `dns` (refused with `rcode`) under the generation now.
    @discardableResult
    func cache(
        _ dns: [UInt8], rcode: RCode = .refused, policyRef: UInt32 = 7, client: UInt32 = pod, server: UInt32 = server,
        serverPort: UInt16 = 53
    ) throws -> sluice_dns_deny_key {
        let datapath = try XCTUnwrap(datapath)
        let steering = DatapathSteering(datapath)
        var key = try XCTUnwrap(
            dns.withUnsafeBytes { DNSDenyKey.make($0, client: client, server: server, serverPort: serverPort) })
        let head = try dns.withUnsafeBytes { try DNSParser.parseQueryHead($0) }
        var value = DNSDenyKey.value(
            generation: steering.generation, rcode: rcode, qname: Array(head.qname.utf8), policyRef: policyRef)
        XCTAssertTrue(steering.insert(&key, &value))
        return key
    }

    /// Runs sluice_tc_endpoint on `packet`: the verdict, the mark and the packet as it left.
    func run(_ packet: [UInt8]) throws -> (verdict: UInt32, mark: UInt32, packet: [UInt8]) {
        let datapath = try XCTUnwrap(datapath)
        var ctxIn = __sk_buff()
        var ctxOut = __sk_buff()
        var out = [UInt8](repeating: 0, count: 2048)
        var outSize = UInt32(out.count)
        var verdict: UInt32 = 0
        let size = UInt32(MemoryLayout<__sk_buff>.size)
        let status = packet.withUnsafeBytes { input in
            out.withUnsafeMutableBytes { output in
                CSluice_bpf_prog_test_run_packet(
                    datapath.tcProgramFD, 1, input.baseAddress, UInt32(input.count), output.baseAddress, &outSize,
                    &ctxIn, size, &ctxOut, &verdict)
            }
        }
        try DatapathError.check(status, "bpf_prog_test_run tc")
        return (verdict, ctxOut.mark, Array(out[0..<Int(outSize)]))
    }

    /// Checks tc's answer to `dns` (cached with `rcode`): redirected, MACs, addresses and ports
    /// swapped, a valid UDP checksum, the DNS payload equal to the proxy's reply, and the request
    /// flow equal to the proxy's.
    func assertAnswered(_ dns: [UInt8], rcode: RCode = .refused, file: StaticString = #filePath, line: UInt = #line)
        throws
    {
        // A new source port each time: the query opens a new flow, so its trace is written.
        sport += 1
        let sport = self.sport
        let datapath = try XCTUnwrap(datapath)
        try cache(dns, rcode: rcode)
        let ring = try FlowRing.openForReading(pinDirectory: pinDirectory)
        let before = ring.nextSeq
        let answeredBefore = datapath.dnsDenialsAnsweredInDatapath()
        let input = Self.frame(dns, sport: sport)
        let run = try run(input)
        XCTAssertEqual(run.verdict, Self.redirect, "answered and sent back", file: file, line: line)
        XCTAssertEqual(run.mark, 0, file: file, line: line)
        let out = run.packet
        XCTAssertEqual(out.count, input.count, file: file, line: line)
        XCTAssertEqual(Array(out[0..<6]), Array(input[6..<12]), "destination MAC: the pod's", file: file, line: line)
        XCTAssertEqual(Array(out[6..<12]), Array(input[0..<6]), file: file, line: line)
        XCTAssertEqual(Array(out[26..<30]), Array(input[30..<34]), "source: the server", file: file, line: line)
        XCTAssertEqual(Array(out[30..<34]), Array(input[26..<30]), file: file, line: line)
        XCTAssertEqual(Array(out[34..<36]), Self.be16(53), file: file, line: line)
        XCTAssertEqual(Array(out[36..<38]), Self.be16(sport), file: file, line: line)
        let udp = Array(out[34...])
        XCTAssertEqual(
            Self.checksum(Self.pseudo(src: Self.server, dst: Self.pod, length: udp.count) + udp), 0,
            "the UDP checksum verifies", file: file, line: line)
        let expected = try dns.withUnsafeBytes { try DNSReply.error(for: $0, rcode: rcode) }
        XCTAssertEqual(Array(out[42...]), expected, "the proxy's reply, byte for byte", file: file, line: line)
        XCTAssertEqual(datapath.dnsDenialsAnsweredInDatapath(), answeredBefore + 1, file: file, line: line)

        // The trace of the query (TO_PROXY, as for any steered datagram), then the request flow.
        XCTAssertEqual(ring.nextSeq, before + 2, "the trace and the request flow", file: file, line: line)
        let trace = try XCTUnwrap(ring.read(seq: before), file: file, line: line)
        XCTAssertEqual(trace.event_type, UInt8(SLUICE_EVENT_TRACE.rawValue), file: file, line: line)
        XCTAssertEqual(trace.trace_point, UInt8(SLUICE_TRACE_TO_PROXY.rawValue), file: file, line: line)
        var record = try XCTUnwrap(ring.read(seq: before + 1), file: file, line: line)
        var proxy = try Self.proxyRecord(dns, sport: sport)
        record.time_ns = 0
        proxy.time_ns = 0
        record.commit = 0
        proxy.commit = 0
        let differing = withUnsafeBytes(of: &record) { a in
            withUnsafeBytes(of: &proxy) { b in
                (0..<a.count).filter { a[$0] != b[$0] }.map { "\($0): \(a[$0]) != \(b[$0])" }
            }
        }
        XCTAssertEqual(
            differing, [], "the proxy's request flow, byte for byte (offsets: tc != proxy)", file: file, line: line)
    }

    /// The DROPPED request flow the proxy writes for `dns` refused, with the steering entry tc
    /// would have recorded (egress; the pod 1001, the server world: no ipcache entry).
    static func proxyRecord(_ dns: [UInt8], sport: UInt16) throws -> sluice_flow {
        let head = try dns.withUnsafeBytes { try DNSParser.parseQueryHead($0) }
        let query = DNSQuery(
            client: DNSEndpointAddress(address: pod, port: sport),
            server: DNSEndpointAddress(address: server, port: 53),
            proto: 17,
            steer: SteerInfo(
                sourceEndpoint: 1, destinationEndpoint: 0, sourceIdentity: 1001,
                destinationIdentity: UInt32(SLUICE_IDENTITY_WORLD),
                sides: .egress),
            originalID: head.id, qname: Array(head.qname.utf8), qtype: head.qtype?.rawValue ?? 0,
            requestTimeNs: 0, policyRef: 7)
        let sink = OneRecordSink()
        DNSFlowRecorder(flows: sink).request(query, verdict: .dropped)
        return sink.record
    }

    final class OneRecordSink: FlowSink {
        var record = sluice_flow()
        func append(_ fill: (UnsafeMutablePointer<sluice_flow>) -> Void) { fill(&record) }
    }

    // MARK: answered

    func testAPlainQueryIsAnsweredWithTheProxysReplyAndRecord() throws {
        try assertAnswered(Self.query("blocked.example.com"))
    }

    func testAnEDNSQueryGetsTheProxysOPTRecordWithItsDOBit() throws {
        try assertAnswered(Self.query("edns.example.com", type: 28, opt: Self.opt(dnssecOK: true)))
        try assertAnswered(Self.query("edns2.example.com", flags: 0x0110, opt: Self.opt()))
    }

    func testAMixedCaseNameIsFoundLowerCasedAndEchoedAsAsked() throws {
        try cache(Self.query("mixed.example.com"))
        let run = try run(Self.frame(Self.query("MiXeD.ExAmple.COM")))
        XCTAssertEqual(run.verdict, Self.redirect)
        let expected = try Self.query("MiXeD.ExAmple.COM").withUnsafeBytes {
            try DNSReply.error(for: $0, rcode: .refused)
        }
        XCTAssertEqual(Array(run.packet[42...]), expected)
        try assertAnswered(Self.query("UPPER.Example.Com"))
    }

    func testAMaximumLengthNameIsAnswered() throws {
        // 4 labels of 63 bytes would be 257: three of 63 and one of 61 make 255 with the root.
        let label = String(repeating: "a", count: 63)
        let name = [label, label, label, String(repeating: "B", count: 61)].joined(separator: ".")
        XCTAssertEqual(Self.query(name).count, 12 + 255 + 4)
        try assertAnswered(Self.query(name))
        // Then short names: the long one's bytes must not stay in the key's tail.
        try assertAnswered(Self.query("a.b"))
        try assertPassed(Self.frame(Self.query(label + ".x")))
        try assertAnswered(Self.query("s.example.com"))
    }

    func testTheNXDOMAINChoiceIsAnsweredToo() throws {
        try assertAnswered(Self.query("nx.example.com"), rcode: .nxDomain)
    }

    // MARK: passed to the proxy

    /// `packet` goes on to the proxy untouched (mark set, same bytes), nothing answered.
    func assertPassed(_ packet: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws {
        let datapath = try XCTUnwrap(datapath)
        let answered = datapath.dnsDenialsAnsweredInDatapath()
        let run = try run(packet)
        XCTAssertEqual(run.verdict, Self.ok, file: file, line: line)
        XCTAssertEqual(run.mark, UInt32(SLUICE_MARK_TO_PROXY), "steered to the proxy", file: file, line: line)
        XCTAssertEqual(run.packet, packet, file: file, line: line)
        XCTAssertEqual(datapath.dnsDenialsAnsweredInDatapath(), answered, file: file, line: line)
    }

    func testAMissGoesToTheProxy() throws {
        try cache(Self.query("other.example.com"))
        try assertPassed(Self.frame(Self.query("blocked.example.com")))
        try assertPassed(Self.frame(Self.query("other.example.co")))
        try assertPassed(Self.frame(Self.query("other.example.com.x")))
    }

    /// A denial is the asking pod's toward that server and port: another pod's entry, or this
    /// pod's toward another server or port, never answers this query.
    func testAnotherClientsOrServersDenialGoesToTheProxy() throws {
        let dns = Self.query("elsewhere.example.com")
        try cache(dns, client: Self.pod &+ 0x0100_0000)
        try cache(dns, server: Self.server &+ 0x0100_0000)
        try cache(dns, serverPort: 5353)
        try assertPassed(Self.frame(dns))
        try cache(dns)
        try assertAnswered(dns)
    }

    func testAStaleGenerationGoesToTheProxy() throws {
        let datapath = try XCTUnwrap(datapath)
        let dns = Self.query("stale.example.com")
        try cache(dns)
        datapath.steeringEpoch.denyPolicyChanged()
        try assertPassed(Self.frame(dns))
        try cache(dns)
        try datapath.syncL7Ports(try datapath.l7Ports())  // a steering map write moves it too
        try assertPassed(Self.frame(dns))
    }

    func testUnusualQueriesGoToTheProxy() throws {
        let dns = Self.query("blocked.example.com")
        try cache(dns)
        try assertPassed(Self.frame(Self.query("blocked.example.com", questions: 2)))
        var truncated = dns
        truncated[2] |= 0x02  // TC
        try assertPassed(Self.frame(truncated))
        var response = dns
        response[2] |= 0x80  // QR
        try assertPassed(Self.frame(response))
        var notify = dns
        notify[2] |= 0x20  // opcode NOTIFY
        try assertPassed(Self.frame(notify))
        var answer = dns
        answer[7] = 1  // ANCOUNT 1
        try assertPassed(Self.frame(answer))
        try assertPassed(Self.frame(dns + [0]))  // a byte after the question
        // A compressed name (a pointer to the header: malformed for the proxy too).
        let compressed: [UInt8] = Array(dns[0..<12]) + [0xC0, 0x0C, 0, 1, 0, 1]
        try assertPassed(Self.frame(compressed))
        // An OPT record with an option (a cookie): the reply would be shorter.
        let cookie = Self.query("blocked.example.com", opt: Self.opt(options: [0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]))
        try assertPassed(Self.frame(cookie))
        // The same bytes over TCP.
        try assertPassed(Self.frame([0, UInt8(dns.count)] + dns, proto: 6))
    }
}
