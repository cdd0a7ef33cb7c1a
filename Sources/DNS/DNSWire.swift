/// In-place edits and peeks on raw message bytes, for the proxy's forwarding path: no decoding,
/// no copy.
public enum DNSWire {
    /// Reads the message ID, nil when fewer than 2 bytes.
    public static func id(of bytes: UnsafeRawBufferPointer) -> UInt16? {
        guard bytes.count >= 2 else { return nil }
        return UInt16(bytes[0]) << 8 | UInt16(bytes[1])
    }

    /// Overwrites the message ID (bytes 0-1) in place: the proxy gives each forwarded query a
    /// fresh ID and puts the client's back on the answer. Returns false, changing nothing, when
    /// the buffer is shorter than 2 bytes.
    @discardableResult
    public static func setID(_ id: UInt16, in bytes: UnsafeMutableRawBufferPointer) -> Bool {
        guard bytes.count >= 2 else { return false }
        bytes[0] = UInt8(id >> 8)
        bytes[1] = UInt8(id & 0xFF)
        return true
    }

    /// `setID` on an array.
    @discardableResult
    public static func setID(_ id: UInt16, in bytes: inout [UInt8]) -> Bool {
        bytes.withUnsafeMutableBytes { setID(id, in: $0) }
    }

    /// Whether QR is set (the message is a response), nil when shorter than a header.
    public static func isResponse(_ bytes: UnsafeRawBufferPointer) -> Bool? {
        guard bytes.count >= DNSLimits.headerSize else { return nil }
        return bytes[2] & 0x80 != 0
    }

    /// The header's 4 rcode bits (without OPT extension), nil when shorter than a header.
    public static func headerRcode(_ bytes: UnsafeRawBufferPointer) -> RCode? {
        guard bytes.count >= DNSLimits.headerSize else { return nil }
        return RCode(UInt16(bytes[3] & 0x0F))
    }
}
