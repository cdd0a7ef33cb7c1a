internal import CSluice

/// The DNS proxy's one source of random values (query IDs, the upstream socket a query leaves
/// from): the kernel CSPRNG through getrandom(2), as unbound's and dnsdist's arc4random, read
/// 512 bytes at a time so a query costs one syscall per 256 values, not one each. IDs from a
/// predictable generator would let an off-path forger aim at the next query (RFC 5452).
///
/// One per worker; loop-thread only.
final class DNSRandom {
    static let batch = 256
    private let values: UnsafeMutablePointer<UInt16>
    private var next = DNSRandom.batch

    init() {
        values = .allocate(capacity: Self.batch)
        values.initialize(repeating: 0, count: Self.batch)
    }

    deinit {
        values.deallocate()
    }

    /// A uniformly random 16-bit value.
    func u16() -> UInt16 {
        if next == Self.batch { refill() }
        defer { next += 1 }
        return values[next]
    }

    /// A random value below `bound` (> 0); the modulo bias is below 2^-8 for bounds up to 256.
    func below(_ bound: Int) -> Int {
        bound <= 1 ? 0 : Int(u16()) % bound
    }

    /// A random ID for which `inUse` is false (callers keep well under 65536 in flight).
    func id(unusedIn inUse: (UInt16) -> Bool) -> UInt16 {
        while true {
            let id = u16()
            if !inUse(id) { return id }
        }
    }

    private func refill() {
        next = 0
        if CSluice_getrandom(values, Self.batch * 2) == 0 { return }
        // getrandom(2) cannot fail on Linux >= 3.17 once the pool is initialised; the standard
        // library's generator (also getrandom) is the fallback if it ever does.
        var generator = SystemRandomNumberGenerator()
        for i in 0..<Self.batch { values[i] = generator.next() }
    }
}
