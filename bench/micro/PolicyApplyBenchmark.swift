import Glibc
import Policy
import PolicyYAML
import SluiceJSON

/// glibc's `malloc_trim` (malloc.h is not in the Glibc module).
@_silgen_name("malloc_trim") func mallocTrim(_ pad: Int) -> Int32

/// The stages of `sluice apply` of the policy-scale file (bench/scale_policy.py's shape:
/// POLICIES CNPs x RULES HTTP rules on one port, each CNP admitting its own peer labels) timed one
/// by one in one process, with the process's peak RSS after each: the CLI's YAML parse and JSON
/// encode of the node trees, then what the agent does with them (decode, parse and validate,
/// FQDN selectors, compile, the datapath's view of the snapshot, the stored file's encoding).
/// Then a second apply of the same file (all objects unchanged) and one with one CNP changed.
/// `policy-apply [POLICIES] [RULES]`, default 1,000 x 10.
enum PolicyApplyBenchmark {
    static let methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]

    static func yaml(policies: Int, rules: Int, variant: Int = 0) -> String {
        func pad(_ n: Int) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, 4 - s.count)) + s
        }
        var out = ""
        for i in 0..<policies {
            if i > 0 { out += "---\n" }
            let peer =
                i == 0 ? "        k8s:io.kubernetes.pod.namespace: bench\n" : "        app: scale-peer-\(pad(i))\n"
            out += """
                apiVersion: cilium.io/v2
                kind: CiliumNetworkPolicy
                metadata:
                  name: bench-scale-\(pad(i))
                  namespace: bench
                spec:
                  endpointSelector:
                    matchLabels:
                      app: upstream
                  ingress:
                  - fromEndpoints:
                    - matchLabels:
                \(peer)    toPorts:
                    - ports:
                      - port: "80"
                        protocol: TCP
                      rules:
                        http:

                """
            for k in 0..<rules {
                let (method, path): (String, String)
                if i == 0 && k == 0 {
                    (method, path) = ("GET", variant == 0 ? "/scale-marker" : "/scale-marker-\(variant)")
                } else {
                    method = methods[(i + k) % methods.count]
                    path = k % 2 == 0 ? "/svc-\(pad(i))/v\(k)/items/[0-9]+" : "/svc-\(pad(i))/v\(k)/.*"
                }
                out += "        - method: \"\(method)\"\n          path: \"\(path)\"\n"
            }
        }
        return out
    }

    /// CPU time of this thread (the machine is shared: wall time includes waiting for a core).
    static func cpuNs() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) * 1e9 + Double(t.tv_nsec)
    }

    static func peakRSSKiB() -> Int { status("VmHWM:") }

    /// Resident memory now (after `malloc_trim`, as the agent does after a large request).
    static func rssKiB() -> Int {
        _ = mallocTrim(0)
        return status("VmRSS:")
    }

    static func status(_ field: String) -> Int {
        guard let file = fopen("/proc/self/status", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, 256, file) != nil {
            let text = String(cString: line)
            if text.hasPrefix(field) {
                return Int(text.split(separator: " ").dropFirst().first ?? "0") ?? 0
            }
        }
        return 0
    }

    static let endpoints = [
        EndpointDescriptor(
            id: 1, namespace: "bench", podName: "client", podLabels: ["app": "client"],
            ipv4: UInt32(bigEndian: 0x0AF4_010B)),
        EndpointDescriptor(
            id: 2, namespace: "bench", podName: "upstream", podLabels: ["app": "upstream"],
            ipv4: UInt32(bigEndian: 0x0AF4_010C)),
    ]

    static func run(arguments: [String]) throws {
        let policies = arguments.first.flatMap { Int($0) } ?? 1000
        let rules = arguments.dropFirst().first.flatMap { Int($0) } ?? 10
        let repository = PolicyRepository()
        var allocator = IdentityAllocator()
        var inForce: PolicySnapshot?
        let baseKiB = rssKiB()
        for (round, variant) in [(1, 0), (2, 0), (3, 1)] {
            var stages: [(String, Double, Double, Int)] = []
            func stage<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
                var result: T?
                let cpu0 = cpuNs()
                let ns = try timed { result = try body() }
                stages.append((name, ns / 1e6, (cpuNs() - cpu0) / 1e6, peakRSSKiB()))
                return result!
            }
            let text = yaml(policies: policies, rules: rules, variant: variant)
            let trees = try stage("cli: yaml -> trees") { try PolicyYAML.documents(text, fileName: "scale.yaml") }
            let wire = try stage("cli: trees -> json") { try JSON.encode(trees) }
            // as the agent reads a request's documents (ControlRequestReader) and stores the file
            // (StoredPolicy.json): straight between bytes and node trees
            let decoded = try stage("agent: json -> trees") {
                try wire.withUnsafeBytes { raw in
                    var index = 0
                    guard let nodes = PolicyNode.nodes(json: raw, at: &index) else {
                        throw PolicyMemoryBenchmark.BenchError.io("the node reader did not take the documents")
                    }
                    return nodes
                }
            }
            let change = try stage("agent: parse + validate") {
                try repository.prepareApply(documents: decoded, fileName: "scale.yaml")
            }
            _ = stage("agent: fqdn selectors") { FQDNSelectorSet.selectors(of: change.upserts) }
            let snapshot = stage("agent: compile") {
                repository.compile(change, endpoints: endpoints, allocator: &allocator)
            }
            check(snapshot.diagnostics.isEmpty, "diagnostics: \(snapshot.diagnostics)")
            let entries = stage("agent: policy map entries") { snapshot.policyMap.count }
            let stored = stage("agent: stored file json") {
                var bytes: [UInt8] = []
                for node in decoded { node.appendJSON(to: &bytes) }
                return bytes
            }
            repository.commit(change)
            inForce = snapshot
            let total = stages.reduce(0) { $0 + $1.1 }
            let totalCPU = stages.reduce(0) { $0 + $1.2 }
            print(
                "policy-apply \(policies)x\(rules) round \(round)\(variant == 0 ? "" : " (one CNP changed)"): "
                    + "\(wire.count) bytes of json, \(entries) policy entries, stored \(stored.count) bytes, "
                    + "total \(Int(total)) ms wall, \(Int(totalCPU)) ms cpu")
            for (name, ms, cpu, rss) in stages {
                let padded = name + String(repeating: " ", count: max(0, 28 - name.count))
                print(
                    "  \(padded) \(Int(ms * 10) / 10) ms wall  \(Int(cpu * 10) / 10) ms cpu  peak rss \(rss / 1024) MB")
            }
        }
        // what stays: the repository's documents and the snapshot in force, nothing transient
        let steady = rssKiB()
        withExtendedLifetime(inForce) {
            print(
                "  resident after the applies (repository + snapshot): \((steady - baseKiB) / 1024) MB over the "
                    + "\(baseKiB / 1024) MB before")
        }
    }
}
