import SluiceJSON

/// HTTP/1.1 chunked transfer decoding, fed bytes as they arrive in any split: `feed` returns the
/// body bytes decoded so far. Chunk extensions are ignored; trailers after the last chunk are
/// skipped. A malformed size line is an error (the connection is then dropped and reopened).
public struct ChunkedDecoder: Sendable {
    private enum State: Sendable {
        case size  // reading the hex size line
        case data(Int)  // this many data bytes still to come
        case dataEnd  // the CRLF after a chunk's data
        case trailer  // after the 0 chunk: lines until an empty one
        case done
    }

    private var state = State.size
    private var line: [UInt8] = []
    public private(set) var isComplete = false

    public init() {}

    /// Decodes `bytes`; returns the body bytes they complete.
    public mutating func feed(_ bytes: some Collection<UInt8>) throws(KubeError) -> [UInt8] {
        var out: [UInt8] = []
        var i = bytes.startIndex
        while i != bytes.endIndex {
            switch state {
            case .size, .trailer, .dataEnd:
                let b = bytes[i]
                i = bytes.index(after: i)
                if b != UInt8(ascii: "\n") {
                    line.append(b)
                    if line.count > 1024 { throw KubeError("chunked body: line too long") }
                    continue
                }
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                let text = line
                line.removeAll(keepingCapacity: true)
                switch state {
                case .dataEnd:
                    guard text.isEmpty else { throw KubeError("chunked body: no CRLF after a chunk") }
                    state = .size
                case .trailer:
                    if text.isEmpty {
                        state = .done
                        isComplete = true
                    }
                default:
                    let hex = text.prefix { $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: " ") }
                    guard !hex.isEmpty, hex.count <= 15,
                        let size = Int(String(decoding: hex, as: UTF8.self), radix: 16)
                    else { throw KubeError("chunked body: bad chunk size") }
                    state = size == 0 ? .trailer : .data(size)
                }
            case .data(let remaining):
                let available = bytes.distance(from: i, to: bytes.endIndex)
                let n = min(remaining, available)
                let end = bytes.index(i, offsetBy: n)
                out.append(contentsOf: bytes[i..<end])
                i = end
                state = remaining == n ? .dataEnd : .data(remaining - n)
            case .done:
                return out
            }
        }
        return out
    }
}

/// Splits a byte stream into newline-terminated lines (the watch stream's one JSON event per
/// line), whatever the chunk boundaries. A line longer than `maximumLine` is an error.
public struct LineSplitter: Sendable {
    private var pending: [UInt8] = []
    public var maximumLine: Int

    public init(maximumLine: Int = 64 << 20) { self.maximumLine = maximumLine }

    /// The complete lines `bytes` finish (without their newline; empty lines skipped).
    public mutating func feed(_ bytes: [UInt8]) throws(KubeError) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var start = 0
        for (i, b) in bytes.enumerated() where b == UInt8(ascii: "\n") {
            pending.append(contentsOf: bytes[start..<i])
            start = i + 1
            if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
            if !pending.isEmpty { lines.append(pending) }
            pending.removeAll(keepingCapacity: true)
        }
        pending.append(contentsOf: bytes[start...])
        if pending.count > maximumLine { throw KubeError("watch event longer than \(maximumLine) bytes") }
        return lines
    }
}

/// One event of a watch stream.
public enum WatchEvent: Equatable, Sendable {
    case added(JSONValue)
    case modified(JSONValue)
    case deleted(JSONValue)
    /// Only `metadata.resourceVersion` is meaningful.
    case bookmark(resourceVersion: String)
    /// A `Status` object: `code` 410 means the position is too old (relist).
    case error(code: Int, message: String)

    /// The event with `body` applied to its object (bookmarks and errors unchanged).
    public func mapObject(_ body: (JSONValue) -> JSONValue) -> WatchEvent {
        switch self {
        case .added(let object): return .added(body(object))
        case .modified(let object): return .modified(body(object))
        case .deleted(let object): return .deleted(body(object))
        case .bookmark, .error: return self
        }
    }

    /// Parses one JSON line `{"type": ..., "object": {...}}`.
    public static func parse(_ line: [UInt8]) throws(KubeError) -> WatchEvent {
        let value: JSONValue
        do { value = try JSONValue.parse(line) } catch { throw KubeError("watch event: \(error)") }
        guard let type = value["type"]?.stringValue, let object = value["object"], case .object = object else {
            throw KubeError("watch event without type or object")
        }
        switch type {
        case "ADDED": return .added(object)
        case "MODIFIED": return .modified(object)
        case "DELETED": return .deleted(object)
        case "BOOKMARK":
            guard let rv = object["metadata"]?["resourceVersion"]?.stringValue else {
                throw KubeError("BOOKMARK without metadata.resourceVersion")
            }
            return .bookmark(resourceVersion: rv)
        case "ERROR":
            let code = object["code"]?.stringValue.flatMap { Int($0) } ?? 0
            return .error(code: code, message: object["message"]?.stringValue ?? "")
        default:
            throw KubeError("watch event of unknown type \(type)")
        }
    }
}
