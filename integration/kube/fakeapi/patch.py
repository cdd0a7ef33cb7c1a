"""The three patch formats of the Kubernetes API: JSON patch (RFC 6902), JSON merge patch
(RFC 7386) and strategic merge patch (the built-in kinds only, as far as kubectl apply uses it).

Strategic merge patch needs each list field's strategy, which the real server reads from the Go
struct tags. Here a small table names the lists that merge by a key (pod containers by name, ...)
or as a set of primitives (finalizers); every other list is replaced, which is also the real
strategy of every list in NetworkPolicy, Namespace and CustomResourceDefinition.
"""

import copy


class PatchError(Exception):
    """A patch that cannot be applied: the server answers 422 (or 400 for a malformed patch)."""

    def __init__(self, message, code=422):
        super().__init__(message)
        self.code = code


# (kind, path of the list field) -> merge key; "*" matches any kind. A path names the list field
# from the object root; "[]" stands for "an element of the list".
_MERGE_KEYS = {
    ("*", "metadata.ownerReferences"): "uid",
    ("Pod", "status.conditions"): "type",
    ("Pod", "status.podIPs"): "ip",
    ("ServiceAccount", "secrets"): "name",
    ("ServiceAccount", "imagePullSecrets"): "name",
}
# Pod specs: the Pod's own, and the template of the workload kinds.
for _kind, _spec in (("Pod", "spec"), ("DaemonSet", "spec.template.spec"), ("Deployment", "spec.template.spec")):
    for _field, _key in (("containers", "name"), ("initContainers", "name"), ("ephemeralContainers", "name"),
                         ("volumes", "name"), ("imagePullSecrets", "name"), ("hostAliases", "ip")):
        _MERGE_KEYS[(_kind, f"{_spec}.{_field}")] = _key
    for _list in ("containers", "initContainers", "ephemeralContainers"):
        _MERGE_KEYS[(_kind, f"{_spec}.{_list}[].env")] = "name"
        _MERGE_KEYS[(_kind, f"{_spec}.{_list}[].ports")] = "containerPort"
        _MERGE_KEYS[(_kind, f"{_spec}.{_list}[].volumeMounts")] = "mountPath"
        _MERGE_KEYS[(_kind, f"{_spec}.{_list}[].volumeDevices")] = "devicePath"

# Lists of primitives merged as sets ("patchStrategy:merge" on a []string).
_PRIMITIVE_MERGE = {("*", "metadata.finalizers")}


def _merge_key(kind, path):
    return _MERGE_KEYS.get((kind, path)) or _MERGE_KEYS.get(("*", path))


def _primitive_merge(kind, path):
    return (kind, path) in _PRIMITIVE_MERGE or ("*", path) in _PRIMITIVE_MERGE


# ---------------------------------------------------------------- JSON merge patch (RFC 7386)


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# ---------------------------------------------------------------- JSON patch (RFC 6902)


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}", 400)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, tokens):
    node = doc
    for token in tokens:
        if isinstance(node, dict):
            if token not in node:
                raise PatchError(f"doc is missing path: /{'/'.join(tokens)}")
            node = node[token]
        elif isinstance(node, list):
            try:
                node = node[int(token)]
            except (ValueError, IndexError):
                raise PatchError(f"doc is missing path: /{'/'.join(tokens)}") from None
        else:
            raise PatchError(f"doc is missing path: /{'/'.join(tokens)}")
    return node


def _index(container, token, allow_end):
    if token == "-" and allow_end:
        return len(container)
    try:
        index = int(token)
    except ValueError:
        raise PatchError(f"invalid array index {token!r}") from None
    if index < 0 or index > len(container) or (index == len(container) and not allow_end):
        raise PatchError(f"array index {index} out of bounds")
    return index


def _add(doc, tokens, value):
    if not tokens:
        return value
    parent = _walk(doc, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, True), value)
    else:
        raise PatchError(f"cannot add to a scalar at /{'/'.join(tokens)}")
    return doc


def _remove(doc, tokens):
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent = _walk(doc, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"unable to remove nonexistent key: {last}: missing value")
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, False))
    raise PatchError(f"cannot remove from a scalar at /{'/'.join(tokens)}")


