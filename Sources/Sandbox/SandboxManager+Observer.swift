import Foundation
import SluiceAPI
import SluiceIO

/// The observer process (`sluice-observer`: Hubble's Observer gRPC, metrics and service-map page)
/// beside the sandbox's agent: it runs in the node namespace and listens on the node's address on
/// the pod network, so pods and the node reach it. Recorded with the servers (owner `node`, kind
/// `observer`), so `down` stops it like any other sandbox process.
extension SandboxManager {
    /// Hubble's ports: Observer gRPC, metrics, UI.
    public static let observerPorts = (grpc: 4244, metrics: 9965, ui: 12000)
    /// What `/proc/PID/cmdline` of the observer contains.
    static let observerMarker = "sluice-observer"

    /// The observer's argv (`--netns` is added by `startObserver`): every address on `nodeIP`, the metrics
    /// Hubble's sandbox enables.
    public static func observerArguments(executable: String, nodeIP: String, extra: [String] = []) -> [String] {
        [
            executable,
            "--grpc-address", "\(nodeIP):\(observerPorts.grpc)",
            "--metrics-address", "\(nodeIP):\(observerPorts.metrics)",
            "--ui-address", "\(nodeIP):\(observerPorts.ui)",
            "--metrics", "flow,drop,tcp,policy,httpV2,dns",
        ] + extra
    }

    /// Starts `sluice-observer` in the node namespace, records it in `state` (saved at once) and
    /// waits until its gRPC port accepts connections.
    /// In a multi-node sandbox, `netns`, `nodeIP` and `name` name the node (its observer logs
    /// to `observer-NAME.log` and is owned by `node/NAME`); `nil` is the single (or first) node.
    public func startObserver(
        executable: String, state: inout SandboxState, netns: String? = nil, nodeIP: String? = nil,
        name: String? = nil, extra: [String] = []
    ) throws(SandboxError) {
        let netns = netns ?? state.nodeNetns
        let nodeIP = nodeIP ?? state.nodeIP
        let log = logDirectory + (name.map { "/observer-\($0).log" } ?? "/observer.log")
        let argv = Self.observerArguments(executable: executable, nodeIP: nodeIP, extra: extra)
        // `--netns`, not `ip netns exec`: that one also remounts /sys for the namespace, which
        // hides the bpffs at /sys/fs/bpf and with it the pinned flow ring.
        let pid = try CommandRunner.spawn(argv + ["--netns", netns], logPath: log)
        let server = SandboxState.ServerProcess(
            owner: name.map { "node/\($0)" } ?? "node", kind: "observer", port: Self.observerPorts.grpc, pid: pid,
            logPath: log, marker: Self.observerMarker)
        state.servers.append(server)
        try save(state)
        try ServerLauncher.waitUntilAccepting(
            server, netns: netns, address: nodeIP,
            deadlineNs: SystemClock.monotonicNs() + UInt64(ServerLauncher.readyTimeout * 1e9))
    }
}
