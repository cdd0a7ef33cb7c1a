import Datapath
import SluiceAPI

/// What `sluice-observer` is told on its command line (`ObserverCommandLine`).
public struct ObserverOptions: Equatable, Sendable {
    /// Observer gRPC (`observer.Observer`, `peer.Peer`, `grpc.health.v1.Health`); Hubble's 4244.
    public var grpcAddress = ListenAddress(host: .init(hostOrder: 0), port: 4244)
    /// Prometheus metrics (`/metrics`); Hubble's 9965. Nil: not served (`--metrics-address ""`).
    public var metricsAddress: ListenAddress? = ListenAddress(host: .init(hostOrder: 0), port: 9965)
    /// The service-map page; Hubble UI's 12000. Nil: not served.
    public var uiAddress: ListenAddress? = ListenAddress(host: .init(hostOrder: 0), port: 12000)
    /// `node_name` of the flows and answers; default: the one in the agent's `endpoints.json`,
    /// else `AgentPaths.nodeName`.
    public var nodeName: String?
    /// Hubble's `max_flows` (`--hubble-event-buffer-capacity`): flows kept for `GetFlows`.
    public var maxFlows = 4095
    /// The pinned maps (`sluice_flow_head`, `sluice_flows`).
    public var pinDirectory = AgentPaths.pinDirectory
    /// The agent's state directory (`endpoints.json`, `fqdn.json`).
    public var stateDirectory = AgentPaths.stateDirectory
    /// A network namespace to enter before listening (a name under /run/netns or a path).
    public var netns: String?
    /// How often the flow ring is polled for new records (ms).
    public var pollIntervalMs = 20
    /// Hubble's `--metrics` option text, handed to the metrics service as it is.
    public var metrics: String?
    /// The gRPC API's TLS certificate chain and key (PEM; both or neither): TLS instead of
    /// plaintext (`ObserverTLS`).
    public var tlsCertFile: String?
    public var tlsKeyFile: String?
    /// CA certificates (PEM) that must have signed every gRPC client's certificate (mTLS).
    public var tlsClientCAFile: String?

    public init() {}
}
