import SluiceAPI

/// The sandbox's certificates, planned without touching the system: a CA (ECDSA P-256) that
/// `sandbox up` creates every time, and one server certificate per host with a TLS server
/// (`https`, `h2-tls`, `grpc-tls`), issued by that CA for the host's DNS names and addresses.
///
/// Conventions a user (and any test) relies on, with the default directories:
/// - `/run/sluice/sandbox/tls/ca.crt`: the CA a client trusts (`curl --cacert`); `ca.key` beside
///   it signs more certificates if a test needs them.
/// - The agent's secrets directory (`/run/sluice/secrets`, Cilium's certificates-directory
///   layout `<namespace>/<name>/{tls.crt,tls.key,ca.crt}`): `<ns>/<pod>-tls/{tls.crt,tls.key}`
///   for every pod with a TLS server, `world/<name>-tls/{tls.crt,tls.key}` for world hosts,
///   `kube-system/sandbox-ca/ca.crt` (the CA, for `originatingTLS.trustedCA`).
///
/// The certificates are made by the `openssl` command line (`req -x509`, OpenSSL 3): the sandbox
/// already builds everything by running commands, and a command line per certificate keeps this
/// plan pure and testable, where building X.509 extensions through the C API would add a few
/// hundred lines of pointer code to a target that otherwise links no OpenSSL.
public struct SandboxTLS: Equatable, Sendable {
    /// The agent's default secrets directory.
    public static let defaultSecretsDirectory = "/run/sluice/secrets"
    /// The secret holding the CA for `originatingTLS`: `kube-system/sandbox-ca/ca.crt`.
    public static let caSecretNamespace = "kube-system"
    public static let caSecretName = "sandbox-ca"
    /// The namespace under which world hosts' secrets are written.
    public static let worldSecretNamespace = "world"
    /// The suffix of a host's secret name (`<pod>-tls`, `<world name>-tls`).
    public static let secretSuffix = "-tls"
    /// Subject of the CA.
    static let caCommonName = "Sluice sandbox CA"
    /// RFC 5280's upper bound of a common name, and the CN when no DNS name fits it.
    static let maxCommonNameLength = 64
    static let fallbackCommonName = "sluice sandbox server"
    /// Validity of every certificate, in days (the sandbox lives for a test run, not for months).
    static let validityDays = 30
    /// File names inside a secret directory, as in a Kubernetes TLS secret.
    public static let certificateFile = "tls.crt"
    public static let keyFile = "tls.key"
    public static let caFile = "ca.crt"
    static let caKeyFile = "ca.key"
    /// Marks a secrets directory the sandbox wrote (see `SandboxManager.removeSecrets`).
    static let manifestFile = ".sluice-sandbox"

    /// One host's server certificate.
    public struct Identity: Equatable, Sendable {
        /// `namespace/pod` or `world/NAME`, as in `SandboxState.ServerProcess.owner`.
        public var owner: String
        /// Where its secret lives: `<secretNamespace>/<secretName>/` in the secrets directory.
        public var secretNamespace: String
        public var secretName: String
        /// Subject alternative names: DNS names (the first is also the common name).
        public var dnsNames: [String]
        /// Subject alternative names: IP addresses.
        public var ipAddresses: [String]

        /// The subject's common name: the first DNS name that fits X.509's 64-character limit
        /// (clients match the subject alternative names; the CN only labels the certificate).
        public var commonName: String {
            dnsNames.first { $0.utf8.count <= SandboxTLS.maxCommonNameLength } ?? SandboxTLS.fallbackCommonName
        }

        /// `<secretNamespace>/<secretName>`, relative to the secrets or TLS directory.
        public var relativeDirectory: String {
            secretNamespace + "/" + secretName
        }
    }

    /// Every host with at least one TLS server, in plan order (pods, then world hosts).
    public var identities: [Identity]

    /// The certificates a plan needs.
    init(plan: SandboxPlan) {
        var identities: [Identity] = []
        for planned in plan.endpoints where planned.servers.contains(where: { $0.kind.usesTLS }) {
            let endpoint = planned.endpoint
            identities.append(
                Identity(
                    owner: "\(endpoint.namespace)/\(endpoint.pod)", secretNamespace: endpoint.namespace,
                    secretName: endpoint.pod + Self.secretSuffix,
                    dnsNames: DNSConfig.names(namespace: endpoint.namespace, pod: endpoint.pod) + [endpoint.pod],
                    ipAddresses: [endpoint.ipv4]))
        }
        for host in plan.world where host.servers.contains(where: { $0.kind.usesTLS }) {
            identities.append(
                Identity(
                    owner: "world/\(host.name)", secretNamespace: Self.worldSecretNamespace,
                    secretName: host.name + Self.secretSuffix, dnsNames: [host.name],
                    ipAddresses: host.addresses.map(\.description)))
        }
        self.identities = identities
    }

    /// The identity whose certificate the server of `owner` presents.
    public func identity(owner: String) -> Identity? {
        identities.first { $0.owner == owner }
    }

    /// Every secret directory the sandbox writes, relative to the secrets directory: the CA
    /// secret first, then one per identity.
    public var secretDirectories: [String] {
        [Self.caSecretNamespace + "/" + Self.caSecretName] + identities.map(\.relativeDirectory)
    }

    /// `openssl req -x509` making the self-signed CA `<directory>/ca.crt` and its key.
    static func caCommand(directory: String) -> [String] {
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-days", "\(validityDays)", "-subj", "/CN=\(caCommonName)",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout", directory + "/" + caKeyFile, "-out", directory + "/" + caFile,
        ]
    }

    /// `openssl req -x509 -CA` making `identity`'s key and certificate in `directory`, signed by
    /// the CA in `caDirectory`: a server certificate (not a CA) for its names and addresses.
    static func certificateCommand(identity: Identity, directory: String, caDirectory: String) -> [String] {
        let names = identity.dnsNames.map { "DNS:" + $0 } + identity.ipAddresses.map { "IP:" + $0 }
        return [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-CA", caDirectory + "/" + caFile, "-CAkey", caDirectory + "/" + caKeyFile,
            "-days", "\(validityDays)", "-subj", "/CN=\(identity.commonName)",
            "-addext", "subjectAltName=" + names.joined(separator: ","),
            "-addext", "basicConstraints=critical,CA:FALSE",
            "-addext", "keyUsage=critical,digitalSignature",
            "-addext", "extendedKeyUsage=serverAuth",
            "-keyout", directory + "/" + keyFile, "-out", directory + "/" + certificateFile,
        ]
    }

    /// The text of the manifest `up` leaves in the secrets directory: `created` when the sandbox
    /// made the directory (then `down` removes all of it), then the directories it wrote.
    static func manifest(createdDirectory: Bool, directories: [String]) -> String {
        ([createdDirectory ? "created" : "existing"] + directories).joined(separator: "\n") + "\n"
    }

    /// What `down` removes for a manifest: `nil` for the whole secrets directory, else the
    /// listed directories (paths that would leave the directory are ignored).
    static func directoriesToRemove(manifest: String) -> [String]? {
        let lines = manifest.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        if lines.first == "created" { return nil }
        return lines.dropFirst().filter { line in
            !line.hasPrefix("/") && !line.split(separator: "/").contains { $0 == ".." || $0 == "." }
        }
    }
}
