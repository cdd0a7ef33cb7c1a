"""The fake API server's state: the resource kinds it serves (built-ins and CRD-defined), the
objects, one global resourceVersion and the event history that watches and exact reads replay
until a compaction drops it."""

import base64
import bisect
import binascii
import copy
import datetime
import json
import random
import re
import string
import threading
import uuid

import patch as patches
import schema as schemas
import selection as sel


class ApiError(Exception):
    """An error the server answers with a metav1.Status object."""

    def __init__(self, code, reason, message, details=None, retry_after=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details
        self.retry_after = retry_after

    def status(self):
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def expired(message):
    return ApiError(410, "Expired", message)


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Resource:
    """One served resource: group/version/plural with its kind and scope."""

    def __init__(self, group, version, plural, singular, kind, namespaced, short_names=(), status=False,
                 builtin=False, columns=None, categories=(), schema=None):
        self.group, self.version, self.plural, self.singular = group, version, plural, singular
        self.kind, self.namespaced, self.short_names = kind, namespaced, list(short_names)
        self.status, self.builtin, self.columns, self.categories = status, builtin, columns, list(categories)
        self.schema = schema  # a custom resource's openAPIV3Schema

    @property
    def group_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def gk(self):
        return (self.group, self.plural)

    @property
    def qualified(self):
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def details(self, name):
        details = {"name": name, "kind": self.plural}
        if self.group:
            details["group"] = self.group
        return details


BUILTINS = [
    Resource("", "v1", "namespaces", "namespace", "Namespace", False, ["ns"], status=True, builtin=True),
    Resource("", "v1", "pods", "pod", "Pod", True, ["po"], status=True, builtin=True, categories=["all"]),
    Resource("networking.k8s.io", "v1", "networkpolicies", "networkpolicy", "NetworkPolicy", True, ["netpol"],
             builtin=True),
    Resource("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", True, ["sa"], builtin=True),
    Resource("", "v1", "configmaps", "configmap", "ConfigMap", True, ["cm"], builtin=True),
    Resource("", "v1", "events", "event", "Event", True, ["ev"], builtin=True),
    Resource("apps", "v1", "daemonsets", "daemonset", "DaemonSet", True, ["ds"], status=True, builtin=True,
             categories=["all"]),
    Resource("rbac.authorization.k8s.io", "v1", "clusterroles", "clusterrole", "ClusterRole", False, builtin=True),
    Resource("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding",
             False, builtin=True),
    Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", "customresourcedefinition",
             "CustomResourceDefinition", False, ["crd", "crds"], status=True, builtin=True),
]

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


# Kinds whose objects carry no metadata.generation (no spec to version).
_NO_GENERATION = {"Namespace", "ServiceAccount", "ConfigMap", "Event", "ClusterRole", "ClusterRoleBinding"}


def _key_string(key):
    return f"{key[0]}/{key[1]}"


def _pod_spec_frozen(spec):
    """The part of a pod spec an update may not change (all but images and a few fields)."""
    spec = copy.deepcopy(spec or {})
    for field in ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds"):
        spec.pop(field, None)
    for field in ("containers", "initContainers"):
        for container in spec.get(field) or []:
            container.pop("image", None)
    return spec


def _spec_part(obj):
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


