import Glibc
import Policy
import PolicyYAML
import SluiceJSON

@_silgen_name("malloc_stats") func mallocStats()

/// Where the agent's memory goes when it applies the policy-scale file, structure by structure:
/// the bytes malloc has handed out and not had back (`malloc_stats`' "in use", exact, unlike RSS
/// which keeps freed pages between live blocks), measured after each step of the agent's apply
/// path in a process that never held the CLI's trees (`policy-memory [POLICIES] [RULES]` writes
/// the request's JSON to a file and runs itself on it), then again as each structure is dropped.
enum PolicyMemoryBenchmark {
    /// malloc's bytes in use and the pages it holds from the system (all arenas, mmap included).
    static func malloc() -> (inUse: Int, system: Int) {
        fflush(stderr)
        let saved = dup(2)
        let path = "/tmp/sluice-microbench-mstats-\(getpid())"
        let fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0o600)
        dup2(fd, 2)
        close(fd)
        mallocStats()
        fflush(stderr)
        dup2(saved, 2)
        close(saved)
        var text = ""
        if let file = fopen(path, "r") {
            var line = [CChar](repeating: 0, count: 256)
            while fgets(&line, 256, file) != nil { text += String(cString: line) }
            fclose(file)
        }
        unlink(path)
        let total = text.split(separator: "Total (incl. mmap):").last ?? ""
        func field(_ name: String) -> Int {
            for line in total.split(separator: "\n") where line.contains(name) {
                return Int(line.split(separator: "=").last?.split(separator: " ").first ?? "") ?? -1
            }
            return -1
        }
        return (field("in use bytes"), field("system bytes"))
    }

    static func resetPeak() {
        if let file = fopen("/proc/self/clear_refs", "w") {
            fputs("5", file)
            fclose(file)
        }
    }

    static func mb(_ bytes: Int) -> String {
        let tenths = (bytes * 10 + 524_288) / 1_048_576
        return "\(tenths / 10).\(abs(tenths % 10))"
    }

    static func run(arguments: [String]) throws {
        if arguments.first == "--agent" {
            try agent(file: arguments[1])
            return
        }
        let policies = arguments.first.flatMap { Int($0) } ?? 1000
        let rules = arguments.dropFirst().first.flatMap { Int($0) } ?? 10
        let path = "/tmp/sluice-microbench-policy-\(getpid()).json"
        do {
            let trees = try PolicyYAML.documents(
                PolicyApplyBenchmark.yaml(policies: policies, rules: rules), fileName: "scale.yaml")
            let wire = try JSON.encode(trees)
            guard let file = fopen(path, "w") else { throw BenchError.io(path) }
            _ = wire.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
            fclose(file)
        }
        defer { unlink(path) }
        print("policy-memory \(policies)x\(rules): the agent's apply path in a fresh process")
        fflush(stdout)
        let status = system("'\(CommandLine.arguments[0])' policy-memory --agent '\(path)'")
        check(status == 0, "the agent-side run failed (\(status))")
    }

    enum BenchError: Error { case io(String) }

    /// The agent's apply path on the request's JSON in `file`.
    static func agent(file path: String) throws {
        var rows: [(String, Int, Int, Int, Int)] = []
        var last = malloc().inUse
        let start = last
        let startRSS = PolicyApplyBenchmark.rssKiB()
        func step(_ name: String) {
            let peak = PolicyApplyBenchmark.peakRSSKiB()
            let (inUse, _) = malloc()
            rows.append((name, inUse - last, inUse - start, peak, PolicyApplyBenchmark.status("VmRSS:")))
            last = inUse
            resetPeak()
        }
        resetPeak()
        var wire: [UInt8]? = try readFile(path)
        step("request bytes")
        // as the agent reads an apply (ControlRequestReader): the documents straight into trees
        var decoded: [PolicyNode]? = wire!.withUnsafeBytes { raw in
            var index = 0
            return PolicyNode.nodes(json: raw, at: &index)
        }
        check(decoded != nil, "the node reader did not take the request's documents")
        step("json -> trees")
        wire = nil
        step("request bytes freed")
        let repository = PolicyRepository()
        var change: PolicyRepository.Change? = try repository.prepareApply(documents: decoded!, fileName: "scale.yaml")
        step("parse + validate (documents)")
        var allocator = IdentityAllocator()
        var snapshot: PolicySnapshot? = repository.compile(
            change!, endpoints: PolicyApplyBenchmark.endpoints, allocator: &allocator)
        step("compile (snapshot)")
        // as the agent stores it (StoredPolicy.json): straight from the trees
        var stored: [UInt8]? = []
        for node in decoded! { node.appendJSON(to: &stored!) }
        step("stored file json")
        stored = nil
        decoded = nil
        step("stored json + trees freed")
        repository.commit(change!)
        change = nil
        step("committed, change dropped")
        _ = PolicyApplyBenchmark.rssKiB()  // malloc_trim
        step("malloc_trim")
        // POLICY_MEMORY_EXIT_AT_STEADY=1: end here without freeing anything, so that a heap
        // profiler (`heaptrack`) reports what the steady state holds as "leaked", by call stack.
        if getenv("POLICY_MEMORY_EXIT_AT_STEADY") != nil { exit(0) }
        let steady = last
        let steadyRSS = PolicyApplyBenchmark.status("VmRSS:")
        snapshot = nil
        step("snapshot dropped")
        withExtendedLifetime(snapshot) {}
        print("  step                             in use delta   in use    peak rss   rss")
        for (name, delta, total, peak, rss) in rows {
            let padded = name + String(repeating: " ", count: max(0, 32 - name.count))
            print("  \(padded) \(mb(delta)) MB  \(mb(total)) MB  \(peak / 1024) MB  \(rss / 1024) MB")
        }
        print(
            "  resident structures after the apply: \(mb(steady - start)) MB in use, rss \(mb((steadyRSS - startRSS) * 1024)) MB over \(startRSS / 1024) MB"
        )
        withExtendedLifetime(repository) {}
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        guard let file = fopen(path, "r") else { throw BenchError.io(path) }
        defer { fclose(file) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return out
    }
}
