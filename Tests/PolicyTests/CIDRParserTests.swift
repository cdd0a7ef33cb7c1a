import PolicyYAML
import XCTest

@testable import Policy

/// CIDR peers (`toCIDR`, `toCIDRSet`) as CIDRParser reads them, through a whole policy load.
final class CIDRParserTests: XCTestCase {
    private func egress(_ peer: String) -> String {
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: p, namespace: backend}
        spec:
          endpointSelector: {}
          egress:
          - \(peer)
        """
    }

    private func failure(_ peer: String) -> String? {
        policyLoadError(egress(peer)).map { "\($0.field): \($0.message)" }
    }

    func testPrefixesAndBareAddressesLoad() {
        XCTAssertNil(failure("toCIDR: [10.0.0.0/8, 192.168.1.1, \"fd00::/64\"]"))
        XCTAssertNil(failure("toCIDRSet: [{cidr: 10.0.0.0/8, except: [10.1.0.0/16, 10.2.0.0/16]}]"))
    }

    func testBadCIDRs() {
        XCTAssertEqual(
            failure("toCIDR: [10.0.0.0/33]"), "spec.egress[0].toCIDR[0]: unable to parse CIDR: \"10.0.0.0/33\"")
        XCTAssertEqual(
            failure("toCIDR: [example.com]"), "spec.egress[0].toCIDR[0]: unable to parse CIDR: \"example.com\"")
        XCTAssertEqual(
            failure("toCIDRSet: [{cidr: 10.0.0.1}]"),
            "spec.egress[0].toCIDRSet[0].cidr: Unable to parse CIDRRule \"10.0.0.1\"")
        XCTAssertEqual(
            failure("toCIDRSet: [{cidr: 10.0.0.0/8, except: [10.1.0.1]}]"),
            "spec.egress[0].toCIDRSet[0].except[0]: unable to parse CIDR: \"10.1.0.1\"")
    }

    func testUnsupportedAndMissingFields() {
        XCTAssertEqual(
            failure("toCIDRSet: [{cidrGroupRef: office}]"),
            "spec.egress[0].toCIDRSet[0].cidrGroupRef: \"cidrGroupRef\" is not supported by Sluice yet")
        XCTAssertEqual(failure("toCIDRSet: [{except: [10.0.0.0/8]}]")?.hasPrefix("spec.egress[0].toCIDRSet[0]"), true)
        XCTAssertEqual(
            failure("toCIDRSet: [{cidr: 10.0.0.0/8, bogus: 1}]"),
            "spec.egress[0].toCIDRSet[0].bogus: unknown field \"bogus\"")
    }
}
