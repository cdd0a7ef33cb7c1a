import Glibc
import Policy
import SluiceJSON
import SluiceModel

/// The core/v1 Event an agent writes when it rejects a policy object from the API (the issue's
/// "reported: an event"), built as client-go's legacy event recorder builds one, so `kubectl get
/// events` and `kubectl describe` show it as they show the kubelet's:
///
/// - `type: Warning`, `reason: PolicyInvalid`, `message`: the validation error naming the field
///   (`spec.ingress[0]…path: …`);
/// - `involvedObject`: the policy's apiVersion, kind, namespace, name, uid and resourceVersion;
/// - `source: {component: sluice-agent, host: <node>}`, `reportingComponent: sluice-agent`,
///   `reportingInstance: <node>`;
/// - `count`, `firstTimestamp`, `lastTimestamp` (the legacy series; no `eventTime`);
/// - in the policy's namespace, or `default` for a cluster-wide one (as client-go and the API
///   server's validation want).
///
/// The name is `<policy name>.<16 hex digits>`, the digits a hash of the node, the object's
/// kind, namespace, name, uid, resourceVersion and the message: one event per node per object
/// version, the same name after an agent restart (so a restart re-reporting the same version
/// gets 409 AlreadyExists instead of a second event).
public enum PolicyEvent {
    public static let reason = "PolicyInvalid"
    public static let component = "sluice-agent"
    /// Messages are cut to this many bytes (the events.k8s.io note limit).
    public static let messageLimit = 1024

    /// What an event is about (core/v1 ObjectReference), read from the API object.
    public struct ObjectReference: Equatable, Sendable {
        public var apiVersion: String
        public var kind: String
        public var namespace: String
        public var name: String
        public var uid: String
        public var resourceVersion: String
    }
}

extension PolicyEvent.ObjectReference {
    /// The reference of an API object (missing fields are empty).
    public init(_ object: JSONValue) {
        let meta = object["metadata"]
        self.init(
            apiVersion: object["apiVersion"]?.stringValue ?? "", kind: object["kind"]?.stringValue ?? "",
            namespace: meta?["namespace"]?.stringValue ?? "", name: meta?["name"]?.stringValue ?? "",
            uid: meta?["uid"]?.stringValue ?? "", resourceVersion: meta?["resourceVersion"]?.stringValue ?? "")
    }

    var json: JSONValue {
        var members: [(String, JSONValue)] = [("apiVersion", .string(apiVersion)), ("kind", .string(kind))]
        if !namespace.isEmpty { members.append(("namespace", .string(namespace))) }
        members += [
            ("name", .string(name)), ("uid", .string(uid)), ("resourceVersion", .string(resourceVersion)),
        ]
        return .object(members)
    }
}

extension PolicyEvent {
    /// The event message of a validation error: `field: why` (the file and position a policy
    /// file's error starts with mean nothing for an API object).
    public static func message(of error: any Error) -> String {
        guard let error = error as? LoadError else { return String(describing: error) }
        return error.field.isEmpty ? error.message : error.field + ": " + error.message
    }

    /// The namespace an event about `object` lives in.
    public static func namespace(of object: ObjectReference) -> String {
        object.namespace.isEmpty ? "default" : object.namespace
    }

    /// The collection path events about `object` are created in.
    public static func path(of object: ObjectReference) -> String {
        "/api/v1/namespaces/\(namespace(of: object))/events"
    }

    /// The event's name (see the type's comment).
    public static func name(of object: ObjectReference, message: String, node: String) -> String {
        var hash = FNV1a.basis64
        for part in [node, object.kind, object.namespace, object.name, object.uid, object.resourceVersion, message] {
            hash = FNV1a.hash64(part.utf8 + [0], continuing: hash)
        }
        let suffix = "." + FNV1a.hex(hash)
        // A name is at most 253 characters (a DNS subdomain); policy names already are one.
        return String(object.name.prefix(253 - suffix.count)) + suffix
    }

    /// `message` cut to `messageLimit` bytes at a character boundary.
    public static func truncated(_ message: String) -> String {
        guard message.utf8.count > messageLimit else { return message }
        var out = ""
        var bytes = 0
        for character in message {
            let size = character.utf8.count
            if bytes + size > messageLimit - 3 { break }
            out.append(character)
            bytes += size
        }
        return out + "..."
    }

    /// The Event object for a first report, `count` 1 at `time` (RFC 3339).
    public static func event(about object: ObjectReference, message: String, node: String, time: String) -> JSONValue {
        let text = truncated(message)
        return .object([
            ("apiVersion", .string("v1")), ("kind", .string("Event")),
            (
                "metadata",
                .object([
                    ("name", .string(name(of: object, message: text, node: node))),
                    ("namespace", .string(namespace(of: object))),
                ])
            ),
            ("involvedObject", object.json),
            ("reason", .string(reason)), ("message", .string(text)), ("type", .string("Warning")),
            ("source", .object([("component", .string(component)), ("host", .string(node))])),
            ("firstTimestamp", .string(time)), ("lastTimestamp", .string(time)), ("count", .number("1")),
            ("reportingComponent", .string(component)), ("reportingInstance", .string(node)),
        ])
    }

    /// The strategic-merge patch of a repeat: the new count and last time (client-go's).
    public static func repeatPatch(count: Int, time: String) -> JSONValue {
        .object([("count", .number(String(count))), ("lastTimestamp", .string(time))])
    }

    /// `unixSeconds` as RFC 3339 in UTC (`2026-12-05T04:30:00Z`).
    public static func timestamp(unixSeconds: Int) -> String {
        var t = time_t(unixSeconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}
