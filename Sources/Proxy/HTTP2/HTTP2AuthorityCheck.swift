import HTTP2
import SluiceModel

/// RFC 9113 8.3.1: a request with both `:authority` and `host` whose values name different
/// authorities is malformed. Sluice answers it 400 (not forwarded; its flows are an ERROR request
/// and a 400 response, and it counts toward the rapid-reset budget like any stream the proxy
/// refuses as malformed). When they agree, `host` is dropped: the rule and the upstream see the
/// one authority of `:authority`, never a second spelling of it.
///
/// Equal means equal after RFC 3986 6.2.2 / 6.2.3 normalisation: the host compared
/// case-insensitively, an empty port or the scheme's default port (80 for http, 443 for https)
/// the same as no port. Anything else, percent-encoding included, is a disagreement.
enum HTTP2AuthorityCheck {
    enum Outcome: Equatable {
        /// Forward this block (the received one, or a copy without `host`).
        case forward(HTTP2HeaderBlock)
        /// `:authority` and `host` disagree: answer 400.
        case reject
    }

    static func check(_ block: HTTP2HeaderBlock) -> Outcome {
        var authority: ArraySlice<UInt8>?
        var scheme: ArraySlice<UInt8>?
        var hosts = 0
        var firstHost = ArraySlice<UInt8>()
        for f in block.fields {
            let name = block.storage[f.name]
            if name.elementsEqual(Self.hostName) {
                if hosts == 0 { firstHost = block.storage[f.value] }
                hosts += 1
            } else if authority == nil && name.elementsEqual(Self.authorityName) {
                authority = block.storage[f.value]
            } else if scheme == nil && name.elementsEqual(Self.schemeName) {
                scheme = block.storage[f.value]
            }
        }
        guard hosts > 0 else { return .forward(block) }
        let https = scheme.map { $0.count == 5 && zip($0, "https".utf8).allSatisfy { ASCII.lower($0) == $1 } } ?? false
        let defaultPort = https ? Self.p443 : Self.p80
        // Without :authority the first host is the authority (nghttp2 refuses a second host
        // anyway); every other spelling must agree with it.
        let reference = authority ?? firstHost
        for f in block.fields where block.storage[f.name].elementsEqual(Self.hostName) {
            guard same(reference, block.storage[f.value], defaultPort: defaultPort) else { return .reject }
        }
        guard authority != nil || hosts > 1 else { return .forward(block) }
        // Keep one authority: :authority when present, else the first host.
        var keptHost = authority != nil
        return .forward(
            block.filtered { name, _ in
                guard name.elementsEqual(Self.hostName) else { return false }
                defer { keptHost = true }
                return keptHost
            })
    }

    /// Whether two authority values name the same authority (host case-insensitive, default or
    /// empty port = none).
    static func same(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>, defaultPort: ArraySlice<UInt8>) -> Bool {
        let (ha, pa) = split(a)
        let (hb, pb) = split(b)
        guard ha.count == hb.count, zip(ha, hb).allSatisfy({ ASCII.lower($0) == ASCII.lower($1) }) else { return false }
        let na = pa.isEmpty || pa.elementsEqual(defaultPort) ? ArraySlice<UInt8>() : pa
        let nb = pb.isEmpty || pb.elementsEqual(defaultPort) ? ArraySlice<UInt8>() : pb
        return na.elementsEqual(nb)
    }

    /// Host and port (without the colon; empty when absent). The port is what follows the last
    /// `:` after any `]` of an IPv6 literal.
    private static func split(_ v: ArraySlice<UInt8>) -> (ArraySlice<UInt8>, ArraySlice<UInt8>) {
        let afterLiteral = v.lastIndex(of: 0x5D).map { $0 + 1 } ?? v.startIndex
        guard let colon = v[afterLiteral...].lastIndex(of: 0x3A) else { return (v, []) }
        return (v[..<colon], v[(colon + 1)...])
    }

    private static let hostName: [UInt8] = Array("host".utf8)
    private static let authorityName: [UInt8] = Array(":authority".utf8)
    private static let schemeName: [UInt8] = Array(":scheme".utf8)
    private static let p80: ArraySlice<UInt8> = ArraySlice("80".utf8)
    private static let p443: ArraySlice<UInt8> = ArraySlice("443".utf8)
}
