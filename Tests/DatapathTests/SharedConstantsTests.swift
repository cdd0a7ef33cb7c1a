import CSluiceShared
import Policy
import XCTest

/// Constants Swift keeps beside `bpf/include` (where importing the header is not an option for
/// a pure target) must equal the kernel side.
final class SharedConstantsTests: XCTestCase {
    func testFqdnIdentityRangeMatchesTheHeader() {
        XCTAssertEqual(FQDNIdentity.base, UInt32(SLUICE_IDENTITY_FQDN_BASE))
        XCTAssertEqual(FQDNIdentity.base + FQDNIdentity.count - 1, UInt32(SLUICE_IDENTITY_FQDN_END))
    }

    /// The compiler's ICMP policy port is the datapath's `SLUICE_ICMP_PORT` for every type.
    func testIcmpPolicyPortMatchesTheHeader() {
        for type in UInt8.min...UInt8.max {
            XCTAssertEqual(ICMPType.policyPort(type), sluice_icmp_port(type))
        }
        // IANA protocol numbers, as bpf/lib/packet.h reads them from the IP header.
        XCTAssert(IPProtocol.icmp == 1 && IPProtocol.sctp == 132 && IPProtocol.icmpv6 == 58 && IPProtocol.other == 0)
    }
}
