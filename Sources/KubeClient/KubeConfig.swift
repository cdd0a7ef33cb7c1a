import Glibc
import SluiceJSON

/// Where and how to reach the API server: its URL, the CA that signs its certificate (PEM text)
/// and the bearer token, from a kubeconfig file or the in-cluster service account.
///
/// A kubeconfig is YAML; the agent links no YAML parser (Yams brings Foundation), so `parse`
/// reads the block subset kubeconfigs are written in (kubectl, kind, the fake API server):
/// block mappings and `- ` sequences by indentation, plain, single- and double-quoted scalars,
/// `#` comments, the empty flow forms `{}` and `[]`. A file whose first character is `{` is read
/// as JSON (a kubeconfig may be JSON). Only the current context's cluster and user are used;
/// `certificate-authority` and `tokenFile` paths are read relative to the kubeconfig's directory.
/// Client certificates and exec/auth-provider plugins are refused with a clear error.
public struct KubeConfig: Equatable, Sendable {
    /// `https://host:port`, without a trailing slash.
    public var server: String
    /// The CA certificate(s) as PEM text; nil means the system's default trust store.
    public var caPEM: String?
    /// The bearer token; nil sends no Authorization header.
    public var token: String?
    /// The context's namespace (`default` when unset).
    public var namespace: String

    public init(server: String, caPEM: String?, token: String?, namespace: String = "default") {
        self.server = server
        self.caPEM = caPEM
        self.token = token
        self.namespace = namespace
    }

    /// Host and port of `server` (port 443 when the URL names none); brackets of an IPv6
    /// literal are removed.
    public func hostAndPort() throws(KubeError) -> (host: String, port: UInt16) {
        var rest = Substring(server)
        guard rest.hasPrefix("https://") else { throw KubeError("server \(server) is not an https:// URL") }
        rest = rest.dropFirst("https://".count)
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw KubeError("server \(server): unclosed [") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                throw KubeError("server \(server): junk after ]")
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw KubeError("server \(server) names no host") }
        guard let text = portText else { return (String(host), 443) }
        guard let port = UInt16(text), port > 0 else { throw KubeError("server \(server): bad port \(text)") }
        return (String(host), port)
    }

    /// Reads the kubeconfig at `path` (CA and token files it names read too).
    public static func load(path: String) throws(KubeError) -> KubeConfig {
        let text = try readFile(path)
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        return try parse(text, directory: directory)
    }

    /// The in-cluster configuration: `KUBERNETES_SERVICE_HOST`/`_PORT` and the service account's
    /// `token`, `ca.crt` and `namespace` in `directory`.
    public static func inCluster(
        environment: [String: String], directory: String = "/var/run/secrets/kubernetes.io/serviceaccount"
    ) throws(KubeError) -> KubeConfig {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
            let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty
        else { throw KubeError("not in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set") }
        let token = try readFile(directory + "/token").trimmingASCIIWhitespace()
        let ca = try readFile(directory + "/ca.crt")
        let namespace = (try? readFile(directory + "/namespace"))?.trimmingASCIIWhitespace()
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return KubeConfig(
            server: "https://\(hostPart):\(port)", caPEM: ca, token: token,
            namespace: (namespace?.isEmpty ?? true) ? "default" : namespace!)
    }

    /// Parses kubeconfig text (YAML subset or JSON); `directory` resolves relative file paths.
    public static func parse(_ text: String, directory: String = ".") throws(KubeError) -> KubeConfig {
        let root: JSONValue
        if text.drop(while: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }).first == "{" {
            do { root = try JSONValue.parse(Array(text.utf8)) } catch { throw KubeError("kubeconfig: \(error)") }
        } else {
            root = try MiniYAML.parse(text)
        }
        let currentContext = root["current-context"]?.stringValue
        func named(_ list: String, _ name: String?, _ inner: String) throws(KubeError) -> JSONValue {
            guard case .array(let items)? = root[list] else { throw KubeError("kubeconfig: no \(list)") }
            let chosen =
                name.flatMap { n in items.first { $0["name"]?.stringValue == n } }
                ?? (items.count == 1 ? items[0] : nil)
            guard let item = chosen, let value = item[inner] else {
                throw KubeError("kubeconfig: \(list) has no entry \(name ?? "(none chosen)")")
            }
            return value
        }
        let context = try named("contexts", currentContext, "context")
        let cluster = try named("clusters", context["cluster"]?.stringValue, "cluster")
        let user: JSONValue? = root["users"] == nil ? nil : try named("users", context["user"]?.stringValue, "user")
        guard let server = cluster["server"]?.stringValue, !server.isEmpty else {
            throw KubeError("kubeconfig: the cluster has no server")
        }
        var ca: String?
        if let data = cluster["certificate-authority-data"]?.stringValue {
            guard let bytes = Base64.decode(data) else {
                throw KubeError("kubeconfig: certificate-authority-data is not base64")
            }
            ca = String(decoding: bytes, as: UTF8.self)
        } else if let file = cluster["certificate-authority"]?.stringValue {
            ca = try readFile(resolve(file, directory))
        }
        var token: String?
        if let user {
            if user["client-certificate-data"] != nil || user["client-certificate"] != nil || user["exec"] != nil
                || user["auth-provider"] != nil, user["token"] == nil, user["tokenFile"] == nil
            {
                throw KubeError(
                    "kubeconfig: only token authentication is supported (not client certificates or exec plugins)")
            }
            if let value = user["token"]?.stringValue {
                token = value
            } else if let file = user["tokenFile"]?.stringValue {
                token = try readFile(resolve(file, directory)).trimmingASCIIWhitespace()
            }
        }
        var trimmed = server
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        let namespace = context["namespace"]?.stringValue ?? "default"
        let config = KubeConfig(
            server: trimmed, caPEM: ca, token: token, namespace: namespace.isEmpty ? "default" : namespace)
        _ = try config.hostAndPort()
        return config
    }

    private static func resolve(_ path: String, _ directory: String) -> String {
        path.hasPrefix("/") ? path : directory + "/" + path
    }
}

