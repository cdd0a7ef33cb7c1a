import Foundation
import SluiceAPI
import SluiceIO

/// Reading, writing and removing the sandbox's state and files.
extension SandboxManager {
    /// The recorded state, or `nil` when no sandbox is up.
    /// - Throws: `SandboxError` when `state.json` exists but cannot be read or decoded.
    public func state() throws(SandboxError) -> SandboxState? {
        guard FileManager.default.fileExists(atPath: stateFile) else { return nil }
        guard let data = FileManager.default.contents(atPath: stateFile) else {
            throw SandboxError.io(path: stateFile, reason: "cannot read")
        }
        do {
            return try JSONDecoder().decode(SandboxState.self, from: data)
        } catch {
            throw SandboxError.badState(path: stateFile, reason: "\(error)")
        }
    }

    /// Writes `state` to `state.json` atomically (a temporary file renamed over it), so readers
    /// never see half a file; in a multi-node sandbox also each node's `endpointsFile` (its
    /// agent's view: `SandboxState.endpointsView(of:)`).
    public func save(_ state: SandboxState) throws(SandboxError) {
        try createDirectory(stateDirectory)
        try writeJSON(state, to: stateFile)
        for node in state.nodes ?? [] {
            try createDirectory(Files.directory(of: node.endpointsFile))
            try writeJSON(state.endpointsView(of: node), to: node.endpointsFile)
        }
    }

    private func writeJSON(_ state: SandboxState, to path: String) throws(SandboxError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data: Data
        do {
            data = try encoder.encode(state)
        } catch {
            throw SandboxError.io(path: path, reason: "cannot encode state: \(error)")
        }
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: data) else {
            throw SandboxError.io(path: temporary, reason: "cannot write")
        }
        guard rename(temporary, path) == 0 else {
            throw SandboxError.io(path: path, reason: "rename failed: \(String(cString: strerror(errno)))")
        }
    }

    /// Removes everything a sandbox made: stops the recorded processes (servers, DNS, agent),
    /// deletes every `sluice-*` network namespace and `/etc/netns/sluice-*`, removes the state
    /// directory. Idempotent; works without a state file (after a crash).
    /// - Throws: `SandboxError` listing whatever could not be removed (after trying the rest).
    public func down() throws(SandboxError) {
        var problems: [String] = []
        var recorded: SandboxState?
        do throws(SandboxError) {
            recorded = try state()
        } catch {
            problems.append("\(error)")
        }
        if let recorded {
            var processes = recorded.servers.map { (pid: $0.pid, marker: $0.marker) }
            if let agent = recorded.agentPID { processes.append((pid: agent, marker: Self.agentMarker)) }
            for node in recorded.nodes ?? [] {
                if let agent = node.agentPID { processes.append((pid: agent, marker: Self.agentMarker)) }
            }
            ProcessControl.stop(processes)
        }
        for name in directoryEntries(netnsRunDirectory) where SandboxNames.isSandboxNetns(name) {
            do throws(SandboxError) {
                try CommandRunner.run(["ip", "netns", "delete", name])
            } catch {
                problems.append("\(error)")
            }
        }
        for name in directoryEntries(netnsConfigDirectory) where SandboxNames.isSandboxNetns(name) {
            removeItem(netnsConfigDirectory + "/" + name, problems: &problems)
        }
        removeSecrets(problems: &problems)
        if FileManager.default.fileExists(atPath: stateDirectory) {
            removeItem(stateDirectory, problems: &problems)
        }
        if !problems.isEmpty { throw SandboxError.cleanupIncomplete(problems) }
    }

    /// Writes `/etc/netns/<netns>/resolv.conf` (before the namespace is first entered).
    func writeResolvConf(netns: String, namespace: String, nameserver: String) throws(SandboxError) {
        let directory = netnsConfigDirectory + "/" + netns
        try createDirectory(directory)
        try writeFile(directory + "/resolv.conf", DNSConfig.resolvConf(namespace: namespace, nameserver: nameserver))
    }

    func createDirectory(_ path: String) throws(SandboxError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw SandboxError.io(path: path, reason: "cannot create directory: \(error.localizedDescription)")
        }
    }

    func writeFile(_ path: String, _ text: String) throws(SandboxError) {
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
            throw SandboxError.io(path: path, reason: "cannot write")
        }
    }

    private func directoryEntries(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    /// Removes `path` (a file, or a directory with all it holds); a failure becomes a line of
    /// `problems`.
    func removeItem(_ path: String, problems: inout [String]) {
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            problems.append("\(path): cannot remove: \(error.localizedDescription)")
        }
    }
}
