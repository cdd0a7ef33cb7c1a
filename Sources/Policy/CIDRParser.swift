import SluiceModel

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

    /// An IPv4 or IPv6 prefix in SluiceModel's grammar (`IPv4Prefix`, `IPv6Prefix`).
    private static func isPrefix(_ text: String, bareAllowed: Bool) -> Bool {
        IPv4Prefix(text, bareAllowed: bareAllowed) != nil || IPv6Prefix(text, bareAllowed: bareAllowed) != nil
    }
}
