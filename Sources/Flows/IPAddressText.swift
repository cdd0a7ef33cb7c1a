/// An IPv4 address parsed from, or printed as, a dotted quad. Pure; no Foundation, no allocation beyond the text.
struct IPv4Address: Equatable, Hashable {
    /// The address as a host-order number (`10.0.1.23` is 0x0A000117).
    var host: UInt32

    init(host: UInt32) { self.host = host }

    /// The address whose bytes in memory are `networkOrder`'s (the `s_addr` of a `sockaddr_in`).
    init(networkOrder: UInt32) { self.host = UInt32(bigEndian: networkOrder) }

    /// Parses `a.b.c.d` with decimal octets 0...255 (no leading `+`, at most 3 digits each).
    init?(_ text: some StringProtocol) {
        var value: UInt32 = 0
        var octets = 0
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard part.count >= 1, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let octet = UInt32(part), octet <= 255 else { return nil }
            value = value << 8 | octet
            octets += 1
        }
        guard octets == 4 else { return nil }
        self.host = value
    }

    /// The value whose in-memory bytes are the address in network order.
    var networkOrder: UInt32 { host.bigEndian }

    /// Dotted-quad text.
    var text: String {
        "\(host >> 24).\(host >> 16 & 0xFF).\(host >> 8 & 0xFF).\(host & 0xFF)"
    }
}

/// Text forms of raw address bytes, as Go's `net.IP.String()` prints them.
enum IPAddressText {
    /// `a.b.c.d` from the first four bytes.
    static func ipv4(_ b: (UInt8, UInt8, UInt8, UInt8)) -> String {
        "\(b.0).\(b.1).\(b.2).\(b.3)"
    }

    /// RFC 5952 text of 16 bytes: lower-case hex, the longest run (length ≥ 2) of zero groups written `::`.
    static func ipv6(_ bytes: [UInt8]) -> String {
        guard bytes.count == 16 else { return "" }
        var groups = [UInt16](repeating: 0, count: 8)
        for i in 0..<8 {
            groups[i] = UInt16(bytes[2 * i]) << 8 | UInt16(bytes[2 * i + 1])
        }
        if groups[0..<5].allSatisfy({ $0 == 0 }) && groups[5] == 0xFFFF {
            return "::ffff:" + ipv4((bytes[12], bytes[13], bytes[14], bytes[15]))
        }
        var bestStart = -1, bestLength = 0, runStart = -1
        for i in 0...8 {
            if i < 8 && groups[i] == 0 {
                if runStart < 0 { runStart = i }
            } else if runStart >= 0 {
                if i - runStart > bestLength {
                    bestStart = runStart
                    bestLength = i - runStart
                }
                runStart = -1
            }
        }
        if bestLength < 2 { bestStart = -1 }
        var out = ""
        var i = 0
        while i < 8 {
            if i == bestStart {
                out += "::"
                i += bestLength
                continue
            }
            if !out.isEmpty && !out.hasSuffix(":") { out += ":" }
            out += String(groups[i], radix: 16)
            i += 1
        }
        return out
    }
}
