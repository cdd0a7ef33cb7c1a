import SluiceModel

/// An `--ip` value: one address, or a CIDR. IPv4 values compare as prefixes (SluiceModel's one
/// grammar); IPv6 values compare as text.
struct IPMatch {
    private enum Kind {
        case v4(IPv4Prefix)
        case text(String)
    }

    private let kind: Kind

    /// Parses `a.b.c.d`, `a.b.c.d/n` or an IPv6 address (text containing `:`); nil otherwise.
    init?(_ value: String) {
        if let prefix = IPv4Prefix(value) {
            kind = .v4(prefix)
        } else if !value.contains("/") && value.contains(":") {
            kind = .text(value.lowercased())
        } else {
            return nil
        }
    }

    func matches(_ address: String?) -> Bool {
        guard let address else { return false }
        switch kind {
        case .v4(let prefix):
            guard let a = IPv4Address(address) else { return false }
            return prefix.contains(a)
        case .text(let text):
            return address.lowercased() == text
        }
    }
}
