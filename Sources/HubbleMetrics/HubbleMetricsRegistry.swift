import Flows

/// The enabled Hubble handlers and Sluice's own families: flows go in, the text exposition comes
/// out. Pure (no clock, no I/O); owned by one thread (the observer's loop), not `Sendable`.
public final class HubbleMetricsRegistry {
    /// The handlers in the order the option string names them.
    public let handlers: [any MetricHandler]
    /// `sluice_*` families.
    public let sluice: SluiceMetrics
    /// Whether `process(record:decode:)` may count a record from its own fields
    /// (`HubbleMetricsRegistry+Record.swift`): no context labels, no handler that reads names.
    public let countsFromRecords: Bool
    /// Whether a record's destination port is part of its effect key (`port-distribution`).
    let keyHasPort: Bool
    /// What counting a record of each key did (`HubbleMetricsRegistry+Record.swift`), by key.
    var recordEffects = RecordEffectsTable()
    /// Records of known keys counted since their counter effects were last applied.
    let pending = PendingRecordCounts(capacity: HubbleMetricsRegistry.maxRecordKeys)
    /// The families a flow can move, for the record path's diff.
    private(set) lazy var countedFamilies: (counters: [CounterFamily], histograms: [HistogramFamily]) = {
        let all = handlers.flatMap(\.families) + [sluice.connections, sluice.requests, sluice.upstreamLatency]
        return (all.compactMap { $0 as? CounterFamily }, all.compactMap { $0 as? HistogramFamily })
    }()

    /// Builds the handlers of `config`; an option a handler refuses is a `ConfigError`.
    public init(config: MetricsConfig) throws(MetricsConfig.ConfigError) {
        var handlers: [any MetricHandler] = []
        for metric in config.metrics {
            handlers.append(try Self.makeHandler(metric))
        }
        self.handlers = handlers
        self.sluice = SluiceMetrics()
        countsFromRecords = handlers.allSatisfy(Self.countsFromRecordFields)
        keyHasPort = handlers.contains { $0 is PortDistributionHandler }
    }

    /// Parses `options` (Hubble's syntax) and builds the handlers.
    public convenience init(options: String) throws(MetricsConfig.ConfigError) {
        try self.init(config: MetricsConfig.parse(options))
    }

    static func makeHandler(_ metric: MetricsConfig.Metric) throws(MetricsConfig.ConfigError) -> any MetricHandler {
        switch metric.name {
        case "flow": return try FlowHandler(metric)
        case "drop": return try DropHandler(metric)
        case "tcp": return try TCPHandler(metric)
        case "icmp": return try ICMPHandler(metric)
        case "port-distribution": return try PortDistributionHandler(metric)
        case "policy": return try PolicyHandler(metric)
        case "http", "httpV2": return try HTTPHandler(metric)
        case "dns": return try DNSHandler(metric)
        case "flows-to-world": return try FlowsToWorldHandler(metric)
        default: throw MetricsConfig.ConfigError("metric '\(metric.name)' does not exist")
        }
    }

    /// Counts one flow in every handler and in Sluice's families.
    public func process(_ flow: Flow) {
        for handler in handlers { handler.process(flow) }
        sluice.process(flow)
    }

    /// Every family, Hubble's then Sluice's (the counts of records counted since the last
    /// `applyPendingCounts` applied first: what a reader sees is exact).
    public var families: [any MetricFamily] {
        applyPendingCounts()
        return handlers.flatMap(\.families) + sluice.families
    }

    /// The family named `name`, if enabled.
    public func family(_ name: String) -> (any MetricFamily)? { families.first { $0.name == name } }

    /// The text exposition of every family that has series.
    public func render() -> String { Exposition.render(families) }
}
