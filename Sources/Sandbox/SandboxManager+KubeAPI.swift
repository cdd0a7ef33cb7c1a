import Foundation
import SluiceAPI
import SluiceIO

/// The fake Kubernetes API server of a multi-node sandbox (issue 18): `integration/kube/fakeapi`
/// (Python, the repository's venv) on 127.0.0.1 of this machine, where kubectl reaches it with
/// `<state>/kubeconfig`; `integration/kube/sandbox_kube.py forward` makes it reachable from
/// the nodes as `kubernetes.default.svc` (10.96.0.1:443, a world address behind the first node,
/// identity kube-apiserver), the agents' `<state>/kubeconfig-nodes`. Both are recorded with the
/// servers, so `down` stops them.
extension SandboxManager {
    /// The files of the fake API server: its CA, token and `server.json`.
    public var kubeAPIDirectory: String { stateDirectory + "/kubeapi" }
    /// The kubeconfig for clients on this machine (kubectl).
    public var kubeconfigPath: String { stateDirectory + "/kubeconfig" }
    /// The kubeconfig the nodes' agents use.
    public var nodeKubeconfigPath: String { stateDirectory + "/kubeconfig-nodes" }
    /// How long the server may take to write `server.json` (it makes its CA first).
    static let kubeAPIStartTimeout: Double = 30

    /// The server's argv: its files under `kubeAPIDirectory`, the kubeconfig, the sandbox name
    /// and address in its certificate, the CRDs of `deploy/` (CNP, CCNP, SluiceIdentity) loaded,
    /// bookmarks every second.
    func kubeAPIArguments(python: String, fakeAPI: String, repoRoot: String) -> [String] {
        [
            python, fakeAPI + "/fakeapi/server.py", "--dir", kubeAPIDirectory, "--kubeconfig", kubeconfigPath,
            "--san", "IP:\(SandboxPlan.kubeAPIAddress)", "--san", "kubernetes.default.svc",
            "--san", SandboxPlan.kubeAPIName, "--bookmark-interval", "1",
            "--load", repoRoot + "/deploy/cilium-crds/policies.yaml",
            "--load", repoRoot + "/deploy/01-sluice-identity-crd.yaml",
        ]
    }

    /// The kubeconfig text with its `server:` pointed at the sandbox address.
    static func nodeKubeconfig(_ text: String, serverURL: String) -> String {
        text.replacingOccurrences(
            of: serverURL, with: "https://\(SandboxPlan.kubeAPIAddress):\(SandboxPlan.kubeAPIPort)")
    }

    /// What `sandbox_kube.py register` is given: the namespaces with their labels and the pods
    /// with labels, address, node and the node's address.
    static func registrationObjects(_ state: SandboxState) -> [String: Any] {
        let namespaces = state.namespaces.map { ["name": $0.name, "labels": $0.labels] as [String: Any] }
        let pods = state.endpoints.map { endpoint -> [String: Any] in
            let hostIP = state.nodes?.first { $0.name == endpoint.node }?.ip ?? state.nodeIP
            return [
                "namespace": endpoint.namespace, "name": endpoint.pod, "labels": endpoint.podLabels,
                "ip": endpoint.ipv4, "node": endpoint.node ?? "", "hostIP": hostIP,
                "serviceAccount": endpoint.serviceAccount,
            ]
        }
        return ["namespaces": namespaces, "pods": pods]
    }

