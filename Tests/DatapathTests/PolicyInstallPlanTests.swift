import CSluiceShared
import Policy
import PolicyYAML
import XCTest

@testable import Datapath

/// The order of a policy install (`PolicyInstallPlan`) replayed write by write against a model
/// of the tc verdict (bpf/lib/policy.h, steering in bpf/tc_endpoint.c) and the proxy's decision:
/// in every intermediate state, with the transition snapshot the workers hold meanwhile, a
/// packet that both the old and the new policy drop is dropped, one both pass is passed, and
/// one both send through the proxy goes through the proxy. Each transition runs both ways.
final class PolicyInstallPlanTests: XCTestCase {
    // Pods: a (frontend), b (backend), c (other); world addresses in and out of policy CIDRs.
    static let a = Fixture.ip4(10, 244, 1, 10)
    static let b = Fixture.ip4(10, 244, 2, 10)
    static let c = Fixture.ip4(10, 244, 3, 10)
    static let outside = [
        Fixture.ip4(10, 1, 2, 3), Fixture.ip4(10, 2, 3, 4), Fixture.ip4(192, 0, 2, 1),
        Fixture.ip4(192, 0, 2, 200), Fixture.ip4(198, 51, 100, 7),
    ]
    static let endpoints = [
        EndpointDescriptor(id: 1, namespace: "default", podName: "a", podLabels: ["app": "a"], ipv4: a),
        EndpointDescriptor(id: 2, namespace: "default", podName: "b", podLabels: ["app": "b"], ipv4: b),
        EndpointDescriptor(id: 3, namespace: "default", podName: "c", podLabels: ["app": "c"], ipv4: c),
    ]

