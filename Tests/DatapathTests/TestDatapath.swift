import CLibbpf
import CSluice
import CSluiceShared
import Glibc

@testable import Datapath

/// A Datapath loaded from bpf/*.o with its own pin directory, unpinned by `close()`.
/// Needs root and bpffs: the tests fail loudly without them (STYLE.md §9).
final class TestDatapath {
    let pinDirectory: String
    let datapath: Datapath

    /// `mapMaxEntries` sizes maps by name (the agent's `--map-max-entries` test knob).
    init(mapMaxEntries: [String: UInt32] = [:]) throws {
        pinDirectory = "/sys/fs/bpf/sluice-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        datapath = try Datapath.open(
            objectDirectory: TestDatapath.objectDirectory(), pinDirectory: pinDirectory,
            mapMaxEntries: mapMaxEntries)
    }

    func close() {
        datapath.close()
        try? Datapath.unpinAll(pinDirectory: pinDirectory)
    }

    /// bpf/ next to Tests/ (the objects are built by `make -C bpf`).
    static func objectDirectory(file: String = #filePath) -> String {
        var parts = file.split(separator: "/").map(String.init)
        parts.removeLast(3)
        return "/" + parts.joined(separator: "/") + "/bpf"
    }

    /// Runs the tc program on `packet` with BPF_PROG_RUN; returns the verdict and skb->mark.
    func runTC(_ packet: [UInt8]) throws -> (verdict: UInt32, mark: UInt32) {
        var ctxIn = __sk_buff()
        var ctxOut = __sk_buff()
        var verdict: UInt32 = 0
        let size = UInt32(MemoryLayout<__sk_buff>.size)
        let status = packet.withUnsafeBytes {
            CSluice_bpf_prog_test_run(
                datapath.tcProgramFD, $0.baseAddress, UInt32($0.count), &ctxIn, size, &ctxOut, &verdict)
        }
        try DatapathError.check(status, "bpf_prog_test_run tc")
        return (verdict, ctxOut.mark)
    }

    /// Runs `sluice_tc_to_endpoint` (the clsact egress program: packets toward a pod) on `packet`
    /// with `skb->mark` = `mark` and `skb->ingress_ifindex` = `ingressIfindex` (0: locally
    /// generated, else the device a forwarded packet came in on). Returns the verdict, the mark
    /// the program left and the packet as it left it.
    func runToEndpoint(_ packet: [UInt8], mark: UInt32 = 0, ingressIfindex: UInt32 = 0) throws
        -> (verdict: UInt32, mark: UInt32, packet: [UInt8])
    {
        let programFD = try datapath.tcObject.programFD(named: Datapath.toEndpointProgramName)
        var ctxIn = __sk_buff()
        ctxIn.mark = mark
        ctxIn.ingress_ifindex = ingressIfindex
        let run = try Self.runSKB(programFD, packet, ctxIn, "bpf_prog_test_run tc to endpoint")
        return (run.verdict, run.ctx.mark, run.packet)
    }

    /// Runs a tc program (`fd`) on `packet` with context `ctxIn`, `repeat` times in one
    /// BPF_PROG_RUN call: the last run's verdict, the context and the packet as it left them.
    static func runSKB(_ fd: Int32, _ packet: [UInt8], _ ctxIn: __sk_buff, _ call: String, repeat: UInt32 = 1)
        throws -> (verdict: UInt32, ctx: __sk_buff, packet: [UInt8])
    {
        var ctxIn = ctxIn
        var ctxOut = __sk_buff()
        var out = [UInt8](repeating: 0, count: 2048)
        var outSize = UInt32(out.count)
        var verdict: UInt32 = 0
        let size = UInt32(MemoryLayout<__sk_buff>.size)
        let status = packet.withUnsafeBytes { input in
            out.withUnsafeMutableBytes { output in
                CSluice_bpf_prog_test_run_packet(
                    fd, `repeat`, input.baseAddress, UInt32(input.count), output.baseAddress, &outSize, &ctxIn, size,
                    &ctxOut, &verdict)
            }
        }
        try DatapathError.check(status, call)
        return (verdict, ctxOut, Array(out[0..<Int(outSize)]))
    }

    /// Runs the sk_lookup program for an IPv4 lookup (remote -> local); returns the verdict
    /// and the cookie of the socket it assigned (0 for none).
    func runSkLookup(_ t: sluice_tuple) throws -> (verdict: UInt32, cookie: UInt64) {
        var ctx = bpf_sk_lookup()
        ctx.family = UInt32(AF_INET)
        ctx.protocol = UInt32(t.proto)
        ctx.remote_ip4 = t.src_ip4
        ctx.remote_port = t.src_port.bigEndian
        ctx.local_ip4 = t.dst_ip4
        ctx.local_port = UInt32(t.dst_port)
        var out = ctx
        var verdict: UInt32 = 0
        let status = CSluice_bpf_prog_test_run(
            datapath.skLookupProgramFD, nil, 0, &ctx, UInt32(MemoryLayout<bpf_sk_lookup>.size), &out, &verdict)
        try DatapathError.check(status, "bpf_prog_test_run sk_lookup")
        return (verdict, out.cookie)
    }
}

