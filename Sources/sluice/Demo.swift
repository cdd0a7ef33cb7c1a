import ArgumentParser
import Foundation
import Sandbox
import SluiceAPI

/// `sluice demo`: act 1 is the DigitalOcean tutorial's L7 step on a sandbox node, request by
/// request; act 2 walks the L3/L4 sequence of the blog "Service Boundaries: The Cilium Way"
/// (`Demo+Boundaries.swift`) on a second sandbox.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Act 1: the tutorial's L7 policy, requests and flows. Act 2: the blog's L3/L4 service boundaries, step by step. Tears down after each act."
    )

    @Flag(help: "Leave the last act's sandbox up at the end.")
    var keep = false

    func run() throws {
        Demo.installSignalHandlers()
        let failures = try tutorialAct(keep: false) + boundariesAct(keep: keep)
        if failures > 0 {
            say("\(failures) step(s) did not give the expected result")
            throw ExitCode(1)
        }
        say("== demo done ==")
    }

    /// `sandbox up` of an act's topology; a half-built sandbox is taken down before the error
    /// goes up.
    func sandboxUp(_ topology: String) throws -> SandboxState {
        say("-- sandbox up \(topology)")
        do {
            return try SandboxLifecycle.up(topologyPath: topology)
        } catch {
            try? SandboxLifecycle.down()
            throw error
        }
    }

    /// Act 1; returns the number of steps that did not give the expected result.
    private func tutorialAct(keep: Bool) throws -> Int {
        let root = Paths.repoRoot
        let topology = root + "/proxy-config/sandbox/tutorial.yaml"
        let policy = root + "/proxy-config/examples/tutorial/backend-http-rules.yaml"
        say("== Sluice demo: L7 policy for the tutorial's backend (httpbin) ==")
        let state = try sandboxUp(topology)
        var failures = 0
        defer {
            if !keep {
                say("-- sandbox down")
                try? SandboxLifecycle.down()
            }
        }
        for e in state.endpoints { say("   pod \(e.namespace)/\(e.pod) \(e.ipv4)") }

        say("-- sluice apply -f \(policy)")
        let applied = try apply(policy)
        say("   " + applied.message.replacingOccurrences(of: "\n", with: "\n   "))
        guard applied.ok else { throw ExitCode(1) }

        let url = "http://backend.backend.svc.cluster.local"
        let steps: [(String, [String], String)] = [
            (
                "GET \(url)/get", ["curl", "-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", url + "/get"],
                "200"
            ),
            (
                "POST \(url)/post", ["curl", "-s", "-m", "5", "-w", "\n%{http_code}", "-X", "POST", url + "/post"],
                "403"
            ),
            (
                "GET \(url)/anything/x",
                [
                    "curl", "-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}",
                    url + "/anything/x",
                ], "200"
            ),
        ]
        for (title, command, expected) in steps {
            let argv = try SandboxManager.execArguments(state: state, target: "frontend/frontend", command: command)
            let (code, body) = Demo.curlResult(Demo.capture(argv))
            let ok = code == expected
            if !ok { failures += 1 }
            say("-- frontend: \(title)")
            if let body { say("   body: " + body) }
            say("   \(code) (expected \(expected)) \(ok ? "ok" : "UNEXPECTED")")
        }
        usleep(200_000)
        say("-- sluice observe -t l7 --last 6")
        let observe = try Observe.parse(["-t", "l7", "--last", "6"])
        try observe.run()
        return failures
    }

    /// `sluice apply -f path`: the agent's answer.
    func apply(_ path: String) throws -> ControlResponse {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try ControlClient.send(try ControlRequest.apply(file: path, yamlText: text), path: Paths.controlSocket)
    }

    func say(_ s: String) {
        print(s)
        fflush(stdout)
    }

    /// What act 1 prints of a curl run with `-w '\n%{http_code}'` (or `-o /dev/null -w
    /// '%{http_code}'`): the status code, the output's last line, and the body before it quoted on
    /// one line with CR and LF written `\r` and `\n` (`"Access denied\r\n"`), nil when there is
    /// none.
    static func curlResult(_ output: String) -> (code: String, body: String?) {
        let scalars = output.unicodeScalars
        guard let newline = scalars.lastIndex(of: "\n") else { return (output, nil) }
        var body = "\""
        for scalar in scalars[..<newline] {
            switch scalar {
            case "\r": body += "\\r"
            case "\n": body += "\\n"
            default: body.unicodeScalars.append(scalar)
            }
        }
        return (String(scalars[scalars.index(after: newline)...]), body + "\"")
    }

    /// Runs argv and returns its standard output.
    static func capture(_ argv: [String]) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return "" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Ctrl-C or SIGTERM during the demo still removes the sandbox.
    static func installSignalHandlers() {
        let handler: @convention(c) (Int32) -> Void = { sig in
            try? SandboxLifecycle.down()
            _exit(128 + sig)
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }
}
