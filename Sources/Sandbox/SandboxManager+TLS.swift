import Foundation

/// The sandbox CA, the servers' certificates and the secrets written for the agent
/// (`SandboxTLS` says which and where).
///
/// Readability: the agent makes `/run/sluice` mode 0700 (root only). Pods are network namespaces
/// entered by `ip netns exec` as root in the host's mount namespace, so a client or server in a
/// pod reads `/run/sluice/sandbox/tls/ca.crt` and the keys as root does; a non-root process (in
/// a pod or not) cannot, and needs a copy of `ca.crt` elsewhere. Keys and the secrets directory
/// are readable by root only (0600 and 0700) whatever the mode of `/run/sluice`.
extension SandboxManager {
    /// Mode of private keys and of the secrets directory.
    static let privateFileMode: Int = 0o600
    static let privateDirectoryMode: Int = 0o700
    static let publicFileMode: Int = 0o644

    /// The certificate and key a TLS server of `identity` loads (its own copy, so a test
    /// that rewrites the agent's secret does not change what the server presents).
    func tlsFiles(_ identity: SandboxTLS.Identity?) -> ServerLauncher.TLSFiles? {
        guard let identity else { return nil }
        let directory = tlsDirectory + "/" + identity.relativeDirectory
        return ServerLauncher.TLSFiles(
            certificate: directory + "/" + SandboxTLS.certificateFile, key: directory + "/" + SandboxTLS.keyFile)
    }

    /// Makes the CA in `tlsDirectory`, a certificate per identity beside it, and writes the
    /// secrets (the manifest first, so `down` finds them even if `up` dies midway).
    func makeCertificates(_ tls: SandboxTLS) throws(SandboxError) {
        try createDirectory(tlsDirectory)
        try CommandRunner.run(SandboxTLS.caCommand(directory: tlsDirectory))
        try setMode(tlsDirectory + "/" + SandboxTLS.caKeyFile, Self.privateFileMode)
        try setMode(tlsDirectory + "/" + SandboxTLS.caFile, Self.publicFileMode)
        for identity in tls.identities {
            let directory = tlsDirectory + "/" + identity.relativeDirectory
            try createDirectory(directory)
            try CommandRunner.run(
                SandboxTLS.certificateCommand(identity: identity, directory: directory, caDirectory: tlsDirectory))
            try setMode(directory + "/" + SandboxTLS.keyFile, Self.privateFileMode)
        }
        try writeSecrets(tls)
    }

    /// Writes `kube-system/sandbox-ca/ca.crt` and each identity's `tls.crt`/`tls.key` into the
    /// secrets directory, each file replaced atomically (the agent re-reads changed files).
    private func writeSecrets(_ tls: SandboxTLS) throws(SandboxError) {
        let created = !FileManager.default.fileExists(atPath: secretsDirectory)
        try createDirectory(secretsDirectory)
        try setMode(secretsDirectory, Self.privateDirectoryMode)
        try writeSecretFile(
            secretsDirectory + "/" + SandboxTLS.manifestFile,
            contents: Data(
                SandboxTLS.manifest(createdDirectory: created, directories: tls.secretDirectories).utf8),
            mode: Self.privateFileMode)
        let caSecret = secretsDirectory + "/" + SandboxTLS.caSecretNamespace + "/" + SandboxTLS.caSecretName
        try createDirectory(caSecret)
        try copyFile(
            tlsDirectory + "/" + SandboxTLS.caFile, to: caSecret + "/" + SandboxTLS.caFile, mode: Self.publicFileMode)
        for identity in tls.identities {
            let source = tlsDirectory + "/" + identity.relativeDirectory
            let target = secretsDirectory + "/" + identity.relativeDirectory
            try createDirectory(target)
            try copyFile(
                source + "/" + SandboxTLS.certificateFile, to: target + "/" + SandboxTLS.certificateFile,
                mode: Self.publicFileMode)
            try copyFile(
                source + "/" + SandboxTLS.keyFile, to: target + "/" + SandboxTLS.keyFile, mode: Self.privateFileMode)
        }
    }

    /// Removes what `up` wrote into the secrets directory: all of it when the sandbox created
    /// the directory (then everything in it was put there while the sandbox was up), else the
    /// directories its manifest lists and the namespace directories they leave empty. Nothing
    /// without a manifest (a secrets directory the sandbox never wrote to).
    func removeSecrets(problems: inout [String]) {
        let manifestPath = secretsDirectory + "/" + SandboxTLS.manifestFile
        guard let data = FileManager.default.contents(atPath: manifestPath) else { return }
        guard let listed = SandboxTLS.directoriesToRemove(manifest: String(decoding: data, as: UTF8.self)) else {
            removeItem(secretsDirectory, problems: &problems)
            return
        }
        for directory in listed {
            let path = secretsDirectory + "/" + directory
            if FileManager.default.fileExists(atPath: path) { removeItem(path, problems: &problems) }
            let parent = (path as NSString).deletingLastPathComponent
            if (try? FileManager.default.contentsOfDirectory(atPath: parent))?.isEmpty == true {
                removeItem(parent, problems: &problems)
            }
        }
        removeItem(manifestPath, problems: &problems)
    }

    private func copyFile(_ source: String, to target: String, mode: Int) throws(SandboxError) {
        guard let data = FileManager.default.contents(atPath: source) else {
            throw SandboxError.io(path: source, reason: "cannot read")
        }
        try writeSecretFile(target, contents: data, mode: mode)
    }

    /// Writes `contents` to a temporary file with `mode`, then renames it over `path`.
    private func writeSecretFile(_ path: String, contents: Data, mode: Int) throws(SandboxError) {
        let temporary = path + ".tmp"
        guard
            FileManager.default.createFile(
                atPath: temporary, contents: contents, attributes: [.posixPermissions: mode])
        else {
            throw SandboxError.io(path: temporary, reason: "cannot write")
        }
        guard rename(temporary, path) == 0 else {
            throw SandboxError.io(path: path, reason: "rename failed: \(String(cString: strerror(errno)))")
        }
    }

    private func setMode(_ path: String, _ mode: Int) throws(SandboxError) {
        do {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        } catch {
            throw SandboxError.io(path: path, reason: "cannot set mode: \(error.localizedDescription)")
        }
    }
}
