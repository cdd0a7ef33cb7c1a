/// Why a DNS message, name or frame could not be decoded.
///
/// A struct over the private name of its static member so cases can be added without breaking callers; compare with the
/// static members (`error == .truncated`). Every failure of the DNS codec on hostile input is one of
/// these values: the codec never traps on bytes from the wire.
public struct DNSParseError: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The static member's name; the one thing two values compare by.
    private let reason: String

    private init(_ reason: String) {
        self.reason = reason
    }

    /// The message ends in the middle of a header, name, record or rdata.
    public static let truncated = DNSParseError("truncated")
    /// A label is longer than 63 bytes (RFC 1035 2.3.4).
    public static let labelTooLong = DNSParseError("labelTooLong")
    /// A name is longer than 255 bytes in uncompressed wire form (RFC 1035 2.3.4).
    public static let nameTooLong = DNSParseError("nameTooLong")
    /// A presentation-form name has an empty label (`a..b`); only the root may be empty.
    public static let emptyLabel = DNSParseError("emptyLabel")
    /// A label length byte uses the reserved 0b01/0b10 label types (RFC 6891 9 deprecates 0b01).
    public static let badLabelType = DNSParseError("badLabelType")
    /// A presentation-form name has a `\DDD` escape that is not three digits or exceeds 255.
    public static let badEscape = DNSParseError("badEscape")
    /// A compression pointer points back into the part of the name already read.
    public static let compressionLoop = DNSParseError("compressionLoop")
    /// A compression pointer points to itself or forward; pointers must point strictly backwards
    /// (as miekg/dns enforces).
    public static let pointerForward = DNSParseError("pointerForward")
    /// A compression pointer points into the 12-byte header or past the end of the message.
    public static let pointerOutOfRange = DNSParseError("pointerOutOfRange")
    /// A name follows more than `DNSLimits.maxCompressionPointers` pointers.
    public static let tooManyCompressionPointers = DNSParseError("tooManyCompressionPointers")
    /// More than one OPT record, an OPT record outside the additional section or not owned by the
    /// root, or malformed EDNS options (RFC 6891 6.1.1).
    public static let badOPT = DNSParseError("badOPT")
    /// The section counts in the header do not match the records present (fewer records, or bytes
    /// left over after the last one).
    public static let countMismatch = DNSParseError("countMismatch")
    /// The rdata length is inconsistent with the record type (A not 4 bytes, a name running past
    /// the rdata, TXT strings not tiling the rdata, ...).
    public static let badRdata = DNSParseError("badRdata")

    public var description: String {
        "DNSParseError.\(reason)"
    }
}

/// Limits the codec enforces on every input.
public enum DNSLimits {
    /// Size of the fixed message header (RFC 1035 4.1.1).
    public static let headerSize = 12
    /// Longest label (RFC 1035 2.3.4).
    public static let maxLabelLength = 63
    /// Longest name in uncompressed wire form, length bytes and the final zero included.
    public static let maxNameWireLength = 255
    /// Most compression pointers followed while reading one name. A 255-byte name has at most 127
    /// labels, so a legitimate name never needs more (miekg/dns uses the same bound).
    public static let maxCompressionPointers = 126
    /// Largest offset a compression pointer can hold (14 bits).
    public static let maxPointerOffset = 0x3FFF
    /// Largest DNS message: the TCP length prefix is 16 bits.
    public static let maxMessageSize = 65535
}

extension DNSLimits {
    /// The rules every compression pointer obeys (RFC 1035 4.1.4, as miekg/dns enforces them):
    /// the `number`th of its name at most `maxCompressionPointers`, to `target` inside the message
    /// after the header, strictly before the pointer at `position` and before the segment being
    /// read (no loop).
    @inline(__always)
    static func checkPointer(
        to target: Int, number: Int, at position: Int, segmentStart: Int, messageLength: Int
    ) throws(DNSParseError) {
        guard number <= maxCompressionPointers else { throw .tooManyCompressionPointers }
        guard target >= headerSize, target < messageLength else { throw .pointerOutOfRange }
        guard target < position else { throw .pointerForward }
        guard target < segmentStart else { throw .compressionLoop }
    }
}
