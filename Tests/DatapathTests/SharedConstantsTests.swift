import CSluiceShared
import Policy
import Testing

/// Constants Swift keeps beside `bpf/include` (where importing the header is not an option for
/// a pure target) must equal the kernel side.
@Suite struct SharedConstantsTests {
    @Test func fqdnIdentityRangeMatchesTheHeader() {
        #expect(FQDNIdentity.base == UInt32(SLUICE_IDENTITY_FQDN_BASE))
        #expect(FQDNIdentity.base + FQDNIdentity.count - 1 == UInt32(SLUICE_IDENTITY_FQDN_END))
    }

    /// The compiler's ICMP policy port is the datapath's `SLUICE_ICMP_PORT` for every type.
    @Test func icmpPolicyPortMatchesTheHeader() {
        for type in UInt8.min...UInt8.max {
            #expect(ICMPType.policyPort(type) == sluice_icmp_port(type))
        }
        // IANA protocol numbers, as bpf/lib/packet.h reads them from the IP header.
        #expect(IPProtocol.icmp == 1 && IPProtocol.sctp == 132 && IPProtocol.icmpv6 == 58 && IPProtocol.other == 0)
    }
}
