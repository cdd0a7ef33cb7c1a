/// A `terminatingTLS` or `originatingTLS` of a port rule, as Cilium's `TLSContext`
/// (pkg/policy/api/l4.go): a secret (namespace, name) and the names of its items. Sluice reads
/// the secret from its secrets directory, `<dir>/<namespace>/<name>/<item>` (docs/policy.md
/// "TLS interception").
public struct TLSContext: Hashable, Sendable {
    /// The secret's namespace; Cilium's default when the field is left out is "default".
    public var namespace: String
    public var name: String
    /// Item with the CA certificates to trust (originatingTLS: the only roots the upstream's
    /// certificate may chain to).
    public var trustedCA: String
    /// Item with the certificate chain to present (terminatingTLS).
    public var certificate: String
    /// Item with the private key of `certificate`.
    public var privateKey: String

    public init(
        namespace: String, name: String, trustedCA: String = "ca.crt", certificate: String = "tls.crt",
        privateKey: String = "tls.key"
    ) {
        self.namespace = namespace
        self.name = name
        self.trustedCA = trustedCA
        self.certificate = certificate
        self.privateKey = privateKey
    }

    /// `namespace/name`, as messages name the secret.
    public var secretName: String { namespace + "/" + name }

    /// Parses `{secret: {namespace, name}, trustedCA, certificate, privateKey}`: `secret` and its
    /// `name` are required (Cilium's CRD schema), item names default to Cilium's (`ca.crt`,
    /// `tls.crt`, `tls.key`) and must be plain file names.
    static func parse(_ value: YAMLValue) throws(LoadError) -> TLSContext {
        let mapping = try value.mapping(allowing: ["secret", "trustedCA", "certificate", "privateKey"])
        let secretValue = try mapping.required("secret")
        let secret = try secretValue.mapping(allowing: ["namespace", "name"])
        let nameValue = try secret.required("name")
        let name = try nameValue.string()
        let namespace = try secret["namespace"]?.string() ?? ""
        if !isPlainName(name, allowEmpty: false) {
            throw nameValue.error("secret name must be one path component, got \"\(name)\"")
        }
        if !isPlainName(namespace, allowEmpty: true) {
            throw (secret["namespace"] ?? secretValue).error(
                "secret namespace must be one path component, got \"\(namespace)\"")
        }
        var context = TLSContext(namespace: namespace.isEmpty ? "default" : namespace, name: name)
        for (key, path) in [
            ("trustedCA", \TLSContext.trustedCA), ("certificate", \.certificate), ("privateKey", \.privateKey),
        ] {
            guard let item = mapping[key] else { continue }
            let text = try item.string()
            guard isPlainName(text, allowEmpty: true) else {
                throw item.error("\(key) must name an item of the secret, got \"\(text)\"")
            }
            if !text.isEmpty { context[keyPath: path] = text }
        }
        return context
    }

    /// A name that is one path component: no `/`, not `.` or `..`, printable ASCII.
    private static func isPlainName(_ text: String, allowEmpty: Bool) -> Bool {
        if text.isEmpty { return allowEmpty }
        if text == "." || text == ".." || text.utf8.count > 253 { return false }
        return text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "/") }
    }
}

/// The TLS interception of one HTTP port (Sources/Proxy/TLS): the proxy terminates the client's
/// TLS with `terminating`'s certificate and, with `originating`, speaks TLS to the upstream
/// trusting only its CA. `serverNames` (empty: any) are matched against the client's SNI once
/// the handshake is done.
public struct TLSInterception: Hashable, Sendable {
    public var terminating: TLSContext?
    public var originating: TLSContext?
    public var serverNames: [ServerNamePattern]

    public init(terminating: TLSContext?, originating: TLSContext?, serverNames: [ServerNamePattern] = []) {
        self.terminating = terminating
        self.originating = originating
        self.serverNames = serverNames
    }

    /// Whether the SNI `serverName` is allowed (no `serverNames`: every connection).
    public func allows(serverName: String?) -> Bool {
        serverNames.isEmpty || serverNames.contains { $0.matches(serverName) }
    }
}

extension PolicyDocument {
    /// Every `terminatingTLS` and `originatingTLS` of the document, with which one it is (`sluice
    /// apply` refuses a document whose secret is not in the secrets directory).
    public var tlsContexts: [(context: TLSContext, terminating: Bool)] {
        var result: [(context: TLSContext, terminating: Bool)] = []
        for rule in rules {
            for peerRule in rule.ingress + rule.egress {
                for portRule in peerRule.toPorts {
                    if let t = portRule.terminatingTLS { result.append((t, true)) }
                    if let o = portRule.originatingTLS { result.append((o, false)) }
                }
            }
        }
        return result
    }
}
