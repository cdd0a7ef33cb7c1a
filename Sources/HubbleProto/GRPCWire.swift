/// gRPC over HTTP/2 (grpc/PROTOCOL-HTTP2.md), the parts that are bytes and text: the 5-byte
/// length prefix of each message, status codes, `grpc-timeout` and the percent-encoding of
/// `grpc-message`. Pure; the server (`HubbleObserver`) and `sluice observe --server` use it.
public enum GRPCWire {
    /// The largest message accepted (gRPC's default receive limit, 4 MiB).
    public static let maxMessageBytes = 4 * 1024 * 1024

    /// gRPC status codes (the subset Sluice answers).
    public enum Status: Int, Sendable {
        case ok = 0, cancelled = 1, unknown = 2, invalidArgument = 3, deadlineExceeded = 4, notFound = 5
        case resourceExhausted = 8, failedPrecondition = 9, unimplemented = 12, internalError = 13
        case unavailable = 14
    }

    /// `message` with its 5-byte prefix (not compressed).
    public static func frame(_ message: [UInt8]) -> [UInt8] {
        let n = UInt32(message.count)
        var out: [UInt8] = [
            0, UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8),
            UInt8(truncatingIfNeeded: n),
        ]
        out.reserveCapacity(5 + message.count)
        out.append(contentsOf: message)
        return out
    }

    /// What the start of a byte stream holds.
    public enum Deframed: Equatable {
        /// A whole message and how many bytes it took with its prefix.
        case message(ArraySlice<UInt8>, consumed: Int)
        case needMore
        /// Not a message Sluice can read (compressed, or larger than the limit).
        case invalid(String)
    }

    /// The first message of `bytes`.
    public static func deframe(_ bytes: ArraySlice<UInt8>, limit: Int = maxMessageBytes) -> Deframed {
        guard bytes.count >= 5 else { return .needMore }
        let s = bytes.startIndex
        let compressed = bytes[s]
        let length = Int(bytes[s + 1]) << 24 | Int(bytes[s + 2]) << 16 | Int(bytes[s + 3]) << 8 | Int(bytes[s + 4])
        guard compressed == 0 else {
            return compressed == 1 ? .invalid("compressed messages are not supported") : .invalid("bad message flag")
        }
        guard length <= limit else { return .invalid("message of \(length) bytes exceeds the limit of \(limit)") }
        guard bytes.count - 5 >= length else { return .needMore }
        return .message(bytes[(s + 5)..<(s + 5 + length)], consumed: 5 + length)
    }

    /// `grpc-timeout` (1 to 8 digits and a unit H, M, S, m, u, n) in nanoseconds, or nil.
    public static func timeoutNs(_ text: String) -> UInt64? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 2, bytes.count <= 9, let unit = bytes.last else { return nil }
        guard let value = UInt64(String(decoding: bytes.dropLast(), as: UTF8.self)) else { return nil }
        let perUnit: UInt64
        switch unit {
        case UInt8(ascii: "H"): perUnit = 3_600_000_000_000
        case UInt8(ascii: "M"): perUnit = 60_000_000_000
        case UInt8(ascii: "S"): perUnit = 1_000_000_000
        case UInt8(ascii: "m"): perUnit = 1_000_000
        case UInt8(ascii: "u"): perUnit = 1_000
        case UInt8(ascii: "n"): perUnit = 1
        default: return nil
        }
        let (ns, overflow) = value.multipliedReportingOverflow(by: perUnit)
        return overflow ? UInt64.max : ns
    }

    /// `grpc-message` percent-encoding: bytes outside 0x20...0x7E and `%` become `%XX`.
    public static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            if byte >= 0x20 && byte <= 0x7E && byte != UInt8(ascii: "%") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
            }
        }
        return out
    }

    /// The inverse of `percentEncoded` (a malformed escape is kept as it is).
    public static func percentDecoded(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count,
                let v = UInt8(String(decoding: bytes[(i + 1)...(i + 2)], as: UTF8.self), radix: 16)
            {
                out.append(v)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
