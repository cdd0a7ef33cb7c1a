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
        make(seedHash: seedHash(seed), seq: seq)
    }

    /// `make(seed:seq:)` for a ring whose `seedHash` is known (a reader hashes its seed once).
    public static func make(seedHash hash: UInt64, seq: UInt64) -> String {
        // 16 bytes as 32 hex digits and 4 dashes, written straight into the string's storage.
        String(unsafeUninitializedCapacity: 36) { out in
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
    /// (at least 36 bytes): the seed's 19 (`writePrefix`), then the sequence number's 17 (`writeSequence`).
    public static func write(seedHash hash: UInt64, seq: UInt64, into out: UnsafeMutableBufferPointer<UInt8>) {
        precondition(out.count >= 36)
        let p = UnsafeMutableRawPointer(out.baseAddress!)
        writePrefix(seedHash: hash, into: p)
        writeSequence(seq, into: p + prefixLength)
    }

    /// The text's first 19 bytes, `xxxxxxxx-xxxx-8xxx-`: the same for every record of a ring (an
    /// encoder keeps them and writes only `writeSequence` per record).
    public static let prefixLength = 19

    /// The seed hash's 16 hex digits with the version nibble and three dashes (`prefixLength` bytes at `p`).
    @inline(__always)
    public static func writePrefix(seedHash hash: UInt64, into p: UnsafeMutableRawPointer) {
        // Byte 6 of the UUID is bits 15...8 of the hash: its high nibble becomes the version, 8.
        let h = hash & ~0xF000 | 0x8000
        p.storeBytes(of: hexDigits(UInt32(truncatingIfNeeded: h >> 32)), as: UInt64.self)
        let low = hexDigits(UInt32(truncatingIfNeeded: h))
        p.storeBytes(of: UInt8(ascii: "-"), toByteOffset: 8, as: UInt8.self)
        p.storeBytes(of: UInt32(truncatingIfNeeded: low), toByteOffset: 9, as: UInt32.self)
        p.storeBytes(of: UInt8(ascii: "-"), toByteOffset: 13, as: UInt8.self)
        p.storeBytes(of: UInt32(truncatingIfNeeded: low >> 32), toByteOffset: 14, as: UInt32.self)
        p.storeBytes(of: UInt8(ascii: "-"), toByteOffset: 18, as: UInt8.self)
    }

    /// The sequence number's part, `yxxx-xxxxxxxxxxxx` (17 bytes at `p`): 16 hex digits with the
    /// RFC 9562 variant bits and one dash.
    @inline(__always)
    public static func writeSequence(_ seq: UInt64, into p: UnsafeMutableRawPointer) {
        // Byte 8 of the UUID is the sequence number's top byte: its top two bits become 10.
        let s = seq & 0x3FFF_FFFF_FFFF_FFFF | 0x8000_0000_0000_0000
        let high = hexDigits(UInt32(truncatingIfNeeded: s >> 32))
        p.storeBytes(of: UInt32(truncatingIfNeeded: high), as: UInt32.self)
        p.storeBytes(of: UInt8(ascii: "-"), toByteOffset: 4, as: UInt8.self)
        p.storeBytes(of: UInt32(truncatingIfNeeded: high >> 32), toByteOffset: 5, as: UInt32.self)
        p.storeBytes(of: hexDigits(UInt32(truncatingIfNeeded: s)), toByteOffset: 9, as: UInt64.self)
    }

    /// `value`'s 8 lowercase hex digits, most significant first, as the bytes of a little-endian
    /// `UInt64` (store it as is): each nibble spread into a byte, then made ASCII without branches.
    @inline(__always)
    static func hexDigits(_ value: UInt32) -> UInt64 {
        var x = UInt64(value)
        x = (x & 0x0000_FFFF) | (x & 0xFFFF_0000) << 16
        x = (x & 0x0000_00FF_0000_00FF) | (x & 0x0000_FF00_0000_FF00) << 8
        x = (x & 0x000F_000F_000F_000F) | (x & 0x00F0_00F0_00F0_00F0) << 4
        // Byte k holds nibble k (the least significant in byte 0); digits >= 10 take 'a' - '0' - 10 more.
        let letters = (x &+ 0x0606_0606_0606_0606) >> 4 & 0x0101_0101_0101_0101
        let ascii = x &+ 0x3030_3030_3030_3030 &+ letters &* 0x27
        return UInt64(littleEndian: ascii.byteSwapped)
    }
}
