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
}
