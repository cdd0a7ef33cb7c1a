/// FNV-1a (Fowler/Noll/Vo), 32 and 64 bits: a hash that comes out the same in every process, run
/// and platform (unlike `Hasher`), for names and numbers that runs, processes or nodes must agree
/// on (the sandbox's interface and namespace names, cluster identities' probe order and label
/// hashes, Kubernetes event names). Unseeded, so not for tables keyed by what peers send.
public enum FNV1a {
    /// The 32-bit offset basis: the hash of no bytes.
    public static let basis32: UInt32 = 0x811C_9DC5
    /// The 64-bit offset basis.
    public static let basis64: UInt64 = 0xCBF2_9CE4_8422_2325

    /// The 32-bit hash of `bytes`, continuing from `hash` (the hash of the bytes before them).
    public static func hash32(_ bytes: some Sequence<UInt8>, continuing hash: UInt32 = basis32) -> UInt32 {
        fold(bytes, into: hash, prime: 0x0100_0193)
    }

    /// The 64-bit hash of `bytes`, continuing from `hash` (the hash of the bytes before them).
    public static func hash64(_ bytes: some Sequence<UInt8>, continuing hash: UInt64 = basis64) -> UInt64 {
        fold(bytes, into: hash, prime: 0x100_0000_01B3)
    }

    private static func fold<T: FixedWidthInteger>(_ bytes: some Sequence<UInt8>, into hash: T, prime: T) -> T {
        var hash = hash
        for byte in bytes { hash = (hash ^ T(byte)) &* prime }
        return hash
    }

    /// `hash` as lower-case hex digits, zero-padded to its width (8 for a 32-bit hash, 16 for a
    /// 64-bit one): how a name carries a hash.
    public static func hex<T: FixedWidthInteger & UnsignedInteger>(_ hash: T) -> String {
        let count = T.bitWidth / 4
        return String(unsafeUninitializedCapacity: count) { out in
            for i in 0..<count {
                out[i] = ASCII.hexDigit(UInt8(truncatingIfNeeded: hash >> ((count - 1 - i) * 4)) & 0xF)
            }
            return count
        }
    }
}
