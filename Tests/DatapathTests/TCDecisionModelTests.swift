import CLibbpf
import CSluice
import CSluiceShared
import Glibc
import Policy
import PolicyYAML
import SluiceTestSupport
import XCTest

@testable import Datapath

/// Holds the policy truth tables' model of the tc decision (`PolicySnapshot.decision`, in
/// SluiceTestSupport) equal to the real programs: every example policy set of the truth tables
/// is compiled and installed with `syncL3L4`, then for every endpoint, peer address, port and
/// protocol a SYN (or datagram) runs through `sluice_tc_endpoint` (a pod sends) or
/// `sluice_tc_to_endpoint` (the node or world sends) with BPF_PROG_RUN. The program's verdict and
/// the drop reason of the flow it writes must be the model's: pass for `allow`/`proxy`,
/// 133 for `denied-133`, 181 for `deny-181`.
final class TCDecisionModelTests: XCTestCase {
    static let shot: UInt32 = 2  // TC_ACT_SHOT
    static let ok: UInt32 = 0  // TC_ACT_OK
    /// The node's address (host identity), in network order: 10.244.0.1.
    static let host = UInt32(bigEndian: 0x0AF4_0001)

    struct PolicySet: CustomStringConvertible {
        var files: [String]
        var endpoints: [EndpointDescriptor]
        var kubeAPIServer: [UInt32] = []
        /// Policies written here, after the files.
        var inline: [String] = []
        var description: String { (files + inline.map { _ in "inline" }).joined(separator: " + ") }
        func texts() throws -> [String] { try files.map { try PolicyFixtures.example($0) } + inline }
    }

