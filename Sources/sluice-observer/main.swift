import Glibc
import HubbleObserver
import ObserverHTTP
import SluiceIO

/// `sluice-observer`: Hubble's interfaces for this node (Observer gRPC on 4244, metrics on
/// 9965, the service-map page on 12000) in a process of its own, beside the agent: it maps the
/// pinned flow ring read-only (as `sluice observe` does), so the agent's memory and data plane
/// do not change (docs/architecture.md, "The observer process").
///
/// Services: each `ObserverService` is started on the observer's loop with `observer.host(...)`
/// before it runs (the observer keeps it alive); a new one (metrics, the page) is one more line.

let options: ObserverOptions
do {
    switch try ObserverCommandLine.parse(Array(CommandLine.arguments.dropFirst())) {
    case .help(let text):
        print(text, terminator: "")
        exit(0)
    case .run(let parsed):
        options = parsed
    }
} catch {
    fputs("Error: \(error)\nUsage: sluice-observer [options] (see --help)\n", stderr)
    exit(64)
}

signal(SIGPIPE, SIG_IGN)
signal(SIGHUP, SIG_IGN)
do {
    if let netns = options.netns {
        try Socket.enterNetworkNamespace(path: netns.contains("/") ? netns : "/run/netns/" + netns)
    }
    let observer = try Observer(options: options)
    try observer.host(GRPCService())
    try observer.host(MetricsService())
    try observer.host(ServiceMapService())
    print("sluice-observer: node \(observer.nodeName), max-flows \(options.maxFlows)")
    observer.run()
} catch {
    fputs("Error: \(error)\n", stderr)
    exit(1)
}
