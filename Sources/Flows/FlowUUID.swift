/// Deterministic flow UUIDs: the same flow-map record always prints the same `uuid`, and records of
/// different rings (another boot, a re-created ring map) get different ones.
///
/// Layout (RFC 9562 version 8, "custom"): bytes 0-7 are an FNV-1a hash of the ring's identity
/// (`seed`: boot ID, pin inode and change time), bytes 8-15 the record's sequence number; the
/// version and variant bits are then set as RFC 9562 requires.
public enum FlowUUID {
    /// The UUID text (`xxxxxxxx-xxxx-8xxx-yxxx-xxxxxxxxxxxx`) of record `seq` of the ring `seed` names.
    public static func make(seed: String, seq: UInt64) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in seed.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            bytes[i] = UInt8(truncatingIfNeeded: hash >> (56 - 8 * UInt64(i)))
            bytes[8 + i] = UInt8(truncatingIfNeeded: seq >> (56 - 8 * UInt64(i)))
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x80
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        var text = ""
        for (i, b) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { text += "-" }
            text += Flow.hex2(b)
        }
        return text
    }
}