/// Builders for test packets and keys.
enum Fixture {
    static let podA: UInt32 = ip4(10, 244, 1, 10)
    static let podB: UInt32 = ip4(10, 244, 2, 10)
    static let outside: UInt32 = ip4(192, 0, 2, 1)
    static let tcp = UInt8(IPPROTO_TCP)
    static let udp = UInt8(IPPROTO_UDP)

    /// An IPv4 address in network byte order.
    static func ip4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> UInt32 {
        UInt32(a) | UInt32(b) << 8 | UInt32(c) << 16 | UInt32(d) << 24
    }

    /// Ethernet + IPv4 (with `optionWords` 4-byte option words) + TCP or UDP header.
    static func packet(
        src: UInt32, dst: UInt32, sport: UInt16, dport: UInt16, proto: UInt8,
        tcpFlags: UInt8 = UInt8(SLUICE_TCP_SYN), optionWords: Int = 0,
        fragmentOffset: UInt16 = 0, etherType: UInt16 = 0x0800
    ) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 12)
        bytes += [UInt8(etherType >> 8), UInt8(etherType & 0xFF)]
        let l4Length = proto == tcp ? 20 : 8
        let ipLength = 20 + optionWords * 4
        let total = UInt16(ipLength + l4Length)
        bytes += [
            0x40 | UInt8(5 + optionWords), 0, UInt8(total >> 8), UInt8(total & 0xFF), 0, 1,
            UInt8(fragmentOffset >> 8), UInt8(fragmentOffset & 0xFF), 64, proto, 0, 0,
        ]
        withUnsafeBytes(of: src) { bytes += $0 }
        withUnsafeBytes(of: dst) { bytes += $0 }
        bytes += [UInt8](repeating: 1 /* NOP */, count: optionWords * 4)
        bytes += [UInt8(sport >> 8), UInt8(sport & 0xFF), UInt8(dport >> 8), UInt8(dport & 0xFF)]
        if proto == tcp {
            bytes += [0, 0, 0, 1, 0, 0, 0, 0, 0x50, tcpFlags, 0xFF, 0xFF, 0, 0, 0, 0]
        } else {
            bytes += [0, 8, 0, 0]
        }
        return bytes
    }

    static func tuple(src: UInt32, dst: UInt32, sport: UInt16, dport: UInt16, proto: UInt8) -> sluice_tuple {
        sluice_tuple(src_ip4: src, dst_ip4: dst, src_port: sport, dst_port: dport, proto: proto, _pad: (0, 0, 0))
    }

    static func key(endpoint: UInt32, port: UInt16, proto: UInt8, direction: sluice_direction) -> sluice_l7_key {
        sluice_l7_key(endpoint_id: endpoint, port: port, proto: proto, direction: UInt8(direction.rawValue))
    }

    static func value(_ kind: sluice_proxy_kind) -> sluice_l7_value {
        var v = sluice_l7_value()
        v.kind = UInt8(kind.rawValue)
        return v
    }

    /// Endpoints A (id 1, identity 1001) and B (id 2, identity 1002).
    static func addPods(_ dp: Datapath) throws {
        try dp.setEndpoint(ipv4: podA, info: sluice_endpoint_info(id: 1, identity: 1001, ifindex: 0, flags: 0))
        try dp.setEndpoint(ipv4: podB, info: sluice_endpoint_info(id: 2, identity: 1002, ifindex: 0, flags: 0))
    }
}