    /// Starts the fake API server and the forwarder, writes both kubeconfigs, registers the
    /// namespaces and pods, and records it all in `state` (saved).
    /// - Parameters:
    ///   - python: the venv's python (`<repo>/.venv/bin/python`).
    ///   - fakeAPI: the directory holding `fakeapi/server.py` and `sandbox_kube.py`
    ///     (`<repo>/integration/kube`).
    public func startKubeAPI(
        python: String, fakeAPI: String, repoRoot: String, state: inout SandboxState
    ) throws(SandboxError) {
        guard let world = state.worldNetns else {
            throw SandboxError.io(path: stateFile, reason: "a multi-node sandbox needs its world namespace")
        }
        for file in [python, fakeAPI + "/fakeapi/server.py", fakeAPI + "/sandbox_kube.py"]
        where !FileManager.default.fileExists(atPath: file) {
            throw SandboxError.io(path: file, reason: "not found (the fake API server: --fake-api DIR, --python PATH)")
        }
        try createDirectory(kubeAPIDirectory)
        let log = logDirectory + "/kubeapi.log"
        let pid = try CommandRunner.spawn(
            kubeAPIArguments(python: python, fakeAPI: fakeAPI, repoRoot: repoRoot), logPath: log)
        let server = SandboxState.ServerProcess(
            owner: "kube-apiserver", kind: "fakeapi", port: 0, pid: pid, logPath: log, marker: "server.py")
        state.servers.append(server)
        try save(state)
        let info = try waitForServerJSON(server)
        try writeFile(
            nodeKubeconfigPath, Self.nodeKubeconfig(try readFile(kubeconfigPath), serverURL: info.url))
        let forwardLog = logDirectory + "/kubeapi-forward.log"
        let forwarderPID = try CommandRunner.spawn(
            [
                python, fakeAPI + "/sandbox_kube.py", "forward", "--netns", world,
                "--listen", "\(SandboxPlan.kubeAPIAddress):\(SandboxPlan.kubeAPIPort)", "--to",
                "127.0.0.1:\(info.port)",
            ], logPath: forwardLog)
        let forwarder = SandboxState.ServerProcess(
            owner: "kube-apiserver", kind: "forward", port: Int(SandboxPlan.kubeAPIPort), pid: forwarderPID,
            logPath: forwardLog, marker: "sandbox_kube.py")
        state.servers.append(forwarder)
        state.kubeAPI = SandboxState.KubeAPI(
            kubeconfig: kubeconfigPath, nodeKubeconfig: nodeKubeconfigPath, control: info.control, pid: pid,
            forwarderPID: forwarderPID, client: [python, fakeAPI + "/sandbox_kube.py"], directory: kubeAPIDirectory)
        try save(state)
        try ServerLauncher.waitUntilAccepting(
            forwarder, netns: state.nodeNetns, address: SandboxPlan.kubeAPIAddress.description,
            deadlineNs: SystemClock.monotonicNs() + UInt64(ServerLauncher.readyTimeout * 1e9))
        let objectsFile = kubeAPIDirectory + "/sandbox-objects.json"
        do {
            let data = try JSONSerialization.data(
                withJSONObject: Self.registrationObjects(state), options: [.sortedKeys])
            try writeFile(objectsFile, String(decoding: data, as: UTF8.self))
        } catch let error as SandboxError {
            throw error
        } catch {
            throw SandboxError.io(path: objectsFile, reason: "\(error)")
        }
        try CommandRunner.run([
            python, fakeAPI + "/sandbox_kube.py", "register", "--dir", kubeAPIDirectory, "--objects", objectsFile,
        ])
    }

    /// Polls for `server.json` (the server writes it last, once it listens).
    private func waitForServerJSON(
        _ server: SandboxState.ServerProcess
    ) throws(SandboxError) -> (url: String, control: String, port: Int) {
        let path = kubeAPIDirectory + "/server.json"
        let deadlineNs = SystemClock.monotonicNs() + UInt64(Self.kubeAPIStartTimeout * 1e9)
        while true {
            if let data = FileManager.default.contents(atPath: path),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let url = object["url"] as? String, let control = object["control"] as? String,
                let port = object["port"] as? Int
            {
                return (url, control, port)
            }
            if !ProcessControl.isRunning(server.pid) {
                throw SandboxError.serverNotReady(
                    owner: server.owner, kind: server.kind, port: 0, reason: "exited before writing \(path)",
                    logTail: (try? readFile(server.logPath)) ?? "")
            }
            if SystemClock.monotonicNs() >= deadlineNs {
                throw SandboxError.serverNotReady(
                    owner: server.owner, kind: server.kind, port: 0,
                    reason: "did not write \(path) within \(Int(Self.kubeAPIStartTimeout)) s",
                    logTail: (try? readFile(server.logPath)) ?? "")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    func readFile(_ path: String) throws(SandboxError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SandboxError.io(path: path, reason: "cannot read")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
