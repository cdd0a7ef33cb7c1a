import Policy
import SluiceAPI
import SluiceJSON

/// Decodes a control request. An apply's documents (2 MB of JSON for 10,000 HTTP rules) are read
/// straight into node trees (`PolicyNode.nodes(json:at:)`) and the rest of the request, with
/// `null` in their place, by SluiceJSON: the whole request as a `JSONValue` tree was about 16 MB
/// at once, the largest part of the agent's peak during an apply. Whenever that path does not
/// take a request (no top-level `documents`, an escape in a key, a form the node reader leaves to
/// SluiceJSON, anything malformed), SluiceJSON decodes all of it, so the request or the error is
/// the same either way (`ControlRequestReaderTests`).
enum ControlRequestReader {
    static func decode(_ bytes: [UInt8]) throws(JSONError) -> ControlRequest {
        try decodeLocatingDocuments(bytes).request
    }

    /// `decode`, and where in `bytes` the documents' JSON array is when the node reader took
    /// them (nil otherwise): the agent stores those bytes as they are (`PolicyStore.prepare`).
    static func decodeLocatingDocuments(_ bytes: [UInt8]) throws(JSONError) -> (
        request: ControlRequest, documents: Range<Int>?
    ) {
        if let (request, range) = directLocating(bytes) { return (request, range) }
        return (try JSON.decode(ControlRequest.self, from: bytes), nil)
    }

    /// The request through the node reader, or nil when that path does not take it.
    static func direct(_ bytes: [UInt8]) -> ControlRequest? {
        directLocating(bytes)?.request
    }

    private static func directLocating(_ bytes: [UInt8]) -> (request: ControlRequest, documents: Range<Int>)? {
        let found = bytes.withUnsafeBytes { raw -> (documents: [PolicyNode], range: Range<Int>)? in
            guard let start = documentsValueStart(raw) else { return nil }
            var end = start
            guard let documents = PolicyNode.nodes(json: raw, at: &end) else { return nil }
            return (documents, start..<end)
        }
        guard let found else { return nil }
        var rest = Array(bytes[..<found.range.lowerBound])
        rest.reserveCapacity(rest.count + 4 + bytes.count - found.range.upperBound)
        rest.append(contentsOf: "null".utf8)
        rest.append(contentsOf: bytes[found.range.upperBound...])
        guard var request = try? JSON.decode(ControlRequest.self, from: rest), request.documents == nil else {
            return nil
        }
        request.documents = found.documents
        return (request, found.range)
    }

    /// Where the value of the top-level member `documents` starts, when the request is an object
    /// with exactly one such member and no key with an escape; nil otherwise. Values are skipped,
    /// not validated: SluiceJSON reads everything but the documents afterwards.
    static func documentsValueStart(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var index = 0
        func skipWhitespace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }
        /// Past a string whose opening quote is at `index`; false when it does not end.
        func skipString() -> Bool {
            index += 1
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\""):
                    index += 1
                    return true
                case UInt8(ascii: "\\"): index += 2
                default: index += 1
                }
            }
            return false
        }
        func skipValue() -> Bool {
            skipWhitespace()
            guard index < bytes.count else { return false }
            switch bytes[index] {
            case UInt8(ascii: "\""):
                return skipString()
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                var depth = 0
                while index < bytes.count {
                    switch bytes[index] {
                    case UInt8(ascii: "\""):
                        guard skipString() else { return false }
                        continue
                    case UInt8(ascii: "["), UInt8(ascii: "{"): depth += 1
                    case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
                    default: break
                    }
                    index += 1
                    if depth == 0 { return true }
                }
                return false
            default:
                while index < bytes.count,
                    ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]")].contains(bytes[index])
                {
                    index += 1
                }
                return true
            }
        }
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return nil }
        index += 1
        var start: Int?
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            let keyStart = index + 1
            guard skipString() else { return nil }
            let key = UnsafeRawBufferPointer(rebasing: bytes[keyStart..<index - 1])
            if key.contains(UInt8(ascii: "\\")) { return nil }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            skipWhitespace()
            if key.elementsEqual("documents".utf8) {
                guard start == nil else { return nil }
                start = index
            }
            guard skipValue() else { return nil }
            skipWhitespace()
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: "}") { return start }
            guard bytes[index] == UInt8(ascii: ",") else { return nil }
            index += 1
        }
    }
}
