"""Label selectors (the full text syntax of k8s.io/apimachinery/pkg/labels) and field selectors
(`=`, `==`, `!=` on the fields the real server indexes for each kind)."""

import re


class SelectorError(Exception):
    """A selector that does not parse: the server answers 400 BadRequest with this message."""


_TOKEN = re.compile(r"\s*(!=|==|=|!|\(|\)|,|>|<|[A-Za-z0-9._/-]+)")


def _tokens(text):
    out, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            if text[pos:].strip() == "":
                break
            raise SelectorError(f"unable to parse requirement: found '{text[pos:]}'")
        out.append(match.group(1))
        pos = match.end()
    return out


def parse_label_selector(text):
    """Returns a list of (key, operator, values) requirements, all of which must hold."""
    tokens = _tokens(text or "")
    requirements, i = [], 0

    def need(kind):
        nonlocal i
        if i >= len(tokens) or tokens[i] != kind:
            raise SelectorError(f"unable to parse requirement: expected '{kind}' in {text!r}")
        i += 1

    while i < len(tokens):
        if tokens[i] == "!":
            i += 1
            if i >= len(tokens):
                raise SelectorError(f"unable to parse requirement: missing key after '!' in {text!r}")
            requirements.append((tokens[i], "!", []))
            i += 1
        else:
            key = tokens[i]
            i += 1
            op = tokens[i] if i < len(tokens) else ","
            if op in ("=", "==", "!=", ">", "<"):
                i += 1
                value = tokens[i] if i < len(tokens) and tokens[i] not in (",", "(", ")") else ""
                if value:
                    i += 1
                if op in (">", "<"):
                    try:
                        int(value)
                    except ValueError:
                        raise SelectorError(
                            f"for 'Gt', 'Lt' operators, the value must be an integer: {value}") from None
                requirements.append((key, "=" if op == "==" else op, [value]))
            elif op in ("in", "notin"):
                i += 1
                need("(")
                values = []
                while i < len(tokens) and tokens[i] != ")":
                    if tokens[i] != ",":
                        values.append(tokens[i])
                    i += 1
                need(")")
                requirements.append((key, op, values))
            elif op == ",":
                requirements.append((key, "exists", []))
            else:
                raise SelectorError(f"unable to parse requirement: unexpected '{op}' in {text!r}")
        if i < len(tokens):
            need(",")
    return requirements


def labels_match(requirements, labels):
    labels = labels or {}
    for key, op, values in requirements:
        present = key in labels
        value = labels.get(key)
        if op == "=" and not (present and value == values[0]):
            return False
        if op == "!=" and present and value == values[0]:
            return False
        if op == "in" and not (present and value in values):
            return False
        if op == "notin" and present and value in values:
            return False
        if op == "exists" and not present:
            return False
        if op == "!" and present:
            return False
        if op in (">", "<"):
            try:
                number = int(value)
            except (TypeError, ValueError):
                return False
            if (op == ">" and not number > int(values[0])) or (op == "<" and not number < int(values[0])):
                return False
    return True


# The field labels each kind supports (as the real server's GetAttrs/field label conversions).
_FIELDS = {
    "Pod": {
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    },
    "Namespace": {"status.phase"},
    "Event": {
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    },
}


def _field_value(obj, path):
    if path == "source" and obj.get("kind") == "Event":
        # An Event's `source` field label is its source component (else reportingComponent).
        return (obj.get("source") or {}).get("component") or obj.get("reportingComponent") or ""
    node = obj
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if node is None:
        return ""
    if isinstance(node, bool):
        return "true" if node else "false"
    return str(node)


def parse_field_selector(text, kind):
    requirements = []
    for term in filter(None, (t.strip() for t in (text or "").split(","))):
        match = re.fullmatch(r"([^!=]+)(!=|==|=)(.*)", term)
        if not match:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{term}'")
        field, op, value = match.group(1).strip(), match.group(2), match.group(3).strip()
        if field not in ("metadata.name", "metadata.namespace") and field not in _FIELDS.get(kind, set()):
            raise SelectorError(f'field label not supported: {field}')
        requirements.append((field, op != "!=", value))
    return requirements


def fields_match(requirements, obj):
    return all((_field_value(obj, field) == value) == equal for field, equal, value in requirements)
