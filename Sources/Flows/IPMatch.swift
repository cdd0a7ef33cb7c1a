/// An `--ip` value: one address, or a CIDR. IPv4 prefixes compare numerically; IPv6 values compare as text.
struct IPMatch {
    private enum Kind {
        case v4(network: UInt32, mask: UInt32)
        case text(String)
    }

    private let kind: Kind

    /// Parses `a.b.c.d`, `a.b.c.d/n` or an IPv6 address (text containing `:`); nil otherwise.
    init?(_ value: String) {
        let parts = value.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        if let address = IPv4Address(parts[0]) {
            var bits: UInt32 = 32
            if parts.count == 2 {
                guard let n = UInt32(parts[1]), n <= 32 else { return nil }
                bits = n
            }
            let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - bits)
            kind = .v4(network: address.host & mask, mask: mask)
        } else if parts.count == 1 && value.contains(":") {
            kind = .text(value.lowercased())
        } else {
            return nil
        }
    }

    func matches(_ address: String?) -> Bool {
        guard let address else { return false }
        switch kind {
        case .v4(let network, let mask):
            guard let a = IPv4Address(address) else { return false }
            return a.host & mask == network
        case .text(let text):
            return address.lowercased() == text
        }
    }
}
