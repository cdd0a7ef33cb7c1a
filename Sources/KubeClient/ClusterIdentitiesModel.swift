import SluiceJSON
import SluiceModel

/// The pure rules of cluster-wide identities (`ClusterIdentities` does the I/O): how a label set
/// is written as a `SluiceIdentity` object and read back, which numbers it tries, and when an
/// identity is garbage.
///
/// - **Numbers** are Cilium's cluster-local range, 256...65535 (reserved identities below 256 and
///   node-local CIDR/FQDN identities from 1<<24 stay per node, `Policy.IdentityAllocator`).
/// - **Probing**: a label set tries the numbers `256 + (hash + i) mod 65280` for i = 0, 1, …
///   (FNV-1a of the canonical key). Two nodes allocating the same labels at once therefore try the
///   same number first: one create wins, the other gets 409 AlreadyExists, reads the object, finds
///   its labels and uses it. Duplicates (the same labels under two numbers) need the nodes' views
///   of taken numbers to differ (a number freed by GC between two attempts); then the **lowest
///   number wins** everywhere (`lookup` answers the lowest; a creator that finds a lower one right
///   after its create deletes its own).
/// - **Usage**: every node that uses an identity stamps the annotation `node.sluice.io/<node>`
///   with its wall-clock time in Unix milliseconds, and renews it while it uses the identity.
/// - **GC**: an identity whose newest stamp (or, without any, the time this node first saw it) is
///   older than the grace period is deleted, by any node, with the resourceVersion it was judged
///   at as a precondition, so a renewal that lands first keeps it.
public enum ClusterIdentitiesModel {
    /// Cilium's cluster-local identity range.
    public static let range: ClosedRange<UInt32> = 256...65535
    public static let group = "sluice.io"
    public static let apiVersion = "sluice.io/v1alpha1"
    public static let kind = "SluiceIdentity"
    public static let resourcePath = "/apis/sluice.io/v1alpha1/sluiceidentities"
    /// The metadata label holding `labelsHash`, for a labelSelector list of one label set's objects.
    public static let hashLabel = "sluice.io/labels-hash"
    /// A node's usage stamp: this prefix and the node name.
    public static let holderPrefix = "node.sluice.io/"

    /// One `SluiceIdentity` as read from the API.
    public struct Entry: Equatable, Sendable {
        public var number: UInt32
        /// `canonicalKey` of the labels.
        public var key: String
        public var labels: [String]
        /// Node name → last stamp (Unix ms).
        public var holders: [String: Int64]
        public var resourceVersion: String?
        public var uid: String?
    }

    /// `source:key` and value of one label given as text (`k8s:app=web` → (`k8s:app`, `web`);
    /// `reserved:world` → (`reserved:world`, "")).
    static func split(_ label: String) -> (String, String) {
        guard let eq = label.firstIndex(of: "=") else { return (label, "") }
        return (String(label[..<eq]), String(label[label.index(after: eq)...]))
    }

    /// The text of a label from its `security-labels` member, as `SluiceModel.Label` prints it:
    /// a reserved label without value has no `=`.
    static func join(_ key: String, _ value: String) -> String {
        value.isEmpty && (key.hasPrefix("reserved:") || !key.contains(":")) ? key : key + "=" + value
    }

    /// The labels in the one form both directions agree on, sorted, duplicates dropped.
    public static func normalized(_ labels: [String]) -> [String] {
        Set(
            labels.map { label in
                let (k, v) = split(label)
                return join(k, v)
            }
        ).sorted()
    }

    /// Sorted, normalized labels joined by `;` (as `IdentityAllocator.state` keys them).
    public static func canonicalKey(_ labels: [String]) -> String { normalized(labels).joined(separator: ";") }

    /// 16 lower-case hex digits of the key's 64-bit FNV-1a hash (a valid label value).
    public static func labelsHash(_ key: String) -> String { FNV1a.hex(FNV1a.hash64(key.utf8)) }