/// A Kubernetes client error, with the message to log.
public struct KubeError: Error, Equatable, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Reads a whole file as UTF-8 text.
func readFile(_ path: String) throws(KubeError) -> String {
    guard let file = fopen(path, "rb") else {
        throw KubeError("cannot read \(path): \(String(cString: strerror(errno)))")
    }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buffer, 1, buffer.count, file)
        if n > 0 { bytes.append(contentsOf: buffer[0..<n]) }
        if n < buffer.count { break }
    }
    return String(decoding: bytes, as: UTF8.self)
}

extension String {
    func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}

extension JSONValue {
    /// The member `key` of an object (the last one when duplicated), nil otherwise.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.0 == key }?.1
    }

    /// The text of a string, or of a number or boolean scalar.
    public var stringValue: String? {
        switch self {
        case .string(let s), .number(let s): return s
        case .bool(let b): return b ? "true" : "false"
        default: return nil
        }
    }
}

/// Standard base64 (RFC 4648, padding optional, whitespace skipped).
enum Base64 {
    static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var accumulator: UInt32 = 0
        var bits = 0
        for c in text.utf8 {
            let v: UInt8
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = c - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = c - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"): v = 62
            case UInt8(ascii: "/"): v = 63
            case UInt8(ascii: "="), UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                continue
            default: return nil
            }
            accumulator = (accumulator << 6) | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((accumulator >> UInt32(bits)) & 0xFF))
            }
        }
        return out
    }
}

/// The block-YAML subset of kubeconfig files, to JSONValue (scalars become strings).
enum MiniYAML {
    private struct Line {
        var indent: Int
        var text: Substring  // without indentation and comment
        var number: Int
    }

