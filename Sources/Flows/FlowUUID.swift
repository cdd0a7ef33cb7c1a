import SluiceModel

/// Deterministic flow UUIDs: the same flow-map record always prints the same `uuid`, and records of
/// different rings (another boot, a re-created ring map) get different ones.
///
/// Layout (RFC 9562 version 8, "custom"): bytes 0-7 are an FNV-1a hash of the ring's identity
/// (`seed`: boot ID, pin inode and change time), bytes 8-15 the record's sequence number; the
/// version and variant bits are then set as RFC 9562 requires.
public enum FlowUUID {
    /// The UUID text (`xxxxxxxx-xxxx-8xxx-yxxx-xxxxxxxxxxxx`) of record `seq` of the ring `seed` names.
    public static func make(seed: String, seq: UInt64) -> String {
        let hash = seedHash(seed)
        // 16 bytes as 32 hex digits and 4 dashes, written straight into the string's storage.
        return String(unsafeUninitializedCapacity: 36) { out in
            write(seedHash: hash, seq: seq, into: out)
            return 36
        }
    }

    /// The FNV-1a hash of `seed` that makes the UUID's first 8 bytes (computed once per ring by
    /// an encoder that writes many UUIDs).
    public static func seedHash(_ seed: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in seed.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// The 36 bytes of `make`'s text for a ring whose `seedHash` is given, written into `out`
    /// (at least 36 bytes).
    public static func write(seedHash hash: UInt64, seq: UInt64, into out: UnsafeMutableBufferPointer<UInt8>) {
        var at = 0
        for i in 0..<16 {
            if i == 4 || i == 6 || i == 8 || i == 10 {
                out[at] = UInt8(ascii: "-")
                at += 1
            }
            let word = i < 8 ? hash : seq
            var b = UInt8(truncatingIfNeeded: word >> (56 - 8 * UInt64(i % 8)))
            if i == 6 { b = (b & 0x0F) | 0x80 }
            if i == 8 { b = (b & 0x3F) | 0x80 }
            out[at] = ASCII.hexDigit(b >> 4)
            out[at + 1] = ASCII.hexDigit(b & 0xF)
            at += 2
        }
    }
}
