import XCTest

@testable import Policy

/// Port entries' canonical text, protocol expansion, ICMP ports and L7 kinds.
final class PortRuleTests: XCTestCase {
    func testCanonicalPorts() {
        XCTAssertEqual(PortProtocol(port: .number(80), endPort: nil, proto: .tcp).canonical, "80/TCP")
        XCTAssertEqual(PortProtocol(port: .number(8000), endPort: 8080, proto: .udp).canonical, "8000-8080/UDP")
        XCTAssertEqual(
            PortProtocol(port: .number(80), endPort: 80, proto: .tcp).canonical, "80/TCP",
            "a range of one port is the port")
        XCTAssertEqual(
            PortProtocol(port: .number(90), endPort: 80, proto: .sctp).canonical, "90/SCTP",
            "an end below the start is ignored")
        XCTAssertEqual(PortProtocol(port: .named("http"), endPort: 90, proto: .any).canonical, "http/ANY")
        XCTAssertEqual(PortProtocol(port: .number(0), endPort: nil, proto: .any).canonical, "0/ANY")
    }

    func testProtocolsCovered() {
        XCTAssertEqual(L4Protocol.tcp.ipProtocols, [6])
        XCTAssertEqual(L4Protocol.udp.ipProtocols, [17])
        XCTAssertEqual(L4Protocol.sctp.ipProtocols, [132])
        XCTAssertEqual(L4Protocol.any.ipProtocols, [6, 17, 132], "ANY is not ICMP")
        XCTAssertEqual(L4Protocol.icmp.ipProtocols, [1])
        XCTAssertEqual(L4Protocol.icmpv6.ipProtocols, [58])
        XCTAssertEqual(L4Protocol.everyIPProtocol, [6, 17, 132, 1, 58, 0])
        XCTAssertEqual(
            [L4Protocol.tcp, .udp, .sctp, .any, .icmp, .icmpv6].map(\.isICMP), [false, false, false, false, true, true])
        XCTAssertEqual(L4Protocol(rawValue: "ICMPv6"), .icmpv6)
    }

    func testICMPTypesKeepTypeZeroApartFromTheWildcardPort() {
        XCTAssertEqual(ICMPType.policyPort(0), 0x100)
        XCTAssertEqual(ICMPType.policyPort(8), 0x108)
        XCTAssertEqual(ICMPType.policyPort(255), 0x1ff)
    }

    func testL7Kinds() {
        XCTAssertNil(L7Rules.none.kind)
        XCTAssertEqual(L7Rules.http([]).kind, .http)
        XCTAssertEqual(L7Rules.dns([]).kind, .dns)
    }

    /// A port rule's TLS contexts are kept out of line (most rules have none, and two inline
    /// made every rule 184 bytes); setting, reading and comparing them works as for fields.
    func testTLSContextsAreKeptOutOfLineAndCompareByValue() {
        XCTAssertLessThanOrEqual(MemoryLayout<PortRule>.size, 32)
        let ports = [PortProtocol(port: .number(443), endPort: nil, proto: .tcp)]
        var rule = PortRule(ports: ports, rules: .none)
        XCTAssertNil(rule.terminatingTLS)
        XCTAssertNil(rule.interception)
        let server = TLSContext(namespace: "ns", name: "server")
        let ca = TLSContext(namespace: "ns", name: "ca")
        rule.terminatingTLS = server
        XCTAssertEqual(rule.terminatingTLS, server)
        XCTAssertNil(rule.originatingTLS)
        rule.originatingTLS = ca
        XCTAssertEqual(rule.terminatingTLS, server)
        XCTAssertEqual(rule.originatingTLS, ca)
        XCTAssertEqual(rule.interception, TLSInterception(terminating: server, originating: ca))
        XCTAssertEqual(rule, PortRule(ports: ports, rules: .none, terminatingTLS: server, originatingTLS: ca))
        XCTAssertNotEqual(rule, PortRule(ports: ports, rules: .none, terminatingTLS: server))
        rule.terminatingTLS = nil
        rule.originatingTLS = nil
        XCTAssertEqual(rule, PortRule(ports: ports, rules: .none))
    }
}