    /// The `attempt`th number the key tries.
    public static func probe(_ key: String, attempt: Int) -> UInt32 {
        let size = UInt64(range.count)
        return range.lowerBound + UInt32((FNV1a.hash64(key.utf8) % size + UInt64(attempt)) % size)
    }

    /// The object that allocates `number` to `labels`, stamped as used by `node` at `nowMillis`.
    public static func object(number: UInt32, labels: [String], node: String, nowMillis: Int64) -> JSONValue {
        let sorted = normalized(labels)
        var metaLabels: [(String, JSONValue)] = [(hashLabel, .string(labelsHash(sorted.joined(separator: ";"))))]
        var security: [(String, JSONValue)] = []
        for label in sorted {
            let (k, v) = split(label)
            security.append((k, .string(v)))
            // The CRD's printer column; only when the value is a valid label value.
            if k == "k8s:" + Label.namespaceKey, v.utf8.count <= 63 {
                metaLabels.append((Label.namespaceKey, .string(v)))
            }
        }
        return .object([
            ("apiVersion", .string(apiVersion)),
            ("kind", .string(kind)),
            (
                "metadata",
                .object([
                    ("name", .string(String(number))),
                    ("labels", .object(metaLabels)),
                    ("annotations", .object([(holderPrefix + node, .string(String(nowMillis)))])),
                ])
            ),
            ("security-labels", .object(security)),
        ])
    }

    /// The merge patch that stamps `node`'s use at `nowMillis`.
    public static func stampPatch(node: String, nowMillis: Int64) -> JSONValue {
        .object([
            ("metadata", .object([("annotations", .object([(holderPrefix + node, .string(String(nowMillis)))]))]))
        ])
    }

    /// DeleteOptions with a resourceVersion precondition.
    public static func deleteOptions(resourceVersion: String?, uid: String? = nil) -> JSONValue {
        var preconditions: [(String, JSONValue)] = []
        if let resourceVersion { preconditions.append(("resourceVersion", .string(resourceVersion))) }
        if let uid { preconditions.append(("uid", .string(uid))) }
        return .object([
            ("apiVersion", .string("v1")), ("kind", .string("DeleteOptions")),
            ("preconditions", .object(preconditions)),
        ])
    }

    /// An API object read back; nil when it is not a well-formed identity (name not a number in
    /// `range`, no `security-labels` object of strings), which callers skip.
    public static func entry(_ object: JSONValue) -> Entry? {
        guard let name = object["metadata"]?["name"]?.stringValue, let number = UInt32(name), range.contains(number),
            String(number) == name, case .object(let members)? = object["security-labels"]
        else { return nil }
        var labels: [String] = []
        for (k, v) in members {
            guard case .string(let value) = v else { return nil }
            labels.append(join(k, value))
        }
        var holders: [String: Int64] = [:]
        if case .object(let annotations)? = object["metadata"]?["annotations"] {
            for (k, v) in annotations where k.hasPrefix(holderPrefix) {
                if let text = v.stringValue, let stamp = Int64(text) {
                    holders[String(k.dropFirst(holderPrefix.count))] = stamp
                }
            }
        }
        let sorted = normalized(labels)
        return Entry(
            number: number, key: sorted.joined(separator: ";"), labels: sorted, holders: holders,
            resourceVersion: object["metadata"]?["resourceVersion"]?.stringValue,
            uid: object["metadata"]?["uid"]?.stringValue)
    }

    /// Whether an identity is garbage at `nowMillis`: its newest stamp, or without any the time
    /// this node first saw it, is at least `graceMillis` old.
    public static func isGarbage(_ entry: Entry, firstSeenMillis: Int64, nowMillis: Int64, graceMillis: Int64) -> Bool {
        let lastUse = entry.holders.values.max() ?? firstSeenMillis
        return nowMillis - lastUse >= graceMillis
    }
}