def json_patch(target, operations):
    if not isinstance(operations, list):
        raise PatchError("a JSON patch is a list of operations", 400)
    doc = copy.deepcopy(target)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"invalid JSON patch operation: {op!r}", 400)
        kind, tokens = op["op"], _pointer(op["path"])
        if kind == "add":
            doc = _add(doc, tokens, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, tokens)
        elif kind == "replace":
            _walk(doc, tokens)
            if tokens:
                _remove(doc, tokens)
            doc = _add(doc, tokens, copy.deepcopy(op.get("value")))
        elif kind in ("move", "copy"):
            source = _pointer(op.get("from", ""))
            value = copy.deepcopy(_walk(doc, source))
            if kind == "move":
                _remove(doc, source)
            doc = _add(doc, tokens, value)
        elif kind == "test":
            if _walk(doc, tokens) != op.get("value"):
                raise PatchError(f"testing value /{'/'.join(tokens)} failed")
        else:
            raise PatchError(f"unexpected JSON patch operation {kind!r}", 400)
    return doc


# ---------------------------------------------------------------- strategic merge patch


def _strip_directives(value):
    if isinstance(value, dict):
        return {
            k: _strip_directives(v)
            for k, v in value.items()
            if not k.startswith("$") and not k.startswith("$setElementOrder/")
        }
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


def _order(items, order, key):
    """Applies $setElementOrder: the listed elements first in that order, the others after."""

    def ident(item):
        return item.get(key) if key and isinstance(item, dict) else item

    wanted = [ident(o) for o in order]
    ranked = sorted(
        items, key=lambda item: wanted.index(ident(item)) if ident(item) in wanted else len(wanted)
    )
    return ranked


def _merge_list(kind, path, original, patch, key):
    result = copy.deepcopy(original) if isinstance(original, list) else []
    if any(isinstance(p, dict) and p.get("$patch") == "replace" for p in patch):
        return [_strip_directives(p) for p in patch if not (isinstance(p, dict) and "$patch" in p)]
    for element in patch:
        if not isinstance(element, dict) or key not in element:
            raise PatchError(f"map: {element!r} does not contain declared merge key: {key}")
        found = next((i for i, o in enumerate(result) if isinstance(o, dict) and o.get(key) == element[key]), None)
        if element.get("$patch") == "delete":
            if found is not None:
                result.pop(found)
            continue
        if found is None:
            result.append(_strip_directives(element))
        else:
            result[found] = strategic_merge(kind, result[found], element, path + "[]")
    return result


def strategic_merge(kind, original, patch, path=""):
    if not isinstance(patch, dict):
        return _strip_directives(patch)
    if patch.get("$patch") == "replace":
        return _strip_directives({k: v for k, v in patch.items() if k != "$patch"})
    if patch.get("$patch") == "delete":
        return None
    result = copy.deepcopy(original) if isinstance(original, dict) else {}
    if "$retainKeys" in patch:
        keep = set(patch["$retainKeys"] or [])
        result = {k: v for k, v in result.items() if k in keep}
    orders = {}
    for name, value in patch.items():
        if name.startswith("$setElementOrder/"):
            orders[name.split("/", 1)[1]] = value
        elif name.startswith("$deleteFromPrimitiveList/"):
            field = name.split("/", 1)[1]
            if isinstance(result.get(field), list):
                result[field] = [v for v in result[field] if v not in (value or [])]
    for name, value in patch.items():
        if name.startswith("$"):
            continue
        field_path = f"{path}.{name}" if path else name
        if value is None:
            result.pop(name, None)
        elif isinstance(value, dict):
            merged = strategic_merge(kind, result.get(name), value, field_path)
            if merged is None:
                result.pop(name, None)
            else:
                result[name] = merged
        elif isinstance(value, list) and _merge_key(kind, field_path):
            result[name] = _merge_list(kind, field_path, result.get(name), value, _merge_key(kind, field_path))
        elif isinstance(value, list) and _primitive_merge(kind, field_path):
            merged = list(result.get(name) or [])
            merged += [v for v in value if v not in merged]
            result[name] = merged
        else:
            result[name] = _strip_directives(value)
    for field, order in orders.items():
        if isinstance(result.get(field), list):
            result[field] = _order(result[field], order, _merge_key(kind, f"{path}.{field}" if path else field))
    return result