class Store:
    def __init__(self):
        self.cond = threading.Condition()
        self.rv = 1
        self.compacted = 0
        self.events = []  # (rv, gk, type, obj, prev)
        self.resources = {}  # (group, version, plural) -> Resource
        self.objects = {}  # gk -> {(namespace, name): obj}
        self.crd_resources = {}  # CRD name -> [Resource]
        for res in BUILTINS:
            self._register(res)
        for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.create(self.find("", "v1", "namespaces"), None, {"metadata": {"name": name}})

    # ------------------------------------------------------------ resources

    def _register(self, res):
        self.resources[(res.group, res.version, res.plural)] = res
        self.objects.setdefault(res.gk, {})

    def find(self, group, version, plural):
        return self.resources.get((group, version, plural))

    def group_versions(self):
        """{group: [versions]} in registration order (the first version is preferred)."""
        out = {}
        for (group, version, _plural) in self.resources:
            versions = out.setdefault(group, [])
            if version not in versions:
                versions.append(version)
        return out

    def resources_of(self, group, version):
        return [r for (g, v, _p), r in self.resources.items() if g == group and v == version]

    def _served(self, res, obj):
        out = copy.deepcopy(obj)
        out["apiVersion"] = res.group_version
        out["kind"] = res.kind
        return out

    def _crd_changed(self, name, crd):
        for res in self.crd_resources.pop(name, []):
            self.resources.pop((res.group, res.version, res.plural), None)
        if crd is None:
            return
        spec = crd.get("spec", {})
        names = spec.get("names", {})
        made = []
        for version in spec.get("versions", []):
            if not version.get("served", True):
                continue
            columns = version.get("additionalPrinterColumns")
            if columns is None:
                columns = [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]
            res = Resource(spec.get("group", ""), version.get("name"), names.get("plural"),
                           names.get("singular") or names.get("kind", "").lower(), names.get("kind"),
                           spec.get("scope") == "Namespaced", names.get("shortNames", []),
                           status="status" in (version.get("subresources") or {}), columns=columns,
                           categories=names.get("categories", []),
                           schema=(version.get("schema") or {}).get("openAPIV3Schema"))
            self._register(res)
            made.append(res)
        self.crd_resources[name] = made

    def _validate_crd(self, res, obj):
        spec = obj.get("spec") or {}
        names = spec.get("names") or {}
        name = obj["metadata"]["name"]
        problems = []
        if not spec.get("group"):
            problems.append("spec.group: Required value")
        if not names.get("plural") or not names.get("kind"):
            problems.append("spec.names.plural, spec.names.kind: Required value")
        if name != f"{names.get('plural')}.{spec.get('group')}":
            problems.append(f"metadata.name: Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group")
        if spec.get("scope") not in ("Namespaced", "Cluster"):
            problems.append("spec.scope: Unsupported value: must be Namespaced or Cluster")
        if not spec.get("versions"):
            problems.append("spec.versions: Invalid value: must have exactly one version marked as storage version")
        elif sum(1 for v in spec["versions"] if v.get("storage")) != 1:
            problems.append("spec.versions: Invalid value: must have exactly one version marked as storage version")
        if problems:
            raise self._invalid(res, name, problems)
        obj["status"] = {
            "acceptedNames": copy.deepcopy(names),
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                 "message": "no conflicts found", "lastTransitionTime": now_rfc3339()},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted", "lastTransitionTime": now_rfc3339()},
            ],
            "storedVersions": [v["name"] for v in spec["versions"] if v.get("storage")],
        }

    @staticmethod
    def _invalid(res, name, problems):
        qualified_kind = f"{res.kind}.{res.group}" if res.group else res.kind
        message = f'{qualified_kind} "{name}" is invalid: ' + ", ".join(problems)
        details = res.details(name)
        details["kind"] = res.kind
        details["causes"] = [{"reason": "FieldValueInvalid", "message": p, "field": p.split(":")[0]} for p in problems]
        return ApiError(422, "Invalid", message, details)

    def _check_schema(self, res, obj, strict):
        """A custom resource pruned of unknown fields and checked against its schema."""
        if res.builtin or not res.schema:
            return obj
        checked, problems, unknown = schemas.check_object(res.schema, obj)
        if unknown and strict:
            raise ApiError(400, "BadRequest", "strict decoding error: " +
                           ", ".join(f'unknown field "{field}"' for field in unknown))
        if problems:
            raise self._invalid(res, obj["metadata"].get("name", ""), problems)
        return checked

    # ------------------------------------------------------------ events

    def _bump(self):
        self.rv += 1
        return self.rv

    def _record(self, res, kind, obj, prev):
        self.events.append((int(obj["metadata"]["resourceVersion"]), res.gk, kind, copy.deepcopy(obj),
                            copy.deepcopy(prev)))
        self.cond.notify_all()

    def compact(self):
        """Forgets the history up to now: older resourceVersions get 410 Expired."""
        with self.cond:
            self.compacted = self.rv
            self.events = []
            self.cond.notify_all()
            return self.compacted

    def events_after(self, gk, rv):
        """Events of gk after rv, or ApiError 410 when rv is older than the kept history."""
        if rv < self.compacted:
            raise expired(f"too old resource version: {rv} ({self.compacted})")
        start = bisect.bisect_right(self.events, rv, key=lambda event: event[0])
        return [e for e in self.events[start:] if e[1] == gk]

    def state_at(self, gk, rv):
        if rv < self.compacted:
            raise expired(f"too old resource version: {rv} ({self.compacted})")
        if rv > self.rv:
            raise ApiError(504, "Timeout", f"Too large resource version: {rv}, current: {self.rv}",
                           {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                            "retryAfterSeconds": 1}, retry_after=1)
        state = dict(self.objects.get(gk, {}))
        for erv, egk, kind, obj, prev in reversed(self.events):
            if erv <= rv:
                break
            if egk != gk:
                continue
            key = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            if kind == "ADDED":
                state.pop(key, None)
            else:
                state[key] = prev
        return state

    # ------------------------------------------------------------ reads

    def _key(self, res, namespace, name):
        return (namespace or "" if res.namespaced else "", name)

    def _require_namespace(self, res, namespace):
        if res.namespaced and ("", namespace) not in self.objects[("", "namespaces")]:
            raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found',
                           {"name": namespace, "kind": "namespaces"})

    def get(self, res, namespace, name):
        with self.cond:
            obj = self.objects[res.gk].get(self._key(res, namespace, name))
            if obj is None:
                raise ApiError(404, "NotFound", f'{res.qualified} "{name}" not found', res.details(name))
            return self._served(res, obj)

    def list(self, res, namespace, labels, fields, rv=None, rv_match=None, limit=0, token=None):
        """Returns (items, list resourceVersion, continue token, remaining count)."""
        with self.cond:
            start = ""
            if token:
                try:
                    decoded = json.loads(base64.b64decode(token))
                    at, start = int(decoded["rv"]), decoded["start"]
                except (ValueError, KeyError, TypeError, binascii.Error):
                    raise ApiError(400, "BadRequest", "continue key is not valid: invalid continue token") from None
                if at < self.compacted:
                    raise expired("The provided continue parameter is too old to display a consistent list result. "
                                  "You can start a new list without the continue parameter, or use the continue "
                                  "token in this response to retrieve the remainder of the results. Continuing with "
                                  "the provided token results in an inconsistent list - objects that were created, "
                                  "modified, or deleted between the time the first chunk was returned and now may "
                                  "show up in the list.")
                state = self.state_at(res.gk, at)
            elif rv_match == "Exact":
                at = int(rv)
                state = self.state_at(res.gk, at)
            elif rv not in (None, "", "0") and int(rv) > self.rv:
                raise ApiError(504, "Timeout", f"Too large resource version: {rv}, current: {self.rv}",
                               {"causes": [{"reason": "ResourceVersionTooLarge",
                                            "message": "Too large resource version"}], "retryAfterSeconds": 1},
                               retry_after=1)
            else:
                at, state = self.rv, self.objects.get(res.gk, {})
            keys = sorted(k for k in state if _key_string(k) >= start)
            items, next_token, remaining = [], None, 0
            for index, key in enumerate(keys):
                obj = state[key]
                if res.namespaced and namespace and key[0] != namespace:
                    continue
                if not (sel.labels_match(labels, obj["metadata"].get("labels")) and sel.fields_match(fields, obj)):
                    continue
                if limit and len(items) == limit:
                    next_token = base64.b64encode(json.dumps(
                        {"v": "meta.k8s.io/v1", "rv": at, "start": _key_string(key)}).encode()).decode()
                    remaining = sum(1 for k in keys[index:] if not (res.namespaced and namespace and k[0] != namespace))
                    break
                items.append(self._served(res, obj))
            return items, at, next_token, remaining

    # ------------------------------------------------------------ writes

    def create(self, res, namespace, obj, dry_run=False, strict=False):
        with self.cond:
            obj = copy.deepcopy(obj)
            meta = obj.setdefault("metadata", {})
            self._check_identity(res, obj)
            if res.namespaced:
                if meta.get("namespace") and namespace and meta["namespace"] != namespace:
                    raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the "
                                                      "namespace sent on the request")
                namespace = namespace or meta.get("namespace") or "default"
                meta["namespace"] = namespace
                self._require_namespace(res, namespace)
            else:
                meta.pop("namespace", None)
            if not meta.get("name"):
                if meta.get("generateName"):
                    suffix = "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(5))
                    meta["name"] = meta["generateName"] + suffix
                else:
                    raise self._invalid(res, "", ["metadata.name: Required value: name or generateName is required"])
            name = meta["name"]
            if not _NAME.match(name) or len(name) > 253 or (res.kind == "Namespace" and not _LABEL.match(name)):
                raise self._invalid(res, name, [f'metadata.name: Invalid value: "{name}": a lowercase RFC 1123 '
                                                "subdomain must consist of lower case alphanumeric characters, "
                                                "'-' or '.', and must start and end with an alphanumeric character"])
            key = self._key(res, namespace, name)
            if key in self.objects[res.gk]:
                raise ApiError(409, "AlreadyExists", f'{res.qualified} "{name}" already exists', res.details(name))
            for field in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields",
                          "selfLink"):
                meta.pop(field, None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            if res.kind not in _NO_GENERATION:
                meta["generation"] = 1
            self._defaults_on_create(res, obj)
            if res.kind == "Event":
                self._validate_event(res, obj)
            obj = self._check_schema(res, obj, strict)
            meta = obj["metadata"]
            if dry_run:
                meta["resourceVersion"] = str(self.rv)
                return self._served(res, obj)
            meta["resourceVersion"] = str(self._bump())
            obj["apiVersion"], obj["kind"] = res.group_version, res.kind
            self.objects[res.gk][key] = obj
            if res.kind == "CustomResourceDefinition":
                self._crd_changed(name, obj)
            self._record(res, "ADDED", obj, None)
            return self._served(res, obj)

    def _validate_event(self, res, obj):
        """The real server's checks of a core/v1 Event (legacy series: no eventTime): its namespace
        is the involved object's (`default` for a cluster-scoped one)."""
        meta, involved = obj["metadata"], obj.get("involvedObject") or {}
        wanted = involved.get("namespace") or ""
        if obj.get("eventTime"):
            ok = bool(wanted) or meta["namespace"] in ("default", "kube-system")
        else:
            ok = meta["namespace"] == wanted if wanted else meta["namespace"] == "default"
        if not ok:
            raise self._invalid(res, meta["name"], [f'involvedObject.namespace: Invalid value: "{wanted}": does not '
                                                    "match event.namespace"])

    def _check_identity(self, res, obj):
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if api_version and api_version.split("/")[0] != (res.group or api_version.split("/")[0]) and res.group:
            raise ApiError(400, "BadRequest", f"the API version in the data ({api_version}) does not match the "
                                              f"expected API version ({res.group_version})")
        if kind and kind != res.kind:
            raise ApiError(400, "BadRequest", f"the kind in the data ({kind}) does not match the expected kind "
                                              f"({res.kind})")

    def _defaults_on_create(self, res, obj):
        meta = obj["metadata"]
        if res.kind == "Namespace":
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
            obj.setdefault("spec", {})["finalizers"] = ["kubernetes"]
            obj["status"] = {"phase": "Active"}
        elif res.kind == "Pod":
            spec = obj.setdefault("spec", {})
            spec.setdefault("restartPolicy", "Always")
            spec.setdefault("dnsPolicy", "ClusterFirst")
            spec.setdefault("schedulerName", "default-scheduler")
            spec.setdefault("serviceAccountName", "default")
            spec.setdefault("terminationGracePeriodSeconds", 30)
            obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
        elif res.kind == "CustomResourceDefinition":
            self._validate_crd(res, obj)
        elif res.status:
            obj.pop("status", None)

    def _apply_update(self, res, current, new, subresource):
        """The object an update stores: what the caller may change on this endpoint."""
        if subresource == "status":
            out = copy.deepcopy(current)
            if "status" in new:
                out["status"] = copy.deepcopy(new["status"])
            else:
                out.pop("status", None)
            return out
        out = copy.deepcopy(new)
        meta, old_meta = out.setdefault("metadata", {}), current["metadata"]
        for field in ("uid", "creationTimestamp", "generation", "namespace", "deletionTimestamp"):
            if field in old_meta:
                meta[field] = old_meta[field]
            else:
                meta.pop(field, None)
        meta.pop("managedFields", None)
        if res.status and res.kind != "CustomResourceDefinition":
            if "status" in current:
                out["status"] = copy.deepcopy(current["status"])
            else:
                out.pop("status", None)
        if res.kind == "Namespace":
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
            out.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        if res.kind == "CustomResourceDefinition":
            self._validate_crd(res, out)
        if res.kind == "Pod" and _pod_spec_frozen(out.get("spec")) != _pod_spec_frozen(current.get("spec")):
            raise self._invalid(res, meta.get("name"), [
                "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
                "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions "
                "to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
                "previously negative)"])
        if _spec_part(out) != _spec_part(current) and "generation" in old_meta:
            meta["generation"] = old_meta["generation"] + 1
        return out

    def update(self, res, namespace, name, obj, subresource=None, dry_run=False, _unconditional_ok=None,
               strict=False):
        with self.cond:
            key = self._key(res, namespace, name)
            current = self.objects[res.gk].get(key)
            if current is None:
                raise ApiError(404, "NotFound", f'{res.qualified} "{name}" not found', res.details(name))
            meta = obj.get("metadata") or {}
            self._check_identity(res, obj)
            if meta.get("name", name) != name:
                raise ApiError(400, "BadRequest", f"the name of the object ({meta.get('name')}) does not match the "
                                                  f"name on the URL ({name})")
            given_rv = meta.get("resourceVersion")
            unconditional_ok = res.builtin if _unconditional_ok is None else _unconditional_ok
            if not given_rv and not unconditional_ok:
                raise self._invalid(res, name, ["metadata.resourceVersion: Invalid value: 0x0: must be specified "
                                                "for an update"])
            if given_rv and given_rv != current["metadata"]["resourceVersion"]:
                raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {res.qualified} "{name}": the '
                                                "object has been modified; please apply your changes to the latest "
                                                "version and try again", res.details(name))
            new = self._check_schema(res, self._apply_update(res, current, obj, subresource), strict)
            if res.kind == "Event":
                self._validate_event(res, new)
            new["apiVersion"], new["kind"] = res.group_version, res.kind
            new["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            if new == current or dry_run:
                return self._served(res, new)
            new["metadata"]["resourceVersion"] = str(self._bump())
            self.objects[res.gk][key] = new
            if res.kind == "CustomResourceDefinition":
                self._crd_changed(name, new)
            self._record(res, "MODIFIED", new, current)
            return self._served(res, new)

    def patch(self, res, namespace, name, content_type, body, subresource=None, dry_run=False, strict=False):
        with self.cond:
            current = self.get(res, namespace, name)
            try:
                if content_type == "application/json-patch+json":
                    patched = patches.json_patch(current, body)
                elif content_type == "application/merge-patch+json":
                    patched = patches.merge_patch(current, body)
                elif content_type == "application/strategic-merge-patch+json":
                    if not res.builtin:
                        raise ApiError(415, "UnsupportedMediaType",
                                       "the body of the request was in an unknown format - accepted media types "
                                       "include: application/json-patch+json, application/merge-patch+json, "
                                       "application/apply-patch+yaml")
                    patched = patches.strategic_merge(res.kind, current, body)
                else:
                    raise ApiError(415, "UnsupportedMediaType",
                                   f"the body of the request was in an unknown format - accepted media types include: "
                                   f"application/json-patch+json, application/merge-patch+json"
                                   f"{', application/strategic-merge-patch+json' if res.builtin else ''}")
            except patches.PatchError as error:
                reason = "Invalid" if error.code == 422 else "BadRequest"
                raise ApiError(error.code, reason, str(error)) from None
            if not isinstance(patched, dict):
                raise ApiError(422, "Invalid", "the patch does not produce an object")
            patched.setdefault("metadata", {})
            if not patched["metadata"].get("resourceVersion"):
                patched["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            return self.update(res, namespace, name, patched, subresource, dry_run, _unconditional_ok=True,
                               strict=strict)

    def _delete_locked(self, res, key, deletion_rv):
        obj = self.objects[res.gk].pop(key)
        gone = copy.deepcopy(obj)
        gone["metadata"]["resourceVersion"] = str(deletion_rv)
        self._record(res, "DELETED", gone, obj)
        return gone

    def delete(self, res, namespace, name, options=None, dry_run=False):
        with self.cond:
            key = self._key(res, namespace, name)
            current = self.objects[res.gk].get(key)
            if current is None:
                raise ApiError(404, "NotFound", f'{res.qualified} "{name}" not found', res.details(name))
            pre = (options or {}).get("preconditions") or {}
            meta = current["metadata"]
            if pre.get("uid") and pre["uid"] != meta["uid"]:
                raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {res.qualified} "{name}": '
                                                f'Precondition failed: UID in precondition: {pre["uid"]}, UID in '
                                                f'object meta: {meta["uid"]}', res.details(name))
            if pre.get("resourceVersion") and pre["resourceVersion"] != meta["resourceVersion"]:
                raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {res.qualified} "{name}": '
                                                f'Precondition failed: ResourceVersion in precondition: '
                                                f'{pre["resourceVersion"]}, ResourceVersion in object meta: '
                                                f'{meta["resourceVersion"]}', res.details(name))
            if dry_run:
                return self._served(res, current), res.kind in ("Pod", "Namespace", "CustomResourceDefinition")
            if res.kind == "Namespace":
                for other in list(self.resources.values()):
                    if other.namespaced:
                        for okey in [k for k in self.objects[other.gk] if k[0] == name]:
                            self._delete_locked(other, okey, self._bump())
            if res.kind == "CustomResourceDefinition":
                spec = current.get("spec", {})
                for other in self.crd_resources.get(name, [])[:1]:
                    for okey in list(self.objects[other.gk]):
                        self._delete_locked(other, okey, self._bump())
                self.objects.pop((spec.get("group"), spec.get("names", {}).get("plural")), None)
                self._crd_changed(name, None)
            gone = self._delete_locked(res, key, self._bump())
            gone["metadata"]["deletionTimestamp"] = now_rfc3339()
            if res.kind == "Namespace":
                gone["status"] = {"phase": "Terminating"}
            return self._served(res, gone), res.kind in ("Pod", "Namespace", "CustomResourceDefinition")

    def delete_collection(self, res, namespace, labels, fields):
        with self.cond:
            items, _, _, _ = self.list(res, namespace, labels, fields)
            for item in items:
                self.delete(res, item["metadata"].get("namespace"), item["metadata"]["name"])
            return items
