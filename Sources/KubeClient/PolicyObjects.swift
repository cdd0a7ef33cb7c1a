import Policy
import SluiceJSON

/// The policy kinds the agent watches and how their objects become the policy model's input:
/// one `PolicyNode` document each, as `sluice apply` sends (the CLI turns YAML into the same
/// trees), so the agent's `PolicyTransaction` takes them unchanged.
public enum PolicyObjects {
    /// The cluster-wide list/watch paths of the three kinds.
    public static let resourcePaths: [(kind: PolicyKind, path: String)] = [
        (.ciliumNetworkPolicy, "/apis/cilium.io/v2/ciliumnetworkpolicies"),
        (.ciliumClusterwideNetworkPolicy, "/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies"),
        (.networkPolicy, "/apis/networking.k8s.io/v1/networkpolicies"),
    ]

    /// The document of one API object: `apiVersion`, `kind`, `metadata.name`/`namespace`, `spec`
    /// and `specs` (status, managed fields and the rest of the metadata are the server's, not the
    /// policy's). JSON strings become quoted scalars (so `"null"`, `"true"`, `"80"` stay strings),
    /// numbers and booleans plain scalars, null a plain `null`. The file name for errors is
    /// `k8s:<kind>/<namespace>/<name>`.
    public static func document(_ object: JSONValue) -> PolicyNode {
        var pairs: [(key: PolicyNode, value: PolicyNode)] = []
        guard case .object(let members) = object else { return node(object) }
        for (key, value) in members {
            switch key {
            case "apiVersion", "kind", "spec", "specs":
                pairs.append((.scalar(key), node(value)))
            case "metadata":
                var kept: [(key: PolicyNode, value: PolicyNode)] = []
                if case .object(let fields) = value {
                    for (field, v) in fields where field == "name" || field == "namespace" {
                        kept.append((.scalar(field), node(v)))
                    }
                }
                pairs.append((.scalar(key), .mapping(kept)))
            default:
                continue
            }
        }
        return .mapping(pairs)
    }

    /// What the policy informers' stores keep of an object (`Informer.transform`): what `document`
    /// reads and what an Event about it names (uid, resourceVersion); not the annotations (kubectl
    /// apply's `last-applied-configuration` is a second copy of the whole object), managed fields,
    /// labels or status.
    public static func kept(_ object: JSONValue) -> JSONValue {
        JSONValue.kept(
            object,
            [
                "apiVersion": [], "kind": [], "metadata": ["name", "namespace", "uid", "resourceVersion"], "spec": [],
                "specs": [],
            ])
    }

    /// A JSON value as a PolicyNode tree (see `document`).
    public static func node(_ value: JSONValue) -> PolicyNode {
        switch value {
        case .null: return .scalar("null")
        case .bool(let b): return .scalar(b ? "true" : "false")
        case .number(let text): return .scalar(text)
        case .string(let text): return .scalar(text, plain: false)
        case .array(let items): return .sequence(items.map(node))
        case .object(let members):
            return .mapping(members.map { (key: .scalar($0.0, plain: false), value: node($0.1)) })
        }
    }

    /// The name errors cite for an object: `k8s:<kind>/<namespace>/<name>`.
    public static func sourceName(_ object: JSONValue) -> String {
        let kind = object["kind"]?.stringValue ?? "?"
        return "k8s:\(kind)/" + (KubeStore.key(of: object) ?? "?")
    }

    /// Every object of `objects` validated on its own, as Cilium does: the valid ones' documents
    /// (by store key) and, for each invalid one, its error; one bad object never keeps the others
    /// out.
    public static func validate(_ objects: [String: JSONValue]) -> (
        documents: [String: PolicyNode], errors: [String: String]
    ) {
        var documents: [String: PolicyNode] = [:]
        var errors: [String: String] = [:]
        for (key, object) in objects {
            let document = Self.document(object)
            do {
                _ = try PolicyFileParser.parse(documents: [document], fileName: sourceName(object))
                documents[key] = document
            } catch {
                errors[key] = String(describing: error)
            }
        }
        return (documents, errors)
    }
}
