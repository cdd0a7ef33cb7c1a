import CLibbpf
import CSluice
import CSluiceShared
import Glibc

@testable import Datapath

/// Frames for the protocol tests: Ethernet + IPv4 or IPv6 + any L4 bytes, built field by field
/// so a test can cut, fragment or forge any of them.
enum Packets {
    static let icmp = UInt8(IPPROTO_ICMP)
    static let icmpv6: UInt8 = 58
    static let sctp = UInt8(IPPROTO_SCTP)

    /// Ethernet header (zero MACs) with `etherType`.
    static func ethernet(_ etherType: UInt16) -> [UInt8] {
        [UInt8](repeating: 0, count: 12) + [UInt8(etherType >> 8), UInt8(etherType & 0xFF)]
    }

    /// An IPv4 header (no options, checksum 0: tc does not check it) in front of `l4`.
    /// `fragment` is the frag_off field (flags and offset in 8-byte units); `totalLength`
    /// overrides the header's length field.
    static func ipv4Header(
        src: UInt32, dst: UInt32, proto: UInt8, l4Length: Int, id: UInt16 = 1,
        fragment: UInt16 = 0, totalLength: Int? = nil
    ) -> [UInt8] {
        let total = UInt16(totalLength ?? 20 + l4Length)
        var bytes: [UInt8] = [
            0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), UInt8(id >> 8), UInt8(id & 0xFF),
            UInt8(fragment >> 8), UInt8(fragment & 0xFF), 64, proto, 0, 0,
        ]
        withUnsafeBytes(of: src) { bytes += $0 }
        withUnsafeBytes(of: dst) { bytes += $0 }
        return bytes
    }

    /// Ethernet + IPv4 + `l4`.
    static func ipv4(
        src: UInt32, dst: UInt32, proto: UInt8, l4: [UInt8], id: UInt16 = 1, fragment: UInt16 = 0,
        totalLength: Int? = nil
    ) -> [UInt8] {
        ethernet(0x0800)
            + ipv4Header(
                src: src, dst: dst, proto: proto, l4Length: l4.count, id: id, fragment: fragment,
                totalLength: totalLength) + l4
    }

    static func tcp(sport: UInt16, dport: UInt16, flags: UInt8) -> [UInt8] {
        be16(sport) + be16(dport) + [0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xFF, 0xFF, 0, 0, 0, 0]
    }

    static func udp(sport: UInt16, dport: UInt16, payload: [UInt8] = []) -> [UInt8] {
        be16(sport) + be16(dport) + be16(UInt16(8 + payload.count)) + [0, 0] + payload
    }

    /// SCTP common header + an INIT chunk (RFC 9260 3.3.2).
    static func sctpInit(sport: UInt16, dport: UInt16) -> [UInt8] {
        let common = be16(sport) + be16(dport) + [0, 0, 0, 0] + [0, 0, 0, 0]
        let initChunk: [UInt8] = [1, 0, 0, 20, 0, 0, 0, 7, 0, 1, 0, 0, 0, 10, 0, 10, 0, 0, 0, 1]
        return common + initChunk
    }

    /// An ICMP(v6) header: type, code, checksum 0, identifier, sequence 1.
    static func icmpHeader(type: UInt8, code: UInt8 = 0, id: UInt16 = 0) -> [UInt8] {
        [type, code, 0, 0] + be16(id) + [0, 1]
    }

    /// An ICMPv4 error from `src` to `dst` quoting `quoted` (an IPv4 header and at least 8 bytes
    /// of its L4, without Ethernet).
    static func icmpError(src: UInt32, dst: UInt32, type: UInt8, code: UInt8, quoting quoted: [UInt8]) -> [UInt8] {
        ipv4(src: src, dst: dst, proto: icmp, l4: [type, code, 0, 0, 0, 0, 0, 0] + quoted.prefix(28))
    }

    /// Ethernet + IPv6 (`src`, `dst`: 16 bytes) + `l4` with next header `next`.
    static func ipv6(src: [UInt8], dst: [UInt8], next: UInt8, l4: [UInt8]) -> [UInt8] {
        ethernet(0x86DD) + [0x60, 0, 0, 0] + be16(UInt16(l4.count)) + [next, 64] + src + dst + l4
    }

    /// fd00::`last` as 16 bytes.
    static func ip6(_ last: UInt8) -> [UInt8] {
        [0xfd, 0] + [UInt8](repeating: 0, count: 13) + [last]
    }

    static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
}

extension TestDatapath {
    /// Runs `sluice_tc_endpoint` as if the packet arrived on host-side veth `ingressIfindex`.
    func runFromPod(_ packet: [UInt8], ingressIfindex: UInt32) throws -> UInt32 {
        try run(datapath.tcProgramFD, packet, ingressIfindex: ingressIfindex)
    }

    /// Runs `sluice_tc_to_endpoint` (clsact egress toward a pod) for a packet that came in on
    /// device `ingressIfindex` (0 would make it the node's own: identity host, which
    /// allow-localhost admits). BPF_PROG_RUN gives the skb the loopback device, so the veth it
    /// leaves by is ifindex 1.
    func runToPod(_ packet: [UInt8], ingressIfindex: UInt32 = 99) throws -> UInt32 {
        try run(
            try datapath.tcObject.programFD(named: Datapath.toEndpointProgramName), packet,
            ingressIfindex: ingressIfindex)
    }

    private func run(_ fd: Int32, _ packet: [UInt8], ingressIfindex: UInt32) throws -> UInt32 {
        var ctxIn = __sk_buff()
        ctxIn.ingress_ifindex = ingressIfindex
        var ctxOut = __sk_buff()
        var verdict: UInt32 = 0
        let size = UInt32(MemoryLayout<__sk_buff>.size)
        let status = packet.withUnsafeBytes {
            CSluice_bpf_prog_test_run(fd, $0.baseAddress, UInt32($0.count), &ctxIn, size, &ctxOut, &verdict)
        }
        try DatapathError.check(status, "bpf_prog_test_run tc")
        return verdict
    }

    /// Every flow record written since `seq` (the ring's next sequence number before the run).
    func flows(since seq: UInt64) throws -> [sluice_flow] {
        let ring = try FlowRing.openForReading(pinDirectory: pinDirectory)
        defer { ring.close() }
        return (seq..<ring.nextSeq).compactMap { ring.read(seq: $0) }
    }

    /// The ring's next sequence number.
    func flowMark() throws -> UInt64 {
        let ring = try FlowRing.openForReading(pinDirectory: pinDirectory)
        defer { ring.close() }
        return ring.nextSeq
    }
}

extension sluice_flow {
    /// The first four bytes of an address field as a network-order IPv4 address.
    static func ipv4(
        _ bytes: (
            UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
            UInt8, UInt8, UInt8, UInt8
        )
    ) -> UInt32 {
        withUnsafeBytes(of: bytes) { $0.load(as: UInt32.self) }
    }

    var srcIPv4: UInt32 { Self.ipv4(src_ip) }
    var dstIPv4: UInt32 { Self.ipv4(dst_ip) }
    var srcIP6: [UInt8] { withUnsafeBytes(of: src_ip) { Array($0) } }
    var dstIP6: [UInt8] { withUnsafeBytes(of: dst_ip) { Array($0) } }
}
