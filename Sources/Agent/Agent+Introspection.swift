import Datapath
import Flows
import Glibc
import Policy
import Proxy
import SluiceAPI
import SluiceIO
import SluiceJSON
import SluiceModel

/// The agent's read-only answers: `.introspect` (an `AgentIntrospection`) and `.conntrackList`
/// (`[ConntrackEntry]`, a SluiceModel noun), sent as JSON in the response's message.
extension Agent {
    /// Answers `introspect`. Control thread, under the agent's lock (see `handle`).
    func introspect() -> ControlResponse {
        let info = introspection()
        guard let bytes = try? JSON.encode(info) else {
            return .failure("introspect: cannot encode the answer")
        }
        return .success(String(decoding: bytes, as: UTF8.self))
    }

    /// Answers `ct-list`: every `sluice_ct` entry.
    func conntrack() -> ControlResponse {
        guard let datapath else { return .failure("ct-list: the datapath is not loaded") }
        do {
            let bytes = try JSON.encode(try datapath.conntrackEntries())
            return .success(String(decoding: bytes, as: UTF8.self))
        } catch {
            return .failure("ct-list: \(error)")
        }
    }

    func introspection() -> AgentIntrospection {
        var enforced: Set<String> = []
        for e in policy.snapshot.policyEnforcement where e.defaultDeny {
            enforced.insert("\(e.endpointID)/\(e.direction == .ingress ? "in" : "out")")
        }
        let (entries, allIdentities) = policy.directoryEntries()
        let rows = entries.sorted { $0.id < $1.id }.map { e -> AgentIntrospection.Endpoint in
            var e = e
            e.labels.sort()
            return AgentIntrospection.Endpoint(
                e, ingressEnforcement: enforced.contains("\(e.id)/in") ? "Enabled" : "Disabled",
                egressEnforcement: enforced.contains("\(e.id)/out") ? "Enabled" : "Disabled",
                attached: datapath != nil && (ifindexes[e.id] ?? 0) > 0
                    && (options.endpointsFrom == .file || attachedEndpoints.contains(e.id)))
        }
        // The endpoints' identities, and the reserved ones that have labels.
        let endpointIdentities = Set(entries.map(\.identity))
        let identities = allIdentities.filter { endpointIdentities.contains($0.key) || !$0.value.isEmpty }
        let dns = options.dns
        let dnsListening = !(server?.dnsUDPListenerFDs.isEmpty ?? true)
        var result = AgentIntrospection(
            version: SluiceVersion.current,
            uptimeSeconds: Self.processUptimeSeconds(),
            nodeName: options.nodeName,
            datapathAttached: datapath != nil && rows.contains { $0.attached },
            endpoints: rows,
            identities: identities.keys.sorted().map { .init(identity: $0, labels: (identities[$0] ?? []).sorted()) },
            policies: policy.repository.keys.map {
                "\($0.kind.rawValue) \($0.namespace.isEmpty ? "" : $0.namespace + "/")\($0.name)"
            },
            l7Ports: policy.snapshot.l7Ports.map { $0.description },
            proxyWorkers: options.proxy.workers,
            flowsSeen: ring?.nextSeq ?? 0,
            flowRingSize: FlowRing.capacity,
            dnsProxy: dnsListening
                ? "listening on \(IPv4Address(networkOrder: dns.listenAddress)):\(dns.listenPort) (udp\(server?.dnsTCPListenerFDs.isEmpty ?? true ? "" : ", tcp"))"
                    + "; denied queries answered in the datapath: \(datapath?.dnsDenialsAnsweredInDatapath() ?? 0)"
                : "not running",
            lastApply: policy.lastInstall?.description, process: processStatus(), kubernetes: kubernetesStatusValue())
        result.tlsSecretErrors = tlsSecretProblems()
        result.policyApplyFailures = policyApplyFailures
        result.dnsAnswerToDatapath = policy.fqdnService?.learnDelay
        if !flowRecording.isOn { result.flowsPaused = true }
        return result
    }

    /// Descriptors, connections and control clients (`sluice status`).
    func processStatus() -> AgentIntrospection.Process {
        let listeners = server?.stats() ?? ListenerStats()
        let control = controlCounters
        return AgentIntrospection.Process(
            openFiles: Self.openFileCount(), openFileLimit: ProcessLimits.openFiles()?.soft ?? 0,
            openConnections: listeners.openConnections, connectionCap: listeners.connectionCap,
            capPauses: listeners.capPauses, fileLimitPauses: listeners.fileLimitPauses,
            acceptErrorPauses: listeners.acceptErrorPauses, pausedListeners: listeners.pausedListeners,
            controlAnswered: control.answered, controlRefused: control.refused, controlTimedOut: control.timedOut)
    }

    /// Descriptors open in this process (entries of /proc/self/fd, less the directory's own);
    /// -1 when it cannot be listed (no descriptor left to list it with).
    static func openFileCount() -> Int {
        guard let dir = opendir("/proc/self/fd") else { return -1 }
        defer { closedir(dir) }
        var count = 0
        while let entry = readdir(dir) {
            if entry.pointee.d_name.0 != 0x2E { count += 1 }  // not "." or ".."
        }
        return count - 1
    }

    /// Seconds since this process started: `/proc/uptime` minus the start time in `/proc/self/stat`
    /// (field 22, clock ticks after boot). 0 when either cannot be read.
    static func processUptimeSeconds() -> UInt64 {
        guard let stat = Files.readIfPresent("/proc/self/stat"), let uptime = Files.readIfPresent("/proc/uptime") else {
            return 0
        }
        let statText = String(decoding: stat, as: UTF8.self)
        // The command name (field 2) may hold spaces; the fields after its closing ')' start at field 3.
        guard let close = statText.lastIndex(of: ")") else { return 0 }
        let fields = statText[statText.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let ticks = UInt64(fields[19]) else { return 0 }
        let hz = UInt64(max(1, sysconf(Int32(_SC_CLK_TCK))))
        let upText = String(decoding: uptime, as: UTF8.self).split(separator: " ").first ?? ""
        guard let up = Double(upText) else { return 0 }
        let started = ticks / hz
        return UInt64(up) > started ? UInt64(up) - started : 0
    }
}
