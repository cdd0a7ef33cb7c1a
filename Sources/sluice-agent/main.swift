import Agent
import Glibc

/// `sluice-agent`: the node agent as its own executable. It links the data plane only (no
/// Foundation, Yams or ArgumentParser), so its resident memory is what the proxy needs
/// (docs/performance.md). `sluice agent ...` execs this binary.

func fail(_ message: String, status: Int32) -> Never {
    let line = message + "\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
    exit(status)
}

let outcome: AgentCommandLine.Outcome
do {
    outcome = try AgentCommandLine.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    fail("Error: \(error)\nUsage: sluice-agent [options] (see --help)", status: 64)
}
switch outcome {
case .help(let text):
    print(text)
case .run(var options):
    // With the Kubernetes API, identities are numbered cluster-wide (SluiceIdentity objects).
    options.useClusterIdentitiesWithKubernetes()
    // A closed peer must give EPIPE, never kill the agent; detach from the starting terminal.
    signal(SIGPIPE, SIG_IGN)
    signal(SIGHUP, SIG_IGN)
    _ = setsid()
    do {
        try Agent(options: options).run()
    } catch {
        fail("Error: \(error)", status: 1)
    }
}
