import CSluiceShared
import DNS

/// The datapath's DNS deny cache (bpf/include/sluice_dns.h, bpf/lib/dns_deny.h) as the DNS proxy
/// fills it: the proxy inserts a UDP query it refused by DNS policy, tc answers the same query
/// again itself while the cache's generation has not moved (docs/architecture.md, "DNS denials
/// in the datapath").
public protocol DNSDenyCache: AnyObject {
    /// The generation now (an atomic load): read it before the steering epoch, then insert
    /// entries decided under the snapshot in force with it.
    var generation: UInt64 { get }
    /// Inserts (or replaces) one entry: one `bpf` syscall. False when the kernel refused it.
    @discardableResult
    func insert(_ key: UnsafePointer<sluice_dns_deny_key>, _ value: UnsafePointer<sluice_dns_deny_value>) -> Bool
}

/// The deny cache's key of a UDP query, built from its bytes exactly as tc builds it
/// (`sluice_dns_deny_lookup`), and only for the queries tc answers: QR 0, opcode QUERY, TC 0,
/// QDCOUNT 1, ANCOUNT and NSCOUNT 0, ARCOUNT 0 with nothing after the question, or ARCOUNT 1
/// with exactly one OPT record (root owner, no options) after it; an uncompressed name of at most
/// 255 bytes. The name is kept as on the wire with ASCII A-Z lower-cased (a length byte is <= 63,
/// never a letter), so two names share a key only when they are the same name: the policy, which
/// matches the lower-cased text, decides them alike. Every other query gets no key (nil) and
/// always goes to the proxy.
enum DNSDenyKey {
    /// The key of `bytes` (a DNS message, the UDP payload) sent by `client` to `server`, or nil.
    static func make(
        _ bytes: UnsafeRawBufferPointer, client: UInt32, server: UInt32, serverPort: UInt16
    ) -> sluice_dns_deny_key? {
        let header = DNSLimits.headerSize
        guard bytes.count >= header + 1 + 4, bytes[2] & 0xFA == 0, bytes[4] == 0, bytes[5] == 1,
            bytes[6] | bytes[7] | bytes[8] | bytes[9] | bytes[10] == 0, bytes[11] <= 1
        else { return nil }
        var position = header
        while true {
            guard position < bytes.count else { return nil }
            let length = Int(bytes[position])
            if length == 0 { break }
            guard length & 0xC0 == 0 else { return nil }
            position += 1 + length
        }
        let nameLength = position + 1 - header
        guard nameLength <= Int(SLUICE_DNS_NAME_MAX) else { return nil }
        let rest = bytes.count - header - nameLength
        if bytes[11] == 0 {
            guard rest == 4 else { return nil }
        } else {
            let opt = header + nameLength + 4
            guard rest == 4 + 11, bytes[opt] == 0, bytes[opt + 1] == 0, bytes[opt + 2] == UInt8(RRType.opt.rawValue),
                bytes[opt + 9] == 0, bytes[opt + 10] == 0
            else { return nil }
        }
        var key = sluice_dns_deny_key()
        key.client_ip4 = client
        key.server_ip4 = server
        key.server_port = serverPort
        key.name_len = UInt8(nameLength)
        withUnsafeMutableBytes(of: &key.name) { name in
            for i in 0..<nameLength {
                let byte = bytes[header + i]
                name[i] = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            }
        }
        return key
    }

    /// The entry for a query the proxy refused with `rcode` under `generation`: the request
    /// flow's query text (`qname`, cut as the flow record cuts it) and policy reference.
    static func value(generation: UInt64, rcode: RCode, qname: [UInt8], policyRef: UInt32) -> sluice_dns_deny_value {
        var value = sluice_dns_deny_value()
        value.generation = generation
        value.policy_ref = policyRef
        value.rcode = UInt8(truncatingIfNeeded: rcode.rawValue & 0x0F)
        let count = min(qname.count, Int(SLUICE_DNS_QUERY_MAX))
        value.query_len = UInt16(count)
        withUnsafeMutableBytes(of: &value.query) { query in
            qname.withUnsafeBytes { query.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
        return value
    }
}