    static func parse(_ text: String) throws(KubeError) -> JSONValue {
        var lines: [Line] = []
        var number = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            var line = raw
            if line.hasSuffix("\r") { line = line.dropLast() }
            let indent = line.prefix { $0 == " " }.count
            var body = line.dropFirst(indent)
            if body.hasPrefix("\t") { throw KubeError("kubeconfig line \(number): tab indentation") }
            body = stripComment(body)
            while body.last == " " { body = body.dropLast() }
            if body.isEmpty || body == "---" { continue }
            lines.append(Line(indent: indent, text: body, number: number))
        }
        var index = 0
        guard !lines.isEmpty else { return .object([]) }
        let value = try parseBlock(&lines, &index, indent: lines[0].indent)
        if index < lines.count { throw KubeError("kubeconfig line \(lines[index].number): unexpected indentation") }
        return value
    }

    private static func stripComment(_ s: Substring) -> Substring {
        var quote: Character?
        var previous: Character = " "
        for i in s.indices {
            let c = s[i]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == "#" && (previous == " " || i == s.startIndex) {
                return s[..<i]
            }
            previous = c
        }
        return s
    }

    private static func parseBlock(_ lines: inout [Line], _ index: inout Int, indent: Int) throws(KubeError)
        -> JSONValue
    {
        let first = lines[index]
        if first.text == "-" || first.text.hasPrefix("- ") {
            var items: [JSONValue] = []
            while index < lines.count, lines[index].indent == indent,
                lines[index].text == "-" || lines[index].text.hasPrefix("- ")
            {
                let line = lines[index]
                let rest = line.text.dropFirst(1).drop { $0 == " " }
                if rest.isEmpty {
                    index += 1
                    if index < lines.count, lines[index].indent > indent {
                        items.append(try parseBlock(&lines, &index, indent: lines[index].indent))
                    } else {
                        items.append(.null)
                    }
                } else {
                    // "- key: value" opens a mapping whose keys sit at the column after "- ".
                    let column = indent + (line.text.count - rest.count)
                    lines[index] = Line(indent: column, text: rest, number: line.number)
                    items.append(try parseBlock(&lines, &index, indent: column))
                }
            }
            return .array(items)
        }
        if splitKey(first.text) == nil {
            index += 1
            return try scalar(first.text, line: first.number)
        }
        var members: [(String, JSONValue)] = []
        while index < lines.count, lines[index].indent == indent {
            let line = lines[index]
            guard let (key, rest) = splitKey(line.text) else {
                throw KubeError("kubeconfig line \(line.number): expected `key: value`")
            }
            index += 1
            if rest.isEmpty {
                if index < lines.count,
                    lines[index].indent > indent
                        || (lines[index].indent == indent && lines[index].text.hasPrefix("- "))
                {
                    members.append((key, try parseBlock(&lines, &index, indent: lines[index].indent)))
                } else {
                    members.append((key, .null))
                }
            } else {
                members.append((key, try scalar(rest, line: line.number)))
            }
        }
        if index < lines.count, lines[index].indent > indent {
            throw KubeError("kubeconfig line \(lines[index].number): unexpected indentation")
        }
        return .object(members)
    }

    /// `key: rest` (rest may be empty), the key unquoted; nil when the line is no mapping entry.
    private static func splitKey(_ text: Substring) -> (String, Substring)? {
        var keyEnd: Substring.Index
        var key: String
        if let q = text.first, q == "\"" || q == "'" {
            guard let close = text.dropFirst().firstIndex(of: q) else { return nil }
            key = String(text[text.index(after: text.startIndex)..<close])
            keyEnd = text.index(after: close)
            guard text[keyEnd...].hasPrefix(":") else { return nil }
        } else {
            var found: Substring.Index?
            var i = text.startIndex
            while i < text.endIndex {
                if text[i] == ":" {
                    let next = text.index(after: i)
                    if next == text.endIndex || text[next] == " " {
                        found = i
                        break
                    }
                }
                i = text.index(after: i)
            }
            guard let colon = found else { return nil }
            key = String(text[..<colon])
            keyEnd = colon
        }
        let rest = text[text.index(after: keyEnd)...].drop { $0 == " " }
        return (key, rest)
    }

    private static func scalar(_ text: Substring, line: Int) throws(KubeError) -> JSONValue {
        if text == "{}" { return .object([]) }
        if text == "[]" { return .array([]) }
        if text == "~" || text == "null" { return .null }
        if text.first == "{" || text.first == "[" || text.first == "|" || text.first == ">" || text.first == "&"
            || text.first == "*"
        {
            throw KubeError("kubeconfig line \(line): flow collections, block scalars and anchors are not supported")
        }
        if text.first == "'" {
            guard text.count >= 2, text.last == "'" else { throw KubeError("kubeconfig line \(line): unclosed quote") }
            return .string(String(text.dropFirst().dropLast()).replacingAll("''", with: "'"))
        }
        if text.first == "\"" {
            guard text.count >= 2, text.last == "\"" else { throw KubeError("kubeconfig line \(line): unclosed quote") }
            do {
                return try JSONValue.parse(Array(text.utf8))
            } catch {
                throw KubeError("kubeconfig line \(line): bad double-quoted string")
            }
        }
        return .string(String(text))
    }
}

extension String {
    fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
        var result = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
