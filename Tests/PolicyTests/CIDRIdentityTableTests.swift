import SluiceModel
import XCTest

@testable import Policy

/// CIDR identities: one per IPv4 prefix the rules name, and the identities a CIDR rule selects.
final class CIDRIdentityTableTests: XCTestCase {
    private let scope = CIDRIdentityTable.localScope

    private func rule(ingress: [CIDRRule] = [], egressDeny: [CIDRRule] = []) -> PolicyRule {
        PolicyRule(
            subject: LabelSelector(), nodeSelector: nil,
            ingress: ingress.isEmpty ? [] : [PeerRule(peers: PeerSelection(cidrs: ingress), toPorts: [])],
            egress: [], ingressDeny: [],
            egressDeny: egressDeny.isEmpty ? [] : [PeerRule(peers: PeerSelection(cidrs: egressDeny), toPorts: [])],
            defaultDenyIngress: true, defaultDenyEgress: true, description: nil)
    }

    private var table: CIDRIdentityTable {
        CIDRIdentityTable(rules: [
            rule(ingress: [
                CIDRRule(cidr: "192.0.2.0/24", except: []), CIDRRule(cidr: "10.0.0.0/8", except: ["10.1.0.0/16"]),
                CIDRRule(cidr: "0.0.0.0/0", except: []), CIDRRule(cidr: "2001:db8::/32", except: []),
            ]),
            rule(egressDeny: [CIDRRule(cidr: "198.51.100.7/32", except: []), CIDRRule(cidr: "10.0.0.0/8", except: [])]),
        ])
    }

    func testPrefixesOfEveryRuleAreNumberedInPrefixOrder() {
        let table = table
        XCTAssertEqual(
            table.prefixes.map(\.prefix.description), ["10.0.0.0/8", "10.1.0.0/16", "192.0.2.0/24", "198.51.100.7/32"],
            "excepts and deny rules count, 0.0.0.0/0 (world) and IPv6 do not")
        XCTAssertEqual(table.allIdentities, [scope + 1, scope + 2, scope + 3, scope + 4])
    }

    func testIdentitiesSelectedByARule() {
        let table = table
        XCTAssertEqual(table.identities(selectedBy: CIDRRule(cidr: "10.0.0.0/8", except: [])), [scope + 1, scope + 2])
        XCTAssertEqual(table.identities(selectedBy: CIDRRule(cidr: "10.0.0.0/8", except: ["10.1.0.0/16"])), [scope + 1])
        XCTAssertEqual(table.identities(selectedBy: CIDRRule(cidr: "10.1.2.0/24", except: [])), [])
        XCTAssertEqual(
            table.identities(selectedBy: CIDRRule(cidr: "0.0.0.0/0", except: [])),
            [ReservedIdentity.world, ReservedIdentity.worldIPv4, scope + 1, scope + 2, scope + 3, scope + 4])
        XCTAssertEqual(
            table.identities(selectedBy: CIDRRule(cidr: "0.0.0.0/0", except: ["10.0.0.0/8"])),
            [ReservedIdentity.world, ReservedIdentity.worldIPv4, scope + 3, scope + 4])
        XCTAssertEqual(table.identities(selectedBy: CIDRRule(cidr: "0.0.0.0/0", except: ["0.0.0.0/0"])), [])
        XCTAssertEqual(table.identities(selectedBy: CIDRRule(cidr: "2001:db8::/32", except: [])), [])
        XCTAssertEqual(table.identities(selectedBy: CIDRRule(cidr: "bogus", except: [])), [])
    }

    func testAllocatorKeepsNumbersAndEqualityIgnoresThem() {
        var allocator = IdentityAllocator()
        _ = allocator.cidrIdentities(prefixes: ["203.0.113.0/24"])
        let numbered = CIDRIdentityTable(
            rules: [rule(ingress: [CIDRRule(cidr: "10.0.0.0/8", except: [])])], allocator: &allocator)
        XCTAssertEqual(numbered.allIdentities, [scope + 2])
        let fresh = CIDRIdentityTable(rules: [rule(ingress: [CIDRRule(cidr: "10.0.0.0/8", except: [])])])
        XCTAssertEqual(fresh.allIdentities, [scope + 1])
        XCTAssertEqual(numbered, fresh)
        XCTAssertNotEqual(fresh, CIDRIdentityTable(rules: []))
    }
}
