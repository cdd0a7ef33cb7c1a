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
    public func startObserver(executable: String, state: inout SandboxState, extra: [String] = []) throws(SandboxError)
    {
        let log = logDirectory + "/observer.log"
        let argv = Self.observerArguments(executable: executable, nodeIP: state.nodeIP, extra: extra)
        // `--netns`, not `ip netns exec`: that one also remounts /sys for the namespace, which
        // hides the bpffs at /sys/fs/bpf and with it the pinned flow ring.
        let pid = try CommandRunner.spawn(argv + ["--netns", state.nodeNetns], logPath: log)
        let server = SandboxState.ServerProcess(
            owner: "node", kind: "observer", port: Self.observerPorts.grpc, pid: pid, logPath: log,
            marker: Self.observerMarker)
        state.servers.append(server)
        try save(state)
        try ServerLauncher.waitUntilAccepting(
            server, netns: state.nodeNetns, address: state.nodeIP,
            deadlineNs: SystemClock.monotonicNs() + UInt64(ServerLauncher.readyTimeout * 1e9))
    }
}
