import SluiceJSON

extension JSONValue {
    /// An object with only the members `fields` names, in their order in `object`: a member
    /// mapped to `[]` is kept whole, one mapped to names keeps only those members of its object.
    /// Anything but an object is returned as is. (`Informer.transform`s are built from it.)
    public static func kept(_ object: JSONValue, _ fields: [String: [String]]) -> JSONValue {
        guard case .object(let members) = object else { return object }
        var out: [(String, JSONValue)] = []
        for (key, value) in members {
            guard let inner = fields[key] else { continue }
            if inner.isEmpty {
                out.append((key, value))
            } else if case .object(let children) = value {
                out.append((key, .object(children.filter { inner.contains($0.0) })))
            } else {
                out.append((key, value))
            }
        }
        return .object(out)
    }
}
