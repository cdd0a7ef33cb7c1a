import CSluiceShared

/// The request headers an HTTP request record carries (`sluice_flow_http.headers`, layout in
/// `bpf/include/sluice_flow.h`): packed `name_len (1) | value_len (2, little endian) | name |
/// value` entries in arrival order, at most `capacity` bytes, values already redacted as
/// `FlowRedaction` says (a redacted value is stored as `HUBBLE_REDACTED`, so no reader ever sees
/// the secret). A header that does not fit ends the list and sets `cut`.
///
/// Like Cilium's access log (Envoy turns `Host` into `:authority`), the request's `Host` and
/// pseudo-headers (`:path`, ...) are not recorded: they are in the url already.
///
/// `Packer` writes into caller-owned memory on the request path: no allocation, no Foundation.
public enum HTTPHeaderRecord {
    /// Bytes a record holds (`SLUICE_HTTP_HEADERS_MAX`).
    public static let capacity = Int(SLUICE_HTTP_HEADERS_MAX)
    private static let entryHead = 3

    /// Packs headers into `capacity` bytes at `base`.
    public struct Packer {
        @inline(__always)
        private static func isHost(_ name: UnsafeRawBufferPointer) -> Bool {
            name.count == 4 && name[0] | 0x20 == UInt8(ascii: "h") && name[1] | 0x20 == UInt8(ascii: "o")
                && name[2] | 0x20 == UInt8(ascii: "s") && name[3] | 0x20 == UInt8(ascii: "t")
        }

        private let base: UnsafeMutableRawPointer
        /// Bytes used.
        public private(set) var used = 0
        /// Entries packed.
        public private(set) var count = 0
        /// Whether a header did not fit (it and all later ones are missing).
        public private(set) var cut = false

        /// A packer over `capacity` bytes at `base` (the caller owns them).
        public init(base: UnsafeMutableRawPointer) { self.base = base }

        /// The packed bytes.
        public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: used) }

        /// Empties the packer (the next request).
        public mutating func reset() {
            used = 0
            count = 0
            cut = false
        }

        /// Adds one header as `redaction` shows it; returns false once the record is full (the
        /// caller stops iterating). Skips `Host` and pseudo-headers.
        @discardableResult
        public mutating func append(
            name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, redaction: FlowRedaction
        ) -> Bool {
            guard !cut else { return false }
            if name.isEmpty || name.count > Int(UInt8.max) || name[0] == UInt8(ascii: ":") || Self.isHost(name) {
                return true
            }
            let masked = redaction.redactsHeader(name)
            let mask = FlowRedaction.redacted
            let valueCount = masked ? mask.utf8CodeUnitCount : min(value.count, Int(UInt16.max))
            guard used + HTTPHeaderRecord.entryHead + name.count + valueCount <= HTTPHeaderRecord.capacity else {
                cut = true
                return false
            }
            base.storeBytes(of: UInt8(name.count), toByteOffset: used, as: UInt8.self)
            base.storeBytes(of: UInt8(valueCount & 0xFF), toByteOffset: used + 1, as: UInt8.self)
            base.storeBytes(of: UInt8(valueCount >> 8), toByteOffset: used + 2, as: UInt8.self)
            used += HTTPHeaderRecord.entryHead
            (base + used).copyMemory(from: name.baseAddress!, byteCount: name.count)
            used += name.count
            if masked {
                (base + used).copyMemory(from: mask.utf8Start, byteCount: valueCount)
            } else if valueCount > 0, let from = value.baseAddress {
                (base + used).copyMemory(from: from, byteCount: valueCount)
            }
            used += valueCount
            count += 1
            return true
        }
    }

    /// The headers of packed `bytes` as Hubble shows them: keys in Go's canonical form
    /// (`user-agent` → `User-Agent`, as Cilium's `http.Header` keeps them), sorted by key, the
    /// values of one key in arrival order. A malformed entry ends the list.
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> [Flow.HTTP.Header] {
        var out: [Flow.HTTP.Header] = []
        var at = 0
        while at + entryHead <= bytes.count {
            let nameCount = Int(bytes[at])
            let valueCount = Int(bytes[at + 1]) | Int(bytes[at + 2]) << 8
            let nameStart = at + entryHead
            guard nameCount > 0, nameStart + nameCount + valueCount <= bytes.count else { break }
            let name = UnsafeRawBufferPointer(rebasing: bytes[nameStart..<nameStart + nameCount])
            let value = UnsafeRawBufferPointer(
                rebasing: bytes[nameStart + nameCount..<nameStart + nameCount + valueCount])
            out.append(Flow.HTTP.Header(key: canonicalKey(name), value: String(decoding: value, as: UTF8.self)))
            at = nameStart + nameCount + valueCount
        }
        // Stable: equal keys keep arrival order.
        return out.enumerated().sorted { a, b in
            a.element.key != b.element.key ? a.element.key < b.element.key : a.offset < b.offset
        }.map(\.element)
    }

    /// Go's `textproto.CanonicalMIMEHeaderKey`: the first letter and every letter after `-` in
    /// upper case, the others in lower case; a name with a byte that is no token character is
    /// kept as it is.
    public static func canonicalKey(_ name: UnsafeRawBufferPointer) -> String {
        guard name.allSatisfy(isTokenByte) else { return String(decoding: name, as: UTF8.self) }
        var upper = true
        var bytes: [UInt8] = []
        bytes.reserveCapacity(name.count)
        for b in name {
            var c = b
            if upper, c >= UInt8(ascii: "a"), c <= UInt8(ascii: "z") { c -= 32 }
            if !upper, c >= UInt8(ascii: "A"), c <= UInt8(ascii: "Z") { c += 32 }
            upper = c == UInt8(ascii: "-")
            bytes.append(c)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(b)
        }
    }
}
