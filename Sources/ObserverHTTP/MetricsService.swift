import Flows
import HubbleMetrics
import HubbleObserver
import SluiceIO

/// `/metrics` on `--metrics-address` (Hubble's 9965): the handlers `--metrics` enables (Hubble's
/// syntax; the sandbox's set when none is given) fed with every flow the observer reads, and
/// Sluice's own families. Counting happens as flows arrive; a scrape only renders.
public final class MetricsService: ObserverService {
    public private(set) var registry: HubbleMetricsRegistry?
    private let http = HTTPService()
    private weak var observer: Observer?
    private let agent: AgentReadings

    public init(agent: AgentReadings = AgentReadings()) {
        self.agent = agent
    }

    public func start(observer: Observer) throws {
        guard let address = observer.options.metricsAddress else { return }
        let registry = try HubbleMetricsRegistry(options: observer.options.metrics ?? MetricsConfig.sandboxDefault)
        self.registry = registry
        self.observer = observer
        // Flows already in the history count too (those read before this service started).
        for entry in observer.history.entries { registry.process(entry.flow) }
        observer.addListener(Counter(registry: registry, observer: observer))
        try http.start(loop: observer.loop, address: address) { [weak self] request in
            self?.answer(request) ?? HTTPResponse(status: 404, text: "not found\n")
        }
    }

    func answer(_ request: HTTPRequest) -> HTTPResponse {
        guard request.path == "/metrics" else { return HTTPResponse(status: 404, text: "not found: try /metrics\n") }
        guard let registry else { return HTTPResponse(status: 404, text: "metrics are off\n") }
        if let observer {
            agent.refresh(nowNs: observer.loop.now)
            registry.sluice.setLostEvents(observer.history.lostEvents)
        }
        if let rss = agent.residentBytes { registry.sluice.setAgentResidentMemory(rss) }
        registry.sluice.noteLastApply(agent.lastApply)
        if let failures = agent.policyApplyFailures { registry.sluice.setPolicyApplyFailures(failures) }
        if let delay = agent.dnsAnswerToDatapath {
            registry.sluice.setDNSAnswerToDatapath(
                bounds: delay.boundsSeconds, counts: delay.counts, sum: delay.sumSeconds, count: delay.count)
        }
        return HTTPResponse(status: 200, contentType: Exposition.contentType, text: registry.render())
    }

    /// The listener that counts: an object of its own that nothing references weakly (the
    /// service is, by its HTTP callbacks), so the observer's per-record call retains it on the
    /// inline fast path rather than through a side table.
    final class Counter: FlowListener {
        let registry: HubbleMetricsRegistry
        weak var observer: Observer?

        init(registry: HubbleMetricsRegistry, observer: Observer) {
            self.registry = registry
            self.observer = observer
        }

        func observe(_ flow: Flow) { registry.process(flow) }

        /// Metrics count records: most without a decode (`HubbleMetricsRegistry.process(record:decode:)`).
        var observesRecords: Bool { true }

        func observe(record: FlowRecordRef) { registry.process(record: record.pointer) { record.decode() } }

        /// The poll's counts go into the families (the record path saves them up per key).
        func pollEnded() { registry.applyPendingCounts() }

        func observeLost(_ event: LostEvent) { registry.sluice.setLostEvents(observer?.history.lostEvents ?? 0) }
    }
}
