"""Decoding of the few protobuf request bodies newer kubectl sends: kubectl >= 1.33 creates a
Namespace (`kubectl create namespace`) with `Content-Type: application/vnd.kubernetes.protobuf`.
The body is the Kubernetes envelope ("k8s\\0" + runtime.Unknown) around the generated.proto
encoding of the object. Only Namespace is known here; other kinds are refused with 415."""


class ProtoError(Exception):
    pass


def _varint(data, pos):
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtoError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtoError("varint too long")


def fields(data):
    """Yields (field number, wire type, value): bytes for length-delimited, int for varints."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ProtoError("truncated field")
            value, pos = data[pos:pos + length], pos + length
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ProtoError(f"unsupported wire type {wire}")
        yield number, wire, value


def _string_map_entry(data):
    key = value = ""
    for number, _, raw in fields(data):
        if number == 1:
            key = raw.decode()
        elif number == 2:
            value = raw.decode()
    return key, value


def _object_meta(data):
    meta = {}
    names = {1: "name", 2: "generateName", 3: "namespace"}
    for number, _, raw in fields(data):
        if number in names:
            meta[names[number]] = raw.decode()
        elif number in (11, 12):
            key, value = _string_map_entry(raw)
            meta.setdefault("labels" if number == 11 else "annotations", {})[key] = value
    return meta


def _namespace(data):
    obj = {"apiVersion": "v1", "kind": "Namespace"}
    for number, _, raw in fields(data):
        if number == 1:
            obj["metadata"] = _object_meta(raw)
        elif number == 2:
            obj["spec"] = {"finalizers": [r.decode() for n, _, r in fields(raw) if n == 1]}
    return obj


DECODERS = {("v1", "Namespace"): _namespace}


def decode(body):
    """The object in a Kubernetes protobuf envelope, as JSON-like dicts."""
    if not body.startswith(b"k8s\x00"):
        raise ProtoError("missing the k8s protobuf envelope")
    type_meta, raw = {}, b""
    for number, _, value in fields(body[4:]):
        if number == 1:
            type_meta = {n: v.decode() for n, _, v in fields(value)}
        elif number == 2:
            raw = value
    kind = (type_meta.get(1, ""), type_meta.get(2, ""))
    decoder = DECODERS.get(kind)
    if decoder is None:
        raise ProtoError(f"protobuf bodies of {kind[0]} {kind[1]} are not supported by the fake API server")
    return decoder(raw)
