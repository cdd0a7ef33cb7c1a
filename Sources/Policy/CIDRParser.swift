/// Parses CIDR peers (`fromCIDR`, `toCIDRSet`, NetworkPolicy `ipBlock`). They are kept for the
/// L3/L4 stage; Cilium never lets them select pods.
enum CIDRParser {
    /// Parses `a.b.c.d/n` or an IPv6 prefix; a bare address is accepted like Cilium's `CIDR`.
    static func parse(_ value: YAMLValue) throws(LoadError) -> String {
        let text = try value.string()
        guard isPrefix(text, bareAllowed: true) else {
            throw value.error("unable to parse CIDR: \"\(text)\"")
        }
        return text
    }

    /// Parses `{cidr, except}` (CiliumNetworkPolicy CIDRRule / NetworkPolicy ipBlock).
    static func parseRule(_ value: YAMLValue) throws(LoadError) -> CIDRRule {
        let mapping = try value.mapping(allowing: ["cidr", "except", "cidrGroupRef", "cidrGroupSelector"])
        for key in ["cidrGroupRef", "cidrGroupSelector"] {
            if let field = mapping.entries[key] { throw field.error("\"\(key)\" is not supported by Sluice yet") }
        }
        let cidrValue = try mapping.required("cidr")
        let cidr = try cidrValue.string()
        guard isPrefix(cidr, bareAllowed: false) else {
            throw cidrValue.error("Unable to parse CIDRRule \"\(cidr)\"")
        }
        var except: [String] = []
        for item in try mapping["except"]?.sequence() ?? [] {
            let text = try item.string()
            guard isPrefix(text, bareAllowed: false) else { throw item.error("unable to parse CIDR: \"\(text)\"") }
            except.append(text)
        }
        return CIDRRule(cidr: cidr, except: except)
    }

    /// A light syntax check: address characters, and a prefix length in range when present.
    private static func isPrefix(_ text: String, bareAllowed: Bool) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard let address = parts.first, !address.isEmpty, parts.count <= 2 else { return false }
        let isV6 = address.contains(":")
        let allowed = isV6 ? "0123456789abcdefABCDEF:." : "0123456789."
        guard address.allSatisfy({ allowed.contains($0) }) else { return false }
        if !isV6 {
            let octets = address.split(separator: ".", omittingEmptySubsequences: false)
            guard octets.count == 4, octets.allSatisfy({ UInt8($0) != nil }) else { return false }
        }
        guard parts.count == 2 else { return bareAllowed }
        guard let length = Int(parts[1]) else { return false }
        return length >= 0 && length <= (isV6 ? 128 : 32)
    }
}
