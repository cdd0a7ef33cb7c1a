/// Checks a `host_name` from the `server_name` extension and returns it in the form policies
/// compare against: lower-case ASCII, no trailing dot.
enum ServerNameSyntax {
    /// Longest DNS name in text form, without the trailing dot.
    static let maxNameLength = 253
    /// Longest DNS label.
    static let maxLabelLength = 63

    static func validate(_ raw: UnsafeRawBufferPointer) throws(ClientHelloError) -> String {
        if raw.isEmpty { throw .emptyServerName }
        var count = raw.count
        if raw[count - 1] == UInt8(ascii: ".") { count -= 1 }
        if count == 0 || count > maxNameLength { throw .invalidServerName }
        var labelLength = 0
        var labelAllDigits = true
        var sawColonOrBracket = false
        var bad = false
        for index in 0..<count {
            let byte = raw[index]
            switch byte {
            case UInt8(ascii: "."):
                if labelLength == 0 { bad = true }
                labelLength = 0
                labelAllDigits = true
                continue
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                break
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "-"), UInt8(ascii: "_"):
                labelAllDigits = false
            case UInt8(ascii: ":"), UInt8(ascii: "["), UInt8(ascii: "]"):
                sawColonOrBracket = true
                labelAllDigits = false
            default:
                bad = true
                labelAllDigits = false
            }
            labelLength += 1
            if labelLength > maxLabelLength { bad = true }
        }
        // An IPv6 literal holds ':' (and maybe brackets); a name whose last label is all digits
        // is an IPv4 literal in one of inet_aton's forms (no top-level domain is numeric).
        if sawColonOrBracket || (labelLength > 0 && labelAllDigits) { throw .serverNameIsIPAddress }
        if bad || labelLength == 0 { throw .invalidServerName }
        var name = String(decoding: UnsafeRawBufferPointer(rebasing: raw[0..<count]), as: UTF8.self)
        if name.utf8.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) {
            name = name.lowercased()
        }
        return name
    }
}
