import COpenSSL
import Policy

/// Whether the secrets that the policies in force name can be used now (docs/policy.md "TLS
/// interception", "Secrets that go missing"). `sluice apply` refuses a policy whose secret is
/// missing, but policies restored at the agent's start, and secrets removed or broken later,
/// are only found here: `sluice status` prints one line per unusable secret, and the agent
/// prints them when it starts. The proxy fails closed on its own (a terminating port whose
/// certificate cannot be loaded resets its clients with an ERROR flow naming ENOENT; an
/// upstream whose CA cannot be loaded is a 503 naming ENOENT), while other rules keep working.
/// A secret that was loaded once keeps being served from memory while its files are being
/// replaced or are gone (`TLSContextStore`); it is re-read when its files change.
public enum TLSSecretCheck {
    /// One line per secret of `documents` (each named once, by its first user) whose files are
    /// missing or do not load, in policy order; empty when all can be used.
    public static func problems(_ documents: [PolicyDocument], directory: String) -> [String] {
        var seen: [(TLSContext, Bool)] = []
        var lines: [String] = []
        for document in documents {
            for (context, terminating) in document.tlsContexts {
                if seen.contains(where: { $0.0 == context && $0.1 == terminating }) { continue }
                seen.append((context, terminating))
                let field = terminating ? "terminatingTLS" : "originatingTLS"
                let user = "\(field) of \(document.key)"
                let consequence =
                    terminating
                    ? "its intercepted connections are reset (ERROR flow, downstream ENOENT)"
                    : "its requests are answered 503 (upstream ENOENT)"
                if let path = TLSContextStore.missingFile(context, terminating: terminating, directory: directory) {
                    lines.append(
                        "TLS secret \"\(context.secretName)\" (\(user)): \(path) is missing; \(consequence)")
                    continue
                }
                let paths = TLSContextStore.paths(context, terminating: terminating, directory: directory)
                switch TLSContextStore.build(context, terminating: terminating, paths: paths) {
                case .success(let ctx):
                    SSL_CTX_free(ctx)
                case .failure(let error):
                    lines.append("TLS secret \"\(context.secretName)\" (\(user)): \(error.message); \(consequence)")
                }
            }
        }
        return lines
    }
}
