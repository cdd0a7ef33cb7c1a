import ArgumentParser
import Foundation
import Sandbox
import SluiceAPI

/// Act 2 of `sluice demo`: the blog's L3/L4 sequence (proxy-config/examples/blog/ on
/// proxy-config/sandbox/blog.yaml), each policy applied in turn and each client check printed
/// with its result. Denied checks use short client timeouts (a denied SYN is a silent drop).
extension Demo {
    /// One client check: who runs what, and the expected one-word result.
    struct Check {
        var pod: String
        var title: String
        var script: String
        var expected: String
    }

    static let api = "http://api.backend.svc.cluster.local"
    static let postgres = "postgres.db.svc.cluster.local"

    static func curl(_ pod: String, _ path: String, _ expected: String) -> Check {
        Check(
            pod: pod, title: "curl -sI \(api)\(path)",
            script: "curl -sI -o /dev/null -m 2 -w '%{http_code}' \(api)\(path)", expected: expected)
    }

    static func nc(_ pod: String, _ expected: String) -> Check {
        Check(
            pod: pod, title: "nc -z \(postgres) 5432",
            script: "nc -z -w 2 \(postgres) 5432 && echo open || echo closed", expected: expected)
    }

    static func dig(_ pod: String, _ expected: String) -> Check {
        Check(
            pod: pod, title: "dig +short kubernetes.default.svc.cluster.local",
            script:
                "dig +short +time=1 +tries=1 kubernetes.default.svc.cluster.local | grep -v '^;' | head -n 1 | grep . || echo 'no answer'",
            expected: expected)
    }

    /// The blog's steps: the files applied, then the checks.
    static let steps: [(title: String, files: [String], checks: [Check])] = [
        (
            "baseline: no policy, everything flows", [],
            [curl("frontend/test", "/", "200"), nc("frontend/test", "open"), dig("frontend/test", "10.96.0.1")]
        ),
        (
            "deny-all in frontend, backend and db (ingressDeny/egressDeny: [{}] = default deny both ways)",
            ["cnp-deny-all.yaml"],
            [curl("frontend/test", "/", "000"), nc("backend/app", "closed"), dig("frontend/test", "no answer")]
        ),
        (
            "DNS: CoreDNS egress (CCNP) and each namespace's egress to kube-dns",
            ["ccnp-allow-dns.yaml", "cnp-ns-dns.yaml"],
            [dig("frontend/test", "10.96.0.1"), dig("backend/app", "10.96.0.1"), curl("frontend/test", "/", "000")]
        ),
        (
            "app flows: frontend -> backend on 80, backend -> db on 5432",
            ["cnp-front-to-back.yaml", "cnp-back-to-db.yaml"],
            [curl("frontend/test", "/", "200"), nc("backend/app", "open"), nc("frontend/test", "closed")]
        ),
        (
            "L7 visibility: http: [{}] on frontend -> backend (nothing else changes)",
            ["cnp-front-to-back-l7.yaml"],
            [
                curl("frontend/test", "/", "200"), curl("frontend/test", "/h", "404"), nc("backend/app", "open"),
                nc("frontend/test", "closed"),
            ]
        ),
    ]

    /// Act 2; returns the number of checks that did not give the expected result.
    func boundariesAct(keep: Bool) throws -> Int {
        let root = Paths.repoRoot
        let topology = root + "/proxy-config/sandbox/blog.yaml"
        say("== Act 2: service boundaries (blog), L3/L4 policy in the datapath ==")
        let state = try sandboxUp(topology)
        defer {
            if !keep {
                say("-- sandbox down")
                try? SandboxLifecycle.down()
            }
        }
        var failures = 0
        for (index, step) in Self.steps.enumerated() {
            say("-- step \(index + 1): \(step.title)")
            for file in step.files {
                let path = root + "/proxy-config/examples/blog/" + file
                let applied = try apply(path)
                say("   sluice apply -f blog/\(file): " + applied.message.replacingOccurrences(of: "\n", with: ", "))
                guard applied.ok else { throw ExitCode(1) }
            }
            for check in step.checks {
                let argv = try SandboxManager.execArguments(
                    state: state, target: check.pod,
                    command: ["sh", "-c", check.script])
                let result = Demo.capture(argv).trimmingCharacters(in: .whitespacesAndNewlines)
                let ok = result == check.expected
                if !ok { failures += 1 }
                say(
                    "   \(check.pod): \(check.title) -> \(result) (expected \(check.expected)) \(ok ? "ok" : "UNEXPECTED")"
                )
            }
        }
        usleep(200_000)
        say("-- sluice observe --verdict DROPPED --last 3")
        try Observe.parse(["--verdict", "DROPPED", "--last", "3"]).run()
        say("-- sluice observe --protocol http --last 4")
        try Observe.parse(["--protocol", "http", "--last", "4"]).run()
        return failures
    }
}
