/// The metrics a node serves, written in Hubble's own option syntax (`--hubble-metrics`, Helm's
/// `hubble.metrics.enabled`): metrics separated by commas or spaces, each `NAME` or
/// `NAME:OPTIONS`, options separated by `;`, each `KEY` or `KEY=VALUE` (Hubble's `ParseOptions`):
///
///     dns:query;ignoreAAAA,drop,tcp,flow,port-distribution,icmp,httpV2:exemplars=true;labelsContext=source_ip,source_namespace
///
/// A comma inside an option value (`labelsContext=a,b`) would end the metric in a plain
/// comma-separated list; Hubble's list is split by spaces, so there it never does. Here a piece
/// that is not a metric name continues the value before it, so both spellings mean the same.
public struct MetricsConfig: Sendable, Equatable {
    /// One enabled metric handler and its options.
    public struct Metric: Sendable, Equatable {
        /// `flow`, `drop`, `httpV2`...
        public var name: String
        /// Options as written (key case kept; handlers compare keys case-insensitively as Hubble does).
        public var options: [Option]

        public init(name: String, options: [Option] = []) {
            self.name = name
            self.options = options
        }

        /// The value of the option `key` (case-insensitive), "" for a bare key, nil when absent.
        public func option(_ key: String) -> String? {
            options.last(where: { $0.key.lowercased() == key.lowercased() })?.value
        }
    }

    /// `KEY=VALUE` (`value` "" for a bare `KEY`).
    public struct Option: Sendable, Equatable {
        public var key: String
        public var value: String

        public init(_ key: String, _ value: String = "") {
            self.key = key
            self.value = value
        }
    }

    /// Why an option string was refused, in Hubble's words where it has them.
    public struct ConfigError: Error, Equatable, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// The handlers Sluice implements, by Hubble's names.
    public static let knownMetrics: Set<String> = [
        "flow", "drop", "tcp", "icmp", "port-distribution", "policy", "http", "httpV2", "dns", "flows-to-world",
    ]

    /// Handlers Hubble has and Sluice does not produce flows for.
    static let unsupported: Set<String> = ["kafka", "sctp", "flows-per-pod", "nld"]

    /// Enabled metrics in the order written.
    public var metrics: [Metric]

    public init(metrics: [Metric]) {
        self.metrics = metrics
    }

    /// The sandbox's and Hubble's usual set: `flow`, `drop`, `tcp`, `policy`, `httpV2`, `dns`.
    public static let sandboxDefault = "dns,drop,tcp,flow,policy,httpV2"

    /// Parses `text`; an empty text enables nothing.
    public static func parse(_ text: String) throws(ConfigError) -> MetricsConfig {
        var raw: [(name: String, options: String)] = []
        let pieces = text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" || $0 == "\n" })
        for piece in pieces {
            let name = piece.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)[0]
            if knownMetrics.contains(String(name)) || unsupported.contains(String(name)) {
                let options = piece.count > name.count ? String(piece.dropFirst(name.count + 1)) : ""
                raw.append((String(name), options))
            } else if !raw.isEmpty, !raw[raw.count - 1].options.isEmpty {
                raw[raw.count - 1].options += "," + piece
            } else {
                throw ConfigError("metric '\(piece)' does not exist")
            }
        }
        var metrics: [Metric] = []
        for (name, options) in raw {
            if unsupported.contains(name) {
                throw ConfigError("metric '\(name)' is Hubble's but Sluice records no \(name) flows")
            }
            if metrics.contains(where: { $0.name == name }) {
                throw ConfigError("metric '\(name)' is enabled twice")
            }
            metrics.append(Metric(name: name, options: parseOptions(options)))
        }
        let names = Set(metrics.map(\.name))
        if names.contains("http") && names.contains("httpV2") {
            throw ConfigError("plugin httpV2 conflicts with plugin http")
        }
        return MetricsConfig(metrics: metrics)
    }

    /// Hubble's `ParseOptions`: `;`-separated, empty ones skipped, split at the first `=`.
    static func parseOptions(_ s: String) -> [Option] {
        s.split(separator: ";").map { option in
            let kv = option.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return Option(String(kv[0]), kv.count == 2 ? String(kv[1]) : "")
        }
    }
}
