import SluiceModel

/// `sluice-observer`'s command line: `--name value`, `--name=value`, `-h`/`--help`. Hand-written
/// (no ArgumentParser, no Foundation) like the agent's.
public enum ObserverCommandLine {
    public enum Outcome: Equatable {
        case run(ObserverOptions)
        case help(String)
    }

    /// A command-line error, worded for the user.
    public typealias Failure = CommandLineFailure

    private struct Spec {
        let name: String
        let value: String
        let help: String
        let apply: (inout ObserverOptions, String) throws(Failure) -> Void
    }

    private static let specs: [Spec] = [
        Spec(name: "--grpc-address", value: "addr", help: "Observer gRPC API listen address (default :4244).") {
            o, v throws(Failure) in o.grpcAddress = try address(v, "--grpc-address")
        },
        Spec(
            name: "--metrics-address", value: "addr",
            help: "Prometheus metrics listen address (default :9965; empty: off)."
        ) { o, v throws(Failure) in o.metricsAddress = v.isEmpty ? nil : try address(v, "--metrics-address") },
        Spec(name: "--ui-address", value: "addr", help: "Service-map page listen address (default :12000; empty: off).")
        { o, v throws(Failure) in o.uiAddress = v.isEmpty ? nil : try address(v, "--ui-address") },
        Spec(name: "--node-name", value: "name", help: "node_name of flows and answers (default: the agent's).") {
            o, v throws(Failure) in o.nodeName = v
        },
        Spec(name: "--max-flows", value: "n", help: "Flows kept for GetFlows (Hubble's max_flows, default 4095).") {
            o, v throws(Failure) in
            guard let n = Int(v), n >= 1, n <= 1 << 20 else {
                throw Failure(message: "--max-flows: '\(v)' is not a number in 1...1048576")
            }
            o.maxFlows = n
        },
        Spec(name: "--pin-dir", value: "path", help: "bpffs directory of the pinned flow ring.") {
            o, v throws(Failure) in o.pinDirectory = v
        },
        Spec(name: "--state-dir", value: "path", help: "The agent's state directory (endpoints.json, fqdn.json).") {
            o, v throws(Failure) in o.stateDirectory = v
        },
        Spec(name: "--netns", value: "name", help: "Network namespace to listen in (name under /run/netns, or a path).")
        { o, v throws(Failure) in o.netns = v },
        Spec(name: "--metrics", value: "list", help: "Hubble metrics to enable, in Hubble's --metrics syntax.") {
            o, v throws(Failure) in o.metrics = v
        },
        Spec(name: "--tls-cert-file", value: "path", help: "PEM certificate chain: serve gRPC over TLS (h2 by ALPN).") {
            o, v throws(Failure) in o.tlsCertFile = v
        },
        Spec(name: "--tls-key-file", value: "path", help: "PEM private key of --tls-cert-file (both or neither).") {
            o, v throws(Failure) in o.tlsKeyFile = v
        },
        Spec(
            name: "--tls-client-ca-file", value: "path",
            help: "PEM CA: gRPC clients must present a certificate it signed (needs --tls-cert-file)."
        ) { o, v throws(Failure) in o.tlsClientCAFile = v },
    ]

    /// The help text.
    public static var usage: String {
        var text =
            "Usage: sluice-observer [options]\n\nServes Hubble's interfaces for this node's flow ring.\n\nOptions:\n"
        for spec in specs {
            let head = "  \(spec.name) <\(spec.value)>"
            text += head + String(repeating: " ", count: max(1, 31 - head.count)) + spec.help + "\n"
        }
        return text + "  -h, --help                   This help.\n"
    }

    /// Parses `arguments` (without the program name).
    public static func parse(_ arguments: [String]) throws(Failure) -> Outcome {
        var options = ObserverOptions()
        var scanner = CommandLineScanner(arguments)
        while let token = try scanner.next() {
            guard case .option(let name, let inline) = token else { return .help(usage) }
            guard let spec = specs.first(where: { $0.name == name }) else { throw .unknownOption(name) }
            try spec.apply(&options, try scanner.value(inline: inline, usage: "\(name) <\(spec.value)>"))
        }
        if (options.tlsCertFile == nil) != (options.tlsKeyFile == nil) {
            throw Failure(message: "--tls-cert-file and --tls-key-file go together (both or neither)")
        }
        if options.tlsClientCAFile != nil && options.tlsCertFile == nil {
            throw Failure(message: "--tls-client-ca-file needs --tls-cert-file and --tls-key-file")
        }
        return .run(options)
    }

    private static func address(_ text: String, _ option: String) throws(Failure) -> ListenAddress {
        guard let address = ListenAddress(text) else {
            throw Failure(message: "\(option): '\(text)' is not HOST:PORT or :PORT (HOST an IPv4 address)")
        }
        return address
    }
}
