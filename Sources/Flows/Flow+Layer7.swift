extension Flow {
    /// The `l7` block (`Layer7`): request or response, latency and one protocol record.
    public struct Layer7: Sendable, Equatable {
        /// `type`: REQUEST or RESPONSE.
        public var type: L7FlowType
        /// `latency_ns`: response time minus request time; 0 on requests or when pairing failed.
        public var latencyNs: UInt64
        /// The `dns` / `http` oneof.
        public var record: Record?

        /// Creates the block.
        public init(type: L7FlowType, latencyNs: UInt64 = 0, record: Record? = nil) {
            self.type = type
            self.latencyNs = latencyNs
            self.record = record
        }

        /// The oneof of protocol records Sluice produces.
        public enum Record: Sendable, Equatable {
            case http(HTTP)
            case dns(DNS)
        }

        /// The HTTP record, if this is an HTTP flow.
        public var http: HTTP? {
            if case .http(let h) = record { return h }
            return nil
        }

        /// The DNS record, if this is a DNS flow.
        public var dns: DNS? {
            if case .dns(let d) = record { return d }
            return nil
        }
    }

    /// `HTTP`: method, url and protocol on requests; responses add `code`.
    public struct HTTP: Sendable, Equatable {
        /// `code`: the response status, 0 on requests.
        public var code: UInt32
        /// `method`.
        public var method: String
        /// `url`: `scheme://authority/path?query`.
        public var url: String
        /// `protocol`: "HTTP/1", "HTTP/1.1" or "HTTP/2".
        public var `protocol`: String
        /// `headers`, sorted by key.
        public var headers: [Header]
        /// Responses of an exchange a failed connection ended (not a Hubble field; see `Summary`).
        public var connectionError: ConnectionError?

        /// Creates the record.
        public init(
            code: UInt32 = 0, method: String = "", url: String = "", protocol: String = "",
            headers: [Header] = [], connectionError: ConnectionError? = nil
        ) {
            self.code = code
            self.method = method
            self.url = url
            self.protocol = `protocol`
            self.headers = headers
            self.connectionError = connectionError
        }

        /// `HTTPHeader`.
        public struct Header: Sendable, Equatable {
            /// `key`.
            public var key: String
            /// `value`.
            public var value: String

            /// Creates a header.
            public init(key: String, value: String) {
                self.key = key
                self.value = value
            }
        }

        /// The path component of `url` (without query or fragment), as `--http-path` matches it.
        public var path: String {
            if let ascii = Self.asciiPath(url) { return ascii }
            var rest = Substring(url)
            if let schemeEnd = rest.firstRange(of: "://") {
                rest = rest[schemeEnd.upperBound...]
                guard let slash = rest.firstIndex(of: "/") else { return "" }
                rest = rest[slash...]
            }
            if let cut = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) {
                rest = rest[..<cut]
            }
            return String(rest)
        }

        /// `path` of an all-ASCII `url` (where bytes and characters are the same), on its UTF-8
        /// bytes; nil for any other url (`path` then walks its characters).
        static func asciiPath(_ url: String) -> String? {
            url.utf8.withContiguousStorageIfAvailable { b -> String? in
                var start = 0
                for byte in b where byte >= 0x80 { return nil }
                var i = 0
                while i + 2 < b.count {
                    if b[i] == UInt8(ascii: ":"), b[i + 1] == UInt8(ascii: "/"), b[i + 2] == UInt8(ascii: "/") {
                        guard let slash = b[(i + 3)...].firstIndex(of: UInt8(ascii: "/")) else { return "" }
                        start = slash
                        break
                    }
                    i += 1
                }
                var end = start
                while end < b.count, b[end] != UInt8(ascii: "?"), b[end] != UInt8(ascii: "#") { end += 1 }
                if start == 0 && end == b.count { return url }
                return String(decoding: UnsafeBufferPointer(rebasing: b[start..<end]), as: UTF8.self)
            } ?? nil
        }
    }

    /// `DNS`: a request has query and qtypes; a response adds ips, ttl, cnames, rcode and rrtypes.
    public struct DNS: Sendable, Equatable {
        /// `query`: the name asked, lower-case with a trailing dot.
        public var query: String
        /// `ips`: addresses in the answer.
        public var ips: [String]
        /// `ttl`: the lowest TTL of the answer records.
        public var ttl: UInt32
        /// `cnames`.
        public var cnames: [String]
        /// `observation_source`: "proxy".
        public var observationSource: String
        /// `rcode`.
        public var rcode: UInt32
        /// `qtypes`: question types by name ("A").
        public var qtypes: [String]
        /// `rrtypes`: answer record types by name.
        public var rrtypes: [String]
        /// A SERVFAIL the proxy made up because a connection or send failed (not a Hubble field;
        /// see `Summary`).
        public var connectionError: ConnectionError?

        /// Creates the record.
        public init(
            query: String = "", ips: [String] = [], ttl: UInt32 = 0, cnames: [String] = [],
            observationSource: String = "proxy", rcode: UInt32 = 0, qtypes: [String] = [],
            rrtypes: [String] = [], connectionError: ConnectionError? = nil
        ) {
            self.query = query
            self.ips = ips
            self.ttl = ttl
            self.cnames = cnames
            self.observationSource = observationSource
            self.rcode = rcode
            self.qtypes = qtypes
            self.rrtypes = rrtypes
            self.connectionError = connectionError
        }

        /// The name miekg/dns gives an RR type (`TypeToString`), or `TYPE<n>` as its `Type.String()` does.
        public static func typeName(_ type: UInt16) -> String {
            switch type {
            case 1: "A"
            case 2: "NS"
            case 5: "CNAME"
            case 6: "SOA"
            case 12: "PTR"
            case 15: "MX"
            case 16: "TXT"
            case 28: "AAAA"
            case 33: "SRV"
            case 35: "NAPTR"
            case 39: "DNAME"
            case 43: "DS"
            case 46: "RRSIG"
            case 48: "DNSKEY"
            case 64: "SVCB"
            case 65: "HTTPS"
            case 255: "ANY"
            default: "TYPE\(type)"
            }
        }

        /// The name miekg/dns gives an rcode (`RcodeToString`).
        public static func rcodeName(_ rcode: UInt32) -> String {
            switch rcode {
            case 0: "NOERROR"
            case 1: "FORMERR"
            case 2: "SERVFAIL"
            case 3: "NXDOMAIN"
            case 4: "NOTIMP"
            case 5: "REFUSED"
            case 6: "YXDOMAIN"
            case 7: "YXRRSET"
            case 8: "NXRRSET"
            case 9: "NOTAUTH"
            case 10: "NOTZONE"
            case 16: "BADSIG"
            case 17: "BADKEY"
            case 18: "BADTIME"
            case 19: "BADMODE"
            case 20: "BADNAME"
            case 21: "BADALG"
            case 22: "BADTRUNC"
            case 23: "BADCOOKIE"
            default: "\(rcode)"
            }
        }
    }
}
