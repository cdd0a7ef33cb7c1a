/// Dotted-quad text for IPv4 addresses held in network byte order.
enum IPv4Text {
    static func parse(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".")
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for p in parts {
            guard let b = UInt8(p) else { return nil }
            bytes.append(b)
        }
        return UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
    }

    static func format(_ ip: UInt32) -> String {
        "\(ip & 0xFF).\(ip >> 8 & 0xFF).\(ip >> 16 & 0xFF).\(ip >> 24)"
    }
}
