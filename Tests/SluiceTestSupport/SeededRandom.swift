import Glibc

/// The random source of randomised tests: SplitMix64 (small, the same sequence on every
/// platform) from a seed that the test names and prints, so a failure can be replayed. The
/// environment variable `SLUICE_TEST_SEED` (hex, e.g. `0x5EEDF51C`) replaces every test's seed
/// to explore other sequences; the printed line says which seed ran.
public struct SeededRandom: RandomNumberGenerator {
    public let seed: UInt64
    private var state: UInt64

    /// `seed` unless `SLUICE_TEST_SEED` is set; prints "`test`: seed 0x…".
    public init(seed: UInt64, test: String = #function, file: String = #fileID) {
        let chosen = SeededRandom.environmentSeed() ?? seed
        self.seed = chosen
        state = chosen
        print(
            "\(file) \(test): random seed 0x\(String(chosen, radix: 16, uppercase: true))"
                + " (replay or vary with SLUICE_TEST_SEED=0x…)")
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static func environmentSeed() -> UInt64? {
        guard let raw = getenv("SLUICE_TEST_SEED") else { return nil }
        var text = String(cString: raw)
        if text.hasPrefix("0x") || text.hasPrefix("0X") { text.removeFirst(2) }
        return UInt64(text, radix: 16)
    }
}