    /// Explicit denies (the examples have none): deny beats allow in both directions, also a
    /// deny of a whole CIDR over an allow of one of its ports (a more specific key).
    static let denies = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: deny, namespace: backend}
        spec:
          endpointSelector: {}
          ingress:
          - fromEntities: [all]
          ingressDeny:
          - fromEndpoints:
            - matchLabels: {k8s:io.kubernetes.pod.namespace: frontend}
            toPorts:
            - ports: [{port: "80", protocol: TCP}]
          egress:
          - toEntities: [all]
          - toCIDR: [203.0.113.0/24]
            toPorts:
            - ports: [{port: "80", protocol: TCP}]
          egressDeny:
          - toCIDR: [203.0.113.0/24]
          - toEndpoints:
            - matchLabels: {k8s:io.kubernetes.pod.namespace: database}
            toPorts:
            - ports: [{port: "6379"}]
        """

    static let sets: [PolicySet] = {
        let tutorial = PolicyFixtures.tutorialEndpoints, blog = PolicyFixtures.blogEndpoints
        let docs = PolicyFixtures.docsEndpoints, api = PolicyFixtures.kubeAPIServer
        var sets: [PolicySet] = [
            PolicySet(files: ["tutorial/default-deny-ingress.yaml"], endpoints: tutorial),
            PolicySet(
                files: ["tutorial/default-deny-ingress.yaml", "tutorial/allow-from-frontend.yaml"], endpoints: tutorial),
            PolicySet(
                files: [
                    "tutorial/default-deny-ingress.yaml", "tutorial/allow-from-frontend.yaml",
                    "tutorial/backend-http-rules.yaml",
                ], endpoints: tutorial),
            PolicySet(files: ["tutorial/backend-http-rules.yaml"], endpoints: tutorial),
            PolicySet(files: [], endpoints: tutorial, inline: [denies]),
            PolicySet(files: ["tutorial/backend-http-rules.yaml"], endpoints: tutorial, inline: [denies]),
        ]
        // The blog's sequence, each step on top of the ones before (BlogPolicyTests).
        let blogSteps = [
            "cnp-default-deny.yaml", "cnp-deny-all.yaml", "ccnp-allow-dns.yaml", "cnp-ns-dns.yaml",
            "cnp-front-to-back.yaml", "cnp-back-to-db.yaml", "cnp-front-to-back-l7.yaml",
        ]
        for n in 1...blogSteps.count {
            sets.append(PolicySet(files: blogSteps.prefix(n).map { "blog/" + $0 }, endpoints: blog, kubeAPIServer: api))
        }
        for file in [
            "l3l4/knp-ipblock-except.yaml", "l3l4/knp-namespace-or-pod.yaml", "l3l4/knp-policy-types.yaml",
            "l3l4/to-cidr-except.yaml", "l3l4/to-entities.yaml", "l3l4/to-named-port.yaml",
            "l3l4/to-port-range.yaml", "homelab/default-deny-ingress.yaml", "homelab/allow-get-only.yaml",
            "homelab/allow-monitoring-scrape.yaml", "homelab/allow-dns-egress.yaml",
            "reference/network-policies.yaml", "reference/allow-get-api-only.yaml",
        ] {
            sets.append(PolicySet(files: [file], endpoints: docs, kubeAPIServer: api))
        }
        sets.append(
            PolicySet(
                files: [
                    "homelab/default-deny-ingress.yaml", "homelab/allow-get-only.yaml",
                    "homelab/allow-monitoring-scrape.yaml", "homelab/allow-dns-egress.yaml",
                    "reference/network-policies.yaml",
                ], endpoints: docs, kubeAPIServer: api))
        return sets
    }()

    /// Host-order a.b.c.d of a network-order address, for messages.
    static func text(_ ip: UInt32) -> String {
        let h = UInt32(bigEndian: ip)
        return "\(h >> 24).\(h >> 16 & 0xFF).\(h >> 8 & 0xFF).\(h & 0xFF)"
    }

    /// The addresses to try as the other side: every endpoint, the node, and one address inside
    /// every other ipcache prefix (checked to map to that prefix's identity), plus a world one.
    static func peers(_ snapshot: PolicySnapshot, endpoints: [EndpointDescriptor]) -> [UInt32] {
        var peers = endpoints.map(\.ipv4) + [host, UInt32(bigEndian: 0xCB00_71FA)]  // 203.0.113.250
        for entry in snapshot.ipcacheEntries(hostIPv4: [host]) where !peers.contains(entry.ipv4) {
            let network = UInt32(bigEndian: entry.ipv4)
            let candidate = entry.prefixLength >= 31 ? network : network + 1
            if snapshot.ipcacheIdentity(hostOrder: candidate, hostIPv4: [host]) == entry.identity {
                peers.append(candidate.bigEndian)
            }
        }
        return peers
    }

    /// Ports to try: every port the policy map names, and some no rule names.
    static func ports(_ snapshot: PolicySnapshot) -> [UInt16] {
        Array(Set(snapshot.policyMap.keys.map(\.port).filter { $0 != 0 && $0 < 30000 } + [22, 53, 80, 6379, 9999]))
            .sorted()
    }

    /// The model's answer for one packet: the sender's egress decision (when the sender is a
    /// local pod), then the receiver's ingress decision (when the receiver is one).
    static func model(
        _ snapshot: PolicySnapshot, from src: EndpointDescriptor?, srcIP: UInt32,
        to dst: EndpointDescriptor?, dstIP: UInt32, port: UInt16, proto: UInt8
    ) -> String {
        let srcIdentity =
            src.map { snapshot.identity(ofIPv4: $0.ipv4) }
            ?? snapshot.ipcacheIdentity(hostOrder: UInt32(bigEndian: srcIP), hostIPv4: [host])
        let dstIdentity =
            dst.map { snapshot.identity(ofIPv4: $0.ipv4) }
            ?? snapshot.ipcacheIdentity(hostOrder: UInt32(bigEndian: dstIP), hostIPv4: [host])
        if let src {
            let egress = snapshot.decision(endpoint: src.id, .egress, peer: dstIdentity, port: port, proto: proto)
            if egress.hasPrefix("den") { return egress }
        }
        if let dst {
            return snapshot.decision(endpoint: dst.id, .ingress, peer: srcIdentity, port: port, proto: proto)
        }
        return "allow"
    }

    /// Runs `program` on `packet` as a packet that arrived on interface 1 (so the to-endpoint
    /// program takes the sender's identity from the ipcache, not "host").
    static func run(_ program: Int32, _ packet: [UInt8]) throws -> UInt32 {
        var ctxIn = __sk_buff()
        ctxIn.ingress_ifindex = 1
        var ctxOut = __sk_buff()
        var verdict: UInt32 = 0
        let size = UInt32(MemoryLayout<__sk_buff>.size)
        let status = packet.withUnsafeBytes {
            CSluice_bpf_prog_test_run(program, $0.baseAddress, UInt32($0.count), &ctxIn, size, &ctxOut, &verdict)
        }
        try DatapathError.check(status, "bpf_prog_test_run")
        return verdict
    }

    func testModelAgreesWithTheProgram() {
        for set in Self.sets {
            do {
                try modelAgreesWithTheProgram(set)
            } catch {
                XCTFail("\(set): \(error)")
            }
        }
    }

    func modelAgreesWithTheProgram(_ set: PolicySet) throws {
        let snapshot = try PolicyFixtures.compile(
            try set.texts(), endpoints: set.endpoints,
            kubeAPIServer: set.kubeAPIServer)
        let t = try TestDatapath()
        defer { t.close() }
        // Every packet "arrives on interface 1" (`run`): each endpoint's veth is that interface,
        // so the anti-spoofing check (source address must be the veth's endpoint) passes and the
        // rows show the policy decision alone.
        for endpoint in set.endpoints {
            try t.datapath.setEndpoint(
                ipv4: endpoint.ipv4,
                info: sluice_endpoint_info(
                    id: endpoint.id, identity: snapshot.identity(ofIPv4: endpoint.ipv4), ifindex: 1, flags: 0))
        }
        try t.datapath.syncL3L4(snapshot, hostIPv4: [Self.host])
        let toEndpoint = try t.datapath.tcObject.programFD(named: Datapath.toEndpointProgramName)
        let ring = try FlowRing.openForReading(pinDirectory: t.pinDirectory)
        defer { ring.close() }
        let byIP = Dictionary(uniqueKeysWithValues: set.endpoints.map { ($0.ipv4, $0) })

        var sport: UInt16 = 30000
        var rows = 0, mismatches: [String] = [], seen: Set<String> = []
        let peers = Self.peers(snapshot, endpoints: set.endpoints)
        for source in peers {
            for destination in peers where destination != source {
                let src = byIP[source], dst = byIP[destination]
                // A packet between two addresses no local pod has never reaches these programs.
                guard src != nil || dst != nil else { continue }
                for port in Self.ports(snapshot) {
                    for proto in [Fixture.tcp, Fixture.udp] {
                        sport = sport == UInt16.max ? 30000 : sport + 1
                        let expected = Self.model(
                            snapshot, from: src, srcIP: source, to: dst, dstIP: destination,
                            port: port, proto: proto)
                        let packet = Fixture.packet(
                            src: source, dst: destination, sport: sport, dport: port, proto: proto)
                        let before = ring.nextSeq
                        let verdict = try Self.run(src != nil ? t.datapath.tcProgramFD : toEndpoint, packet)
                        // The drop record's reason (an allowed packet writes trace records, no drop).
                        let reason = (before..<ring.nextSeq).compactMap { ring.read(seq: $0) }
                            .last { $0.event_type == UInt8(SLUICE_EVENT_DROP.rawValue) }?.drop_reason
                        let got: String
                        switch (verdict, reason) {
                        case (Self.ok, nil): got = "pass"
                        case (Self.shot, .some(133)): got = "denied-133"
                        case (Self.shot, .some(181)): got = "deny-181"
                        default: got = "verdict \(verdict) reason \(reason.map(String.init) ?? "none")"
                        }
                        let want = expected.hasPrefix("den") ? expected : "pass"
                        rows += 1
                        seen.insert(expected)
                        if got != want {
                            mismatches.append(
                                "\(Self.text(source)) -> \(Self.text(destination)):\(port)/\(proto): "
                                    + "model \(expected), program \(got)")
                        }
                    }
                }
            }
        }
        XCTAssert(
            mismatches.isEmpty, "\(set): \(mismatches.count) of \(rows) rows differ, e.g. \(mismatches.prefix(10))")
        XCTAssert(rows > 100, "\(set): \(rows) rows")
        print("TCDecisionModelTests \(set): \(rows) packets, model outcomes \(seen.sorted())")
    }

    /// Over all sets, every outcome of the model was compared at least once.
    func testEveryOutcomeIsCompared() throws {
        var outcomes: Set<String> = []
        for set in Self.sets {
            let snapshot = try PolicyFixtures.compile(
                try set.texts(), endpoints: set.endpoints,
                kubeAPIServer: set.kubeAPIServer)
            let byIP = Dictionary(uniqueKeysWithValues: set.endpoints.map { ($0.ipv4, $0) })
            for source in Self.peers(snapshot, endpoints: set.endpoints) {
                for destination in Self.peers(snapshot, endpoints: set.endpoints) where destination != source {
                    guard byIP[source] != nil || byIP[destination] != nil else { continue }
                    for port in Self.ports(snapshot) {
                        outcomes.insert(
                            Self.model(
                                snapshot, from: byIP[source], srcIP: source, to: byIP[destination],
                                dstIP: destination, port: port, proto: Fixture.tcp))
                    }
                }
            }
        }
        XCTAssertEqual(outcomes, ["allow", "proxy", "denied-133", "deny-181"], "\(outcomes.sorted())")
    }
}
