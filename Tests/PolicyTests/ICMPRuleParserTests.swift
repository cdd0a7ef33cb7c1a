import PolicyYAML
import XCTest

@testable import Policy

/// `icmps` entries as ICMPRuleParser checks them, every message as Cilium words it
/// (pkg/policy/api/icmp.go), through a whole policy load.
final class ICMPRuleParserTests: XCTestCase {
    /// A CNP on the backend pod with one rule `rule` (YAML lines indented for `- `).
    private func cnp(_ rule: String, section: String = "ingress") -> String {
        Fixtures.backendCNP(rule, section: section)
    }

    private func error(_ yaml: String) -> String? { Fixtures.compileError(yaml) }

    func testWrongFamily() {
        XCTAssertEqual(
            error(
                cnp(
                    """
                      - icmps: [{fields: [{type: 8, family: IPv5}]}]
                    """, section: "egressDeny")),
            "policy.yaml:7:41: spec.egressDeny[0].icmps[0].fields[0].family: wrong family: IPv5")
    }

    func testTypeNamesPerFamily() {
        XCTAssertEqual(
            error(
                cnp(
                    """
                      - icmps: [{fields: [{type: PacketTooBig, family: IPv4}]}]
                    """)),
            "policy.yaml:7:30: spec.ingress[0].icmps[0].fields[0].type: ICMP type PacketTooBig not found in IPv4")
        XCTAssertEqual(
            error(
                cnp(
                    """
                      - icmps: [{fields: [{type: Timestamp, family: IPv6}]}]
                    """)),
            "policy.yaml:7:30: spec.ingress[0].icmps[0].fields[0].type: ICMP type Timestamp not found in IPv6")
        XCTAssertEqual(
            error(
                cnp(
                    """
                      - icmps: [{fields: [{type: Ping}]}]
                    """)), "policy.yaml:7:30: spec.ingress[0].icmps[0].fields[0].type: ICMP type Ping not found in ")
        XCTAssertNil(
            error(
                cnp(
                    """
                      - icmps: [{fields: [{type: PacketTooBig, family: IPv6}, {type: Photuris}]}]
                    """)))
    }

    func testTypeRangeAndPresence() {
        XCTAssertEqual(
            error(
                cnp(
                    """
                      - icmps: [{fields: [{type: 256}]}]
                    """)),
            "policy.yaml:7:30: spec.ingress[0].icmps[0].fields[0].type: ICMP type 256 is out of range: "
                + "it must be 0-255 or a type name")
        XCTAssertEqual(
            error(
                cnp(
                    """
                      - icmps: [{fields: [{family: IPv4}]}]
                    """)), "policy.yaml:7:23: spec.ingress[0].icmps[0].fields[0]: missing required field \"type\"")
    }

    func testTooManyFields() {
        let fields = (0..<41).map { "{type: \($0)}" }.joined(separator: ", ")
        XCTAssertEqual(
            error(
                cnp(
                    """
                      - icmps: [{fields: [\(fields)]}]
                    """)), "policy.yaml:7:22: spec.ingress[0].icmps[0].fields: too many types, the max is 40")
        let forty = (0..<40).map { "{type: \($0)}" }.joined(separator: ", ")
        XCTAssertNil(
            error(
                cnp(
                    """
                      - icmps: [{fields: [\(forty)]}]
                    """)))
    }
}
