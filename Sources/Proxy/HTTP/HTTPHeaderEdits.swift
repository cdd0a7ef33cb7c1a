import Flows
import HTTP2
import Policy
import SluiceModel

/// What the `headerMatches` mismatch actions of the matching rules do to one request, worked out
/// as cilium/proxy's `HeaderMatches` runs them: in rule order (egress side first, then ingress:
/// the second proxy sees what the first forwarded), each action judged against the request as
/// the actions before it left it.
/// - LOG: nothing changes; the header is reported missing.
/// - ADD: the expected value is added as one more field.
/// - DELETE: a header present with another value is removed (a presence-only check does nothing,
///   and neither does an absent header).
/// - REPLACE: every field of the name is replaced by one with the expected value.
///
/// Built only when a matching rule carries such actions (`HTTPPortPolicy.hasHeaderActions`), so
/// the common request allocates nothing here. Applied to the forwarded HTTP/1 head
/// (`applied(toHead:)`) or HTTP/2 header block (`applied(to:)`); the record keeps which actions
/// fired per side (`Flow.HeaderActions`).
struct HTTPHeaderEdits: Equatable {
    /// The changes to one header name.
    struct Edit: Equatable {
        /// The name as the rule spells it (added fields use it; HTTP/2 lower-cases it).
        var name: String
        /// The received fields of the name are dropped.
        var removeReceived = false
        /// Values added (after the received fields, or in their place).
        var added: [String] = []
    }

    private(set) var edits: [Edit] = []

    /// No action changes the request.
    var isEmpty: Bool { edits.allSatisfy { !$0.removeReceived && $0.added.isEmpty } }

    /// Forgets every edit (before the next request is decided); touches nothing when there is none.
    mutating func removeAll() {
        if !edits.isEmpty { edits.removeAll() }
    }

    /// Runs one side's `actions` (in rule order) against `request` as the edits so far leave it;
    /// returns the actions that fired.
    mutating func run<R: HTTPRequestFields>(_ actions: [HTTPHeaderAction], on request: R) -> Flow.HeaderActions {
        var fired: Flow.HeaderActions = []
        for action in actions {
            let index = edits.firstIndex { Self.sameName($0.name, action.name) }
            let (present, matching) = state(of: action, request, index.map { edits[$0] })
            if present && matching { continue }
            switch action.action {
            case .log:
                fired.insert(.log)
            case .add:
                update(index, action.name) { $0.added.append(action.value ?? "") }
                fired.insert(.add)
            case .delete:
                guard present, action.value != nil else { continue }
                update(index, action.name) {
                    $0.removeReceived = true
                    $0.added.removeAll()
                }
                fired.insert(.delete)
            case .replace:
                update(index, action.name) {
                    $0.removeReceived = true
                    $0.added = [action.value ?? ""]
                }
                fired.insert(.replace)
            }
        }
        return fired
    }

    private mutating func update(_ index: Int?, _ name: String, _ change: (inout Edit) -> Void) {
        if let index {
            change(&edits[index])
        } else {
            var edit = Edit(name: name)
            change(&edit)
            edits.append(edit)
        }
    }

    /// Whether the header is present and whether a field carries the expected value (any value
    /// when the action has none), counting the edits made so far.
    private func state<R: HTTPRequestFields>(
        of action: HTTPHeaderAction, _ request: R, _ edit: Edit?
    ) -> (present: Bool, matching: Bool) {
        var present = false
        var matching = false
        for value in edit?.added ?? [] {
            present = true
            if action.value.map({ $0 == value }) ?? true { matching = true }
        }
        if edit?.removeReceived != true {
            request.forEachHeader { name, value in
                guard Self.sameName(name, action.name) else { return true }
                present = true
                matching = action.value.map { value.elementsEqual($0.utf8) } ?? true
                return !matching
            }
        }
        return (present, matching)
    }

    private static func sameName(_ a: String, _ b: String) -> Bool {
        a.utf8.elementsEqual(b.utf8) { ASCII.lower($0) == ASCII.lower($1) }
    }

    private static func sameName(_ bytes: UnsafeRawBufferPointer, _ text: String) -> Bool {
        bytes.elementsEqual(text.utf8) { ASCII.lower($0) == ASCII.lower($1) }
    }

    /// Whether a received field named `name` is dropped.
    private func drops(_ name: UnsafeRawBufferPointer) -> Bool {
        edits.contains { $0.removeReceived && Self.sameName(name, $0.name) }
    }

    // MARK: applying

    /// An HTTP/1 head (request line, fields, the empty line) with the edits made: dropped fields
    /// left out, added ones before the empty line as `Name: value`.
    func applied(toHead head: UnsafeRawBufferPointer) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(head.count + 64)
        var lineStart = 0
        var first = true
        while lineStart < head.count {
            var lineEnd = lineStart
            while lineEnd < head.count && head[lineEnd] != 0x0A { lineEnd += 1 }
            let next = min(lineEnd + 1, head.count)
            let line = UnsafeRawBufferPointer(rebasing: head[lineStart..<next])
            let isEnd = line.count <= 2 && (line.first == 0x0D || line.first == 0x0A)
            if isEnd {
                for edit in edits {
                    for value in edit.added {
                        out.append(contentsOf: edit.name.utf8)
                        out.append(contentsOf: [0x3A, 0x20])
                        out.append(contentsOf: value.utf8)
                        out.append(contentsOf: [0x0D, 0x0A])
                    }
                }
                out.append(contentsOf: head[lineStart...])
                return out
            }
            if first || !drops(Self.fieldName(line)) { out.append(contentsOf: line) }
            first = false
            lineStart = next
        }
        return out
    }

    private static func fieldName(_ line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        let colon = line.firstIndex(of: 0x3A) ?? line.count
        return UnsafeRawBufferPointer(rebasing: line[..<colon])
    }

    /// An HTTP/2 header block with the edits made (added names lower-cased, RFC 9113 8.2.1).
    func applied(to block: HTTP2HeaderBlock) -> HTTP2HeaderBlock {
        var out = block.filtered { name, _ in
            name.withUnsafeBytes { drops($0) }
        }
        for edit in edits {
            let name = Array(edit.name.utf8).map(ASCII.lower)
            for value in edit.added { out.append(name: name, value: Array(value.utf8)) }
        }
        return out
    }
}