    static func cnp(_ name: String, _ selector: String, _ body: String) -> String {
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: \(name), namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: \(selector)}}
        \(body)
        """
    }

    static let l7FromA = cnp(
        "b", "b",
        """
          ingress:
          - fromEndpoints: [{matchLabels: {app: a}}]
            toPorts:
            - ports: [{port: "80", protocol: TCP}]
              rules: {http: [{method: GET, path: "/allowed"}]}
        """)
    static let l4FromA = cnp(
        "b", "b",
        """
          ingress:
          - fromEndpoints: [{matchLabels: {app: a}}]
            toPorts:
            - ports: [{port: "80", protocol: TCP}]
        """)
    static let only443FromA = cnp(
        "b", "b",
        """
          ingress:
          - fromEndpoints: [{matchLabels: {app: a}}]
            toPorts:
            - ports: [{port: "443", protocol: TCP}]
        """)
    static let l7FromC = cnp(
        "b", "b",
        """
          ingress:
          - fromEndpoints: [{matchLabels: {app: c}}]
            toPorts:
            - ports: [{port: "80", protocol: TCP}]
              rules: {http: [{method: POST}]}
        """)
    static let allowAllFromA = cnp(
        "b", "b",
        """
          ingress:
          - fromEndpoints: [{matchLabels: {app: a}}]
        """)
    static let allowAllButDeny80FromA = cnp(
        "b", "b",
        """
          ingress:
          - fromEndpoints: [{matchLabels: {app: a}}]
          ingressDeny:
          - fromEndpoints: [{matchLabels: {app: a}}]
            toPorts:
            - ports: [{port: "80", protocol: TCP}]
        """)
    static let nothing = cnp(
        "b", "nobody",
        """
          ingress:
          - fromEndpoints: [{matchLabels: {app: a}}]
        """)
    // Egress of a toward CIDRs: prefixes appear and go, with denies and allows around them.
    static let worldExceptDeny10 = cnp(
        "a", "a",
        """
          egress:
          - toPorts:
            - ports: [{port: "80", protocol: TCP}]
          egressDeny:
          - toCIDR: [10.0.0.0/8]
            toPorts:
            - ports: [{port: "80", protocol: TCP}]
        """)
    static let everythingExcept10_1 = cnp(
        "a", "a",
        """
          egress:
          - toCIDRSet: [{cidr: 0.0.0.0/0, except: [10.1.0.0/16]}]
            toPorts:
            - ports: [{port: "80", protocol: TCP}]
        """)
    static let cidr10Except10_1 = cnp(
        "a", "a",
        """
          egress:
          - toCIDRSet: [{cidr: 10.0.0.0/8, except: [10.1.0.0/16]}]
            toPorts:
            - ports: [{port: "80", protocol: TCP}]
        """)
    static let l7ToCIDR192 = cnp(
        "a", "a",
        """
          egress:
          - toCIDR: [192.0.2.0/24]
            toPorts:
            - ports: [{port: "80", protocol: TCP}]
              rules: {http: [{method: GET}]}
        """)
    static let cidr192Half = cnp(
        "a", "a",
        """
          egress:
          - toCIDR: [192.0.2.0/25]
            toPorts:
            - ports: [{port: "80", protocol: TCP}]
          egressDeny:
          - toCIDR: [192.0.2.128/25]
        """)

    static let transitions: [(String, String, String)] = [
        ("L7 -> L4 only", l7FromA, l4FromA),
        ("L7 -> another port (old L7 port denied)", l7FromA, only443FromA),
        ("L7 for a -> L7 for c", l7FromA, l7FromC),
        ("allow -> explicit deny", allowAllFromA, allowAllButDeny80FromA),
        ("default deny on (no policy before)", nothing, l4FromA),
        ("default deny on with L7", nothing, l7FromA),
        ("deny 10/8 under a world allow -> world except 10.1/16", worldExceptDeny10, everythingExcept10_1),
        ("10/8 except 10.1/16 -> all except a deny of 10/8", cidr10Except10_1, worldExceptDeny10),
        ("L7 toward a /24 -> half allowed, half denied", l7ToCIDR192, cidr192Half),
    ]

    /// Every transition, forwards (even index) and reversed (odd index).
    func testEveryIntermediateStateKeepsWhatBothPoliciesAgreeOn() {
        for index in 0..<Self.transitions.count * 2 {
            do {
                try everyIntermediateStateKeepsWhatBothPoliciesAgreeOn(index)
            } catch {
                XCTFail("transition \(index): \(error)")
            }
        }
    }

    func everyIntermediateStateKeepsWhatBothPoliciesAgreeOn(_ index: Int) throws {
        let (name, first, second) = Self.transitions[index / 2]
        let (oldYAML, newYAML) = index % 2 == 0 ? (first, second) : (second, first)
        var allocator = IdentityAllocator()
        let old = try Self.compile(oldYAML, &allocator)
        let new = try Self.compile(newYAML, &allocator)
        let oldMaps = PolicyMaps(old, hostIPv4: [])
        let newMaps = PolicyMaps(new, hostIPv4: [])
        let plan = PolicyInstallPlan(from: oldMaps, to: newMaps)
        let transition = new.transition(from: old)
        var state = oldMaps
        var states = [state]
        for write in plan.writes {
            Self.apply(write, to: &state)
            states.append(state)
        }
        XCTAssertEqual(state, newMaps, "\(name): the plan ends at the target")
        var checked = 0
        for flow in Self.flows {
            let before = Model(maps: oldMaps, proxy: old).outcome(flow)
            let after = Model(maps: newMaps, proxy: new).outcome(flow)
            for (step, mid) in states.enumerated() {
                let now = Model(maps: mid, proxy: transition).outcome(flow)
                let place = "\(name) \(index % 2 == 0 ? "" : "(reversed) ")step \(step)/\(plan.writes.count): \(flow)"
                if !before.passes && !after.passes {
                    XCTAssert(!now.passes, "\(place): \(before) / \(after) -> \(now)")
                }
                if before.passes && after.passes { XCTAssert(now.passes, "\(place): \(before) / \(after) -> \(now)") }
                if before == .proxied(true) && after == .proxied(true) {
                    XCTAssertEqual(now, .proxied(true), "\(place)")
                }
                checked += 1
            }
        }
        XCTAssert(checked > 0)
    }

    func testAnUnchangedPolicyWritesNothing() throws {
        var allocator = IdentityAllocator()
        let maps = PolicyMaps(try Self.compile(Self.l7ToCIDR192, &allocator), hostIPv4: [])
        XCTAssert(PolicyInstallPlan(from: maps, to: maps).writes.isEmpty)
    }

    /// Steering toward a port losing its L7 rules goes last, after the L3/L4 entries that
    /// replace the redirect; steering toward a new L7 port comes before its redirect entries.
    func testSteeringIsAddedBeforeAndRemovedAfterTheL3L4Change() throws {
        var allocator = IdentityAllocator()
        let l7 = PolicyMaps(try Self.compile(Self.l7FromA, &allocator), hostIPv4: [])
        let denied = PolicyMaps(try Self.compile(Self.only443FromA, &allocator), hostIPv4: [])
        let removing = PolicyInstallPlan(from: l7, to: denied).writes
        let lastPolicy = try XCTUnwrap(removing.lastIndex { if case .policy = $0 { true } else { false } })
        let steering = try XCTUnwrap(removing.firstIndex { if case .l7(_, nil) = $0 { true } else { false } })
        XCTAssert(steering > lastPolicy)
        let adding = PolicyInstallPlan(from: denied, to: l7).writes
        let firstRedirect = try XCTUnwrap(
            adding.firstIndex {
                if case .policy(_, let value?) = $0 {
                    value.action == UInt8(SLUICE_POLICY_REDIRECT.rawValue)
                } else {
                    false
                }
            })
        let steer = try XCTUnwrap(adding.firstIndex { if case .l7(_, _?) = $0 { true } else { false } })
        XCTAssert(steer < firstRedirect)
    }

    // MARK: model

    static func compile(_ yaml: String, _ allocator: inout IdentityAllocator) throws -> PolicySnapshot {
        let repository = PolicyRepository()
        try repository.apply(yamlText: yaml, fileName: "test.yaml")
        let snapshot = repository.compile(endpoints: endpoints, allocator: &allocator)
        XCTAssert(snapshot.diagnostics.isEmpty)
        return snapshot
    }

    static func apply(_ write: PolicyInstallPlan.Write, to maps: inout PolicyMaps) {
        switch write {
        case .l7(let key, let value): maps.l7Ports[key] = value
        case .policy(let key, let value): maps.policy[key] = value
        case .mode(let key, let value): maps.modes[key] = value
        case .ipcache(let key, let value): maps.ipcache[key] = value
        }
    }

    struct Flow: CustomStringConvertible {
        var src: UInt32
        var dst: UInt32
        var port: UInt16
        var method: String
        var path: String
        var description: String { "\(text(src)) -> \(text(dst)):\(port) \(method) \(path)" }
        private func text(_ ip: UInt32) -> String { "\(ip & 0xff).\(ip >> 8 & 0xff).\(ip >> 16 & 0xff).\(ip >> 24)" }
    }

    static let flows: [Flow] = {
        var result: [Flow] = []
        let pods = [a, b, c]
        let pairs =
            pods.flatMap { s in pods.filter { $0 != s }.map { (s, $0) } }
            + outside.map { (a, $0) } + outside.map { ($0, b) }
        for (src, dst) in pairs {
            for port: UInt16 in [80, 443, 8080] {
                for (method, path) in [("GET", "/allowed"), ("GET", "/other"), ("POST", "/allowed")] {
                    result.append(Flow(src: src, dst: dst, port: port, method: method, path: path))
                }
            }
        }
        return result
    }()

    enum Outcome: Equatable {
        case dropped
        case passed
        /// Through the proxy: whether it allowed the request.
        case proxied(Bool)

        var passes: Bool { self == .passed || self == .proxied(true) }
    }

    /// tc (`sluice_tc_endpoint` for packets from a pod, `sluice_tc_to_endpoint` for packets
    /// from elsewhere), then the proxy for steered ones.
    struct Model {
        var maps: PolicyMaps
        var proxy: PolicySnapshot

        func outcome(_ flow: Flow) -> Outcome {
            let src = endpoints.first { $0.ipv4 == flow.src }
            let dst = endpoints.first { $0.ipv4 == flow.dst }
            let srcIdentity = src.map { proxy.identity(ofIPv4: $0.ipv4) } ?? ipcacheIdentity(flow.src)
            let dstIdentity = dst.map { proxy.identity(ofIPv4: $0.ipv4) } ?? ipcacheIdentity(flow.dst)
            if let src, drops(src.id, dstIdentity, flow.port, SLUICE_DIR_EGRESS) { return .dropped }
            if let dst, drops(dst.id, srcIdentity, flow.port, SLUICE_DIR_INGRESS) { return .dropped }
            guard src != nil else { return .passed }  // to_endpoint does not steer
            var steered: (endpoint: UInt32, direction: Direction, peer: UInt32)?
            if let src, maps.l7Ports[l7Key(src.id, flow.port, SLUICE_DIR_EGRESS)] != nil {
                steered = (src.id, .egress, dstIdentity)
            } else if let dst, maps.l7Ports[l7Key(dst.id, flow.port, SLUICE_DIR_INGRESS)] != nil {
                steered = (dst.id, .ingress, srcIdentity)
            }
            guard let steered else { return .passed }
            guard
                let policy = proxy.httpPolicy(
                    endpointID: steered.endpoint, direction: steered.direction,
                    port: flow.port)
            else { return .proxied(true) }
            let request = ModelRequest(flow.method, flow.path)
            return .proxied(policy.decide(peerIdentity: steered.peer, request: request).allowed)
        }

        private func l7Key(_ endpoint: UInt32, _ port: UInt16, _ direction: sluice_direction) -> sluice_l7_key {
            sluice_l7_key(endpoint_id: endpoint, port: port, proto: Fixture.tcp, direction: UInt8(direction.rawValue))
        }

        /// bpf/lib/policy.h `sluice_policy_verdict`, for TCP.
        private func drops(_ endpoint: UInt32, _ identity: UInt32, _ port: UInt16, _ direction: sluice_direction)
            -> Bool
        {
            var modeKey = sluice_policy_mode_key()
            modeKey.endpoint_id = endpoint
            modeKey.direction = UInt8(direction.rawValue)
            guard let mode = maps.modes[modeKey] else { return false }
            let probes = [(identity, port), (identity, 0), (0, port), (0, 0)].map { probe in
                maps.policy[
                    sluice_policy_key(
                        endpoint_id: endpoint, identity: probe.0, port: probe.1, proto: Fixture.tcp,
                        direction: UInt8(direction.rawValue))]
            }
            if probes.contains(where: { $0.map(PolicyInstallPlan.isDeny) ?? false }) { return true }
            if probes.contains(where: { $0 != nil }) { return false }
            return mode.default_deny != 0
        }

        /// The LPM trie: longest prefix containing `ip`, world when none.
        private func ipcacheIdentity(_ ip: UInt32) -> UInt32 {
            PolicyInstallPlan.parentIdentity(of: sluice_ipcache_key(prefixlen: 33, ip4: ip), in: maps.ipcache)
        }
    }
}

/// A request for the proxy model: method and path, no headers.
final class ModelRequest: HTTPRequestFields {
    private let methodBytes: [UInt8]
    private let pathBytes: [UInt8]
    private let storage: UnsafeMutableRawBufferPointer
    let method: UnsafeRawBufferPointer
    let path: UnsafeRawBufferPointer
    let authority: UnsafeRawBufferPointer

    init(_ method: String, _ path: String) {
        methodBytes = Array(method.utf8)
        pathBytes = Array(path.utf8)
        storage = .allocate(byteCount: methodBytes.count + pathBytes.count + 1, alignment: 1)
        storage.copyBytes(from: methodBytes + pathBytes)
        let all = UnsafeRawBufferPointer(storage)
        self.method = UnsafeRawBufferPointer(rebasing: all[0..<methodBytes.count])
        self.path = UnsafeRawBufferPointer(rebasing: all[methodBytes.count..<methodBytes.count + pathBytes.count])
        authority = UnsafeRawBufferPointer(rebasing: all[0..<0])
    }

    deinit { storage.deallocate() }

    func forEachHeader(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool) {}
}
