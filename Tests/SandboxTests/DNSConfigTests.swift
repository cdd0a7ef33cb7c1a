import SluiceAPI
import XCTest

@testable import Sandbox

final class DNSConfigTests: XCTestCase {
    func testHostsFile() throws {
        let plan = try SandboxPlan(
            topology: Topology(
                namespaces: [NamespaceSpec(name: "backend")], pods: [PodSpec(name: "backend", namespace: "backend")]))
        XCTAssertEqual(
            DNSConfig.hostsFile(endpoints: plan.endpoints.map(\.endpoint)),
            """
            # written by sluice sandbox: POD.NAMESPACE.svc.cluster.local for every pod
            10.244.1.10 kube-dns.kube-system.svc.cluster.local kube-dns.kube-system.svc kube-dns.kube-system
            10.244.1.11 backend.backend.svc.cluster.local backend.backend.svc backend.backend

            """)
    }

    func testResolvConf() {
        XCTAssertEqual(
            DNSConfig.resolvConf(namespace: "frontend", nameserver: "10.244.1.10"),
            """
            nameserver 10.244.1.10
            search frontend.svc.cluster.local svc.cluster.local cluster.local
            options ndots:5

            """)
    }

    func testDnsmasqArguments() {
        let world = [SandboxState.WorldHost(name: "api.example.com", addresses: ["192.0.2.1", "192.0.2.2"], ttl: 60)]
        let arguments = DNSConfig.dnsmasqArguments(
            hostsFile: "/run/x/hosts", listenAddress: "10.244.1.10", world: world)
        for expected in [
            "--keep-in-foreground", "--no-resolv", "--no-hosts", "--addn-hosts=/run/x/hosts",
            "--listen-address=10.244.1.10", "--bind-interfaces", "--local=/cluster.local/",
            "--local-ttl=30", "--host-record=api.example.com,192.0.2.1,60",
            "--host-record=api.example.com,192.0.2.2,60",
        ] {
            XCTAssertTrue(arguments.contains(expected), expected)
        }
        XCTAssertFalse(arguments.contains { $0.hasPrefix("--server") }, "no upstream: nothing leaves the sandbox")
    }
}
