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
/// TLS with a `terminatingTLS` certificate and, with `originating`, speaks TLS to the upstream
/// trusting only its CA. `serverNames` (empty: any) are matched against the client's SNI once
/// the handshake is done. Several rules on one port may each name their own certificate for
/// their own `serverNames`: `certificates` keeps them in policy order, and the client is served
/// the first whose names match its SNI, else the first without names (`terminating(for:)`), as
/// Envoy picks the filter chain of Cilium's per-rule listeners (a server-name match beats a
/// chain without names, whatever their order).
public struct TLSInterception: Hashable, Sendable {
    /// One rule's certificate and the server names it is for (empty: any name).
    public struct Certificate: Hashable, Sendable {
        public var serverNames: [ServerNamePattern]
        public var context: TLSContext

        public init(serverNames: [ServerNamePattern], context: TLSContext) {
            self.serverNames = serverNames
            self.context = context
        }
    }

    /// The first rule's certificate (the one served when no rule's names match the SNI).
    public var terminating: TLSContext?
    public var originating: TLSContext?
    public var serverNames: [ServerNamePattern]
    /// Every rule's `terminatingTLS` with its `serverNames`, in policy order, one per distinct
    /// pair.
    public var certificates: [Certificate]

    public init(
        terminating: TLSContext?, originating: TLSContext?, serverNames: [ServerNamePattern] = [],
        certificates: [Certificate]? = nil
    ) {
        self.terminating = terminating
        self.originating = originating
        self.serverNames = serverNames
        self.certificates =
            certificates ?? terminating.map { [Certificate(serverNames: serverNames, context: $0)] } ?? []
    }

    /// Whether the SNI `serverName` is allowed (no `serverNames`: every connection).
    public func allows(serverName: String?) -> Bool {
        serverNames.isEmpty || serverNames.contains { $0.matches(serverName) }
    }

    /// The certificate to present to a client whose SNI is `serverName`: the first rule whose
    /// `serverNames` match it; else the first rule without `serverNames` (any name); else the
    /// first rule's (the connection is then refused for its SNI after the handshake).
    public func terminating(for serverName: String?) -> TLSContext? {
        var anyName: TLSContext?
        for certificate in certificates {
            if certificate.serverNames.isEmpty {
                if anyName == nil { anyName = certificate.context }
            } else if certificate.serverNames.contains(where: { $0.matches(serverName) }) {
                return certificate.context
            }
        }
        return anyName ?? terminating
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
