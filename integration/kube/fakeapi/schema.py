"""Custom resources checked against their CRD's structural openAPIV3Schema as the real server
does, for the keywords Sluice's and Cilium's CRDs use: type (with nullable,
x-kubernetes-int-or-string), properties, required, additionalProperties, items, enum, pattern,
x-kubernetes-preserve-unknown-fields. Unknown fields are pruned, or with fieldValidation=Strict
refused. Not checked: formats, bounds, lengths, oneOf/anyOf/allOf/not, CEL rules."""

import re

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}


def _type_name(value):
    if value is None:
        return "null"
    for name in ("boolean", "integer", "number", "string", "array", "object"):
        if _TYPES[name](value):
            return name
    return type(value).__name__


def check(schema, value, path="", errors=None, unknown=None):
    """Returns (value with unknown fields pruned, [problems], [unknown field paths])."""
    errors = [] if errors is None else errors
    unknown = [] if unknown is None else unknown
    if not schema:
        return value, errors, unknown
    if value is None:
        if not schema.get("nullable") and schema.get("type"):
            errors.append(f'{path or "<root>"}: Invalid value: "null": {path or "<root>"} in body must be of type '
                          f'{schema["type"]}: "null"')
        return value, errors, unknown
    kind = schema.get("type")
    if schema.get("x-kubernetes-int-or-string"):
        if not (_TYPES["integer"](value) or _TYPES["string"](value)):
            errors.append(f'{path}: Invalid value: "{_type_name(value)}": {path} in body must be of type '
                          f'integer or string: "{_type_name(value)}"')
        return value, errors, unknown
    if kind and kind in _TYPES and not _TYPES[kind](value):
        errors.append(f'{path}: Invalid value: "{_type_name(value)}": {path} in body must be of type {kind}: '
                      f'"{_type_name(value)}"')
        return value, errors, unknown
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(f'"{v}"' for v in schema["enum"])
        errors.append(f'{path}: Unsupported value: "{value}": supported values: {allowed}')
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        errors.append(f'{path}: Invalid value: "{value}": {path} in body should match \'{schema["pattern"]}\'')
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields")
        out = {}
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            if key in properties:
                out[key], _, _ = check(properties[key], item, child, errors, unknown)
            elif isinstance(additional, dict):
                out[key], _, _ = check(additional, item, child, errors, unknown)
            elif additional is True or preserve:
                out[key] = item
            else:
                unknown.append(child)
        for key in schema.get("required") or []:
            if key not in value:
                child = f"{path}.{key}" if path else key
                errors.append(f"{child}: Required value")
        return out, errors, unknown
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [check(schema["items"], item, f"{path}[{i}]", errors, unknown)[0]
                for i, item in enumerate(value)], errors, unknown
    return value, errors, unknown


def check_object(schema, obj):
    """A whole custom resource: apiVersion, kind and metadata are the server's, the rest the schema's."""
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    root = dict(schema or {})
    properties = {k: v for k, v in (root.get("properties") or {}).items() if k not in ("apiVersion", "kind",
                                                                                          "metadata")}
    root["properties"] = properties
    pruned, errors, unknown = check(root, body)
    out = {k: obj[k] for k in ("apiVersion", "kind", "metadata") if k in obj}
    out.update(pruned or {})
    return out, errors, unknown
