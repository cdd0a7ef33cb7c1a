internal import CLibbpf
public import CSluiceShared

#if canImport(Glibc)
    internal import Glibc
#endif

/// The DNS deny cache (bpf/include/sluice_dns.h, bpf/lib/dns_deny.h): the DNS proxy inserts the
/// UDP queries it refused, tc answers them again itself while the deny generation stays.
extension Datapath {
    /// Inserts (or replaces) one deny cache entry: one syscall. False when the kernel refused it.
    @discardableResult
    public func insertDNSDenial(
        _ key: UnsafePointer<sluice_dns_deny_key>, _ value: UnsafePointer<sluice_dns_deny_value>
    ) -> Bool {
        bpf_map_update_elem(dnsDenyFD, key, value, UInt64(BPF_ANY)) == 0
    }

    /// The entry of `key`, or nil (tests and diagnostics).
    public func dnsDenial(_ key: sluice_dns_deny_key) -> sluice_dns_deny_value? {
        var key = key
        var value = sluice_dns_deny_value()
        guard bpf_map_lookup_elem(dnsDenyFD, &key, &value) == 0 else { return nil }
        return value
    }

    /// The deny generation now (`sluice_dns_gen`).
    public var dnsDenyGeneration: UInt64 { steeringEpoch.denyGenerationValue }

    /// Queries tc answered from the deny cache, summed over the CPUs (`sluice_dns_stats`).
    public func dnsDenialsAnsweredInDatapath() -> UInt64 {
        let cpus = Int(libbpf_num_possible_cpus())
        guard cpus > 0 else { return 0 }
        var values = [sluice_dns_stats](repeating: sluice_dns_stats(), count: cpus)
        var key: UInt32 = 0
        guard bpf_map_lookup_elem(dnsStatsFD, &key, &values) == 0 else { return 0 }
        return values.reduce(0) { $0 &+ $1.answered }
    }

    /// Maps the one-word `sluice_dns_gen` array (BPF_F_MMAPABLE) for the process's life.
    static func mapDenyGeneration(_ fd: Int32) throws -> UnsafeMutablePointer<UInt64> {
        let length = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard let address = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), address != MAP_FAILED
        else { throw DatapathError.fromErrno("mmap", "sluice_dns_gen") }
        return address.assumingMemoryBound(to: UInt64.self)
    }
}
