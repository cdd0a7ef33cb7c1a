"""The fake API server shown faithful by real clients: kubectl (apply, get, get -w, delete, create,
replace, selectors) and the official Python `kubernetes` client (list, watch with resourceVersion
and bookmarks, 410 after a compaction and the relist, paging, exact reads, custom objects), plus
raw HTTPS for the Status bodies, discovery and the control endpoint.

Run by integration/kube/run.sh (make test-kube). kubectl is $KUBECTL or `kubectl` on PATH; its
absence fails the run.
"""

import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
import urllib.error
import urllib.request

import kubernetes
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEPLOY = os.path.join(ROOT, "deploy")
KUBECTL = os.environ.get("KUBECTL") or shutil.which("kubectl")
DEADLINE = 10.0  # seconds any expected state may take to appear


def poll(what, check, deadline=DEADLINE, interval=0.05):
    """Polls check() until it returns a true value; fails naming `what` after the deadline."""
    end = time.monotonic() + deadline
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {deadline}s waiting for {what}")
        time.sleep(interval)  # poll interval, bounded by the deadline above


class FakeServer:
    """Starts integration/kube/fakeapi/server.py in a fresh directory and stops it."""

    def __init__(self, *extra):
        self.dir = tempfile.mkdtemp(prefix="sluice-fakeapi-")
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "fakeapi", "server.py"), "--dir", self.dir,
             "--bookmark-interval", "0.3", *extra], stdout=self.log, stderr=subprocess.STDOUT)
        state_path = os.path.join(self.dir, "server.json")
        poll("the fake API server to write server.json",
             lambda: self.process.poll() is not None or os.path.exists(state_path))
        if self.process.poll() is not None:
            raise AssertionError(f"fake API server exited: {open(self.log.name).read()}")
        with open(state_path) as f:
            self.state = json.load(f)
        self.url, self.control = self.state["url"], self.state["control"]
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self.ca = os.path.join(self.dir, "ca.crt")
        with open(os.path.join(self.dir, "token")) as f:
            self.token = f.read().strip()
        self.ssl = ssl.create_default_context(cafile=self.ca)

    def close(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def post_control(self, action):
        request = urllib.request.Request(f"{self.control}/{action}", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)

    def http(self, method, path, body=None, token=True, content_type="application/json", accept=None):
        """(status, parsed JSON body) of a raw HTTPS request."""
        headers = {"Content-Type": content_type}
        if token:
            headers["Authorization"] = f"Bearer {self.token if token is True else token}"
        if accept:
            headers["Accept"] = accept
        data = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, context=self.ssl, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


CNP = """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: allow-web
  namespace: default
spec:
  endpointSelector:
    matchLabels: {app: web}
  ingress:
  - fromEndpoints:
    - matchLabels: {app: client}
    toPorts:
    - ports: [{port: "PORT", protocol: TCP}]
"""

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: default
  labels: {app: web, tier: TIER}
spec:
  nodeName: NODE
  containers:
  - name: main
    image: IMAGE
    ports: [{containerPort: 80}]
  - name: sidecar
    image: busybox
"""


sys.path.insert(0, os.path.join(HERE, "fakeapi"))
import patch as patches  # noqa: E402  (the fake's own modules, tested directly below)
import selection  # noqa: E402


class PatchAndSelectorTests(unittest.TestCase):
    """The fake's patch and selector code against the semantics the real server documents."""

    def test_json_merge_patch_deletes_with_null_and_replaces_lists(self):
        target = {"a": {"b": 1, "c": 2}, "l": [1, 2]}
        self.assertEqual(patches.merge_patch(target, {"a": {"b": None, "d": 3}, "l": [3]}),
                         {"a": {"c": 2, "d": 3}, "l": [3]})
        self.assertEqual(target, {"a": {"b": 1, "c": 2}, "l": [1, 2]}, "the target is not modified")

    def test_json_patch_operations_and_failures(self):
        doc = {"metadata": {"labels": {"a/b": "1"}}, "list": [1, 2]}
        ops = [{"op": "add", "path": "/list/-", "value": 3}, {"op": "remove", "path": "/metadata/labels/a~1b"},
               {"op": "copy", "from": "/list/0", "path": "/first"}, {"op": "move", "from": "/first", "path": "/x"},
               {"op": "test", "path": "/x", "value": 1}, {"op": "replace", "path": "/list/1", "value": 9}]
        self.assertEqual(patches.json_patch(doc, ops), {"metadata": {"labels": {}}, "list": [1, 9, 3], "x": 1})
        with self.assertRaises(patches.PatchError):
            patches.json_patch(doc, [{"op": "test", "path": "/list/0", "value": 5}])
        with self.assertRaises(patches.PatchError):
            patches.json_patch(doc, [{"op": "remove", "path": "/missing"}])

    def test_strategic_merge_directives(self):
        pod = {"metadata": {"finalizers": ["a", "b"]},
               "spec": {"containers": [{"name": "x", "image": "1", "env": [{"name": "E", "value": "1"}]},
                                       {"name": "y", "image": "1"}],
                        "tolerations": [{"key": "t"}]}}
        merged = patches.strategic_merge("Pod", pod, {
            "metadata": {"finalizers": ["c"], "$deleteFromPrimitiveList/finalizers": ["a"]},
            "spec": {"$setElementOrder/containers": [{"name": "y"}, {"name": "x"}],
                     "containers": [{"name": "x", "env": [{"name": "F", "value": "2"}]}],
                     "tolerations": [{"key": "u"}]}})
        self.assertEqual(merged["metadata"]["finalizers"], ["b", "c"])
        self.assertEqual([c["name"] for c in merged["spec"]["containers"]], ["y", "x"])
        self.assertEqual(merged["spec"]["containers"][1]["env"], [{"name": "E", "value": "1"},
                                                                  {"name": "F", "value": "2"}])
        self.assertEqual(merged["spec"]["tolerations"], [{"key": "u"}], "lists without a merge key are replaced")
        replaced = patches.strategic_merge("Pod", pod, {"spec": {"$retainKeys": ["containers"],
                                                                 "containers": [{"$patch": "replace"},
                                                                                {"name": "z", "image": "2"}]}})
        self.assertEqual(replaced["spec"], {"containers": [{"name": "z", "image": "2"}]})

    def test_label_selector_syntax(self):
        labels = {"app": "web", "tier": "front", "n": "5"}
        cases = {"app=web": True, "app==web,tier=front": True, "app!=web": False, "missing!=x": True,
                 "tier in (front, back)": True, "tier notin (front)": False, "app": True, "!app": False,
                 "!missing": True, "n>4": True, "n<5": False, "": True}
        for text, expected in cases.items():
            self.assertEqual(selection.labels_match(selection.parse_label_selector(text), labels), expected, text)
        for bad in ("app=(", "tier in front", "n>x"):
            with self.assertRaises(selection.SelectorError, msg=bad):
                selection.parse_label_selector(bad)

    def test_field_selectors(self):
        pod = {"metadata": {"name": "p", "namespace": "ns"}, "spec": {"nodeName": "n1", "hostNetwork": True}}
        match = lambda text: selection.fields_match(selection.parse_field_selector(text, "Pod"), pod)
        self.assertTrue(match("spec.nodeName=n1,metadata.namespace==ns"))
        self.assertFalse(match("spec.nodeName!=n1"))
        self.assertTrue(match("spec.hostNetwork=true"))
        self.assertTrue(match("status.podIP="), "an absent field is the empty string")
        with self.assertRaises(selection.SelectorError):
            selection.parse_field_selector("spec.nodeName=n1", "NetworkPolicy")


class DeployTests(unittest.TestCase):
    """deploy/ agrees with the agent it deploys and keeps to least privilege."""

    @classmethod
    def setUpClass(cls):
        import yaml

        cls.objects = {}
        for name in sorted(os.listdir(DEPLOY)):
            if name.endswith(".yaml"):
                with open(os.path.join(DEPLOY, name)) as f:
                    for doc in yaml.safe_load_all(f):
                        cls.objects[(doc["kind"], doc["metadata"]["name"])] = doc
        with open(os.path.join(ROOT, "Sources", "Agent", "AgentCommandLine.swift")) as f:
            cls.agent_options = f.read()

    def test_daemonset_args_are_agent_options_fed_by_the_configmap(self):
        pod = self.objects[("DaemonSet", "sluice-agent")]["spec"]["template"]["spec"]
        container = pod["containers"][0]
        config = self.objects[("ConfigMap", "sluice-config")]["data"]
        env = {e["name"]: e.get("valueFrom", {}) for e in container["env"]}
        used_keys = []
        for arg in container["args"]:
            option, _, value = arg.partition("=")
            self.assertIn(f'"{option}"', self.agent_options, f"{option} is not an option of sluice-agent")
            if value.startswith("$("):
                variable = value[2:-1]
                self.assertIn(variable, env, f"{arg} names an undefined variable")
                ref = env[variable].get("configMapKeyRef")
                if ref:
                    self.assertEqual(ref["name"], "sluice-config")
                    self.assertEqual(ref["key"], option[2:], f"{arg} is fed by another key")
                    self.assertIn(ref["key"], config)
                    used_keys.append(ref["key"])
        self.assertEqual(sorted(used_keys), sorted(config), "every ConfigMap key reaches the agent")
        # No endpoints file on a cluster: the node's pods come from the API.
        self.assertIn("--endpoints-from=kubernetes", container["args"])
        self.assertFalse([a for a in container["args"] if a.startswith("--endpoints=")], container["args"])

    def test_daemonset_is_not_privileged_and_drops_all_other_capabilities(self):
        pod = self.objects[("DaemonSet", "sluice-agent")]["spec"]["template"]["spec"]
        security = pod["containers"][0]["securityContext"]
        self.assertTrue(pod["hostNetwork"])
        self.assertFalse(security["privileged"])
        self.assertEqual(security["capabilities"], {"drop": ["ALL"], "add": ["BPF", "NET_ADMIN", "PERFMON",
                                                                              "SYS_RESOURCE"]})
        mounts = {m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        self.assertEqual(mounts, {"/sys/fs/bpf", "/run/sluice"})
        self.assertEqual(pod["serviceAccountName"], "sluice-agent")

    def test_cluster_role_is_least_privilege(self):
        rules = self.objects[("ClusterRole", "sluice-agent")]["rules"]
        granted = {(group, resource): sorted(rule["verbs"])
                   for rule in rules for group in rule["apiGroups"] for resource in rule["resources"]}
        read = ["get", "list", "watch"]
        self.assertEqual(granted, {
            ("cilium.io", "ciliumnetworkpolicies"): read,
            ("cilium.io", "ciliumclusterwidenetworkpolicies"): read,
            ("networking.k8s.io", "networkpolicies"): read,
            ("", "namespaces"): read,
            ("", "pods"): read,
            ("sluice.io", "sluiceidentities"): sorted(read + ["create", "patch", "delete"]),
            ("", "events"): ["create", "patch"],
        })
        binding = self.objects[("ClusterRoleBinding", "sluice-agent")]
        self.assertEqual(binding["subjects"], [{"kind": "ServiceAccount", "name": "sluice-agent",
                                                "namespace": "sluice"}])

    def test_identity_crd_is_cluster_scoped_like_cilium_identity(self):
        crd = self.objects[("CustomResourceDefinition", "sluiceidentities.sluice.io")]["spec"]
        self.assertEqual((crd["group"], crd["scope"], crd["names"]["kind"]), ("sluice.io", "Cluster",
                                                                              "SluiceIdentity"))
        schema = crd["versions"][0]["schema"]["openAPIV3Schema"]
        self.assertEqual(schema["properties"]["security-labels"]["additionalProperties"], {"type": "string"})


class KubectlTests(unittest.TestCase):
    """kubectl against the fake, after deploy/ and the Cilium policy CRDs are applied."""

    @classmethod
    def setUpClass(cls):
        if not KUBECTL:
            raise AssertionError("kubectl is missing (Debian package kubernetes-client; make deps installs it)")
        cls.server = FakeServer()
        cls.env = dict(os.environ, KUBECONFIG=cls.server.kubeconfig)
        cls.env.pop("KUBERNETES_SERVICE_HOST", None)

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def kubectl(self, *args, stdin=None, ok=True):
        result = subprocess.run([KUBECTL, *args], input=stdin, capture_output=True, text=True, env=self.env,
                                timeout=60)
        if ok and result.returncode != 0:
            self.fail(f"kubectl {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    def apply_text(self, text, *extra):
        return self.kubectl("apply", "-f", "-", *extra, stdin=text).stdout.strip()

    def test_01_apply_deploy_created_then_unchanged(self):
        first = self.kubectl("apply", "-f", DEPLOY).stdout
        for line in ("namespace/sluice created",
                     "customresourcedefinition.apiextensions.k8s.io/sluiceidentities.sluice.io created",
                     "serviceaccount/sluice-agent created",
                     "clusterrole.rbac.authorization.k8s.io/sluice-agent created",
                     "clusterrolebinding.rbac.authorization.k8s.io/sluice-agent created",
                     "configmap/sluice-config created",
                     "daemonset.apps/sluice-agent created"):
            self.assertIn(line, first)
        second = self.kubectl("apply", "-f", DEPLOY).stdout
        self.assertNotIn("created", second)
        self.assertEqual(second.count("unchanged"), 7, second)
        crds = self.kubectl("apply", "-f", os.path.join(DEPLOY, "cilium-crds")).stdout
        self.assertIn("customresourcedefinition.apiextensions.k8s.io/ciliumnetworkpolicies.cilium.io created", crds)
        self.assertIn("ciliumclusterwidenetworkpolicies.cilium.io created", crds)
        resources = self.kubectl("api-resources", "--api-group=cilium.io", "-o", "name").stdout.split()
        self.assertEqual(sorted(resources), ["ciliumclusterwidenetworkpolicies.cilium.io",
                                             "ciliumnetworkpolicies.cilium.io"])
        daemonset = json.loads(self.kubectl("get", "-n", "sluice", "daemonset", "sluice-agent", "-o", "json").stdout)
        container = daemonset["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(container["securityContext"]["capabilities"]["add"], ["BPF", "NET_ADMIN", "PERFMON",
                                                                               "SYS_RESOURCE"])
        self.assertTrue(daemonset["spec"]["template"]["spec"]["hostNetwork"])

    def test_02_apply_cnp_created_unchanged_configured_and_get(self):
        self.assertEqual(self.apply_text(CNP.replace("PORT", "80")), "ciliumnetworkpolicy.cilium.io/allow-web created")
        self.assertEqual(self.apply_text(CNP.replace("PORT", "80")),
                         "ciliumnetworkpolicy.cilium.io/allow-web unchanged")
        before = json.loads(self.kubectl("get", "cnp", "allow-web", "-o", "json").stdout)
        self.assertEqual(self.apply_text(CNP.replace("PORT", "8080")),
                         "ciliumnetworkpolicy.cilium.io/allow-web configured")
        text = self.kubectl("get", "ciliumnetworkpolicies.cilium.io", "allow-web", "-o", "yaml").stdout
        self.assertIn('port: "8080"', text)
        self.assertIn("kubectl.kubernetes.io/last-applied-configuration", text)
        after = json.loads(self.kubectl("get", "cnp", "allow-web", "-o", "json").stdout)
        self.assertEqual(after["metadata"]["generation"], before["metadata"]["generation"] + 1)
        self.assertGreater(int(after["metadata"]["resourceVersion"]), int(before["metadata"]["resourceVersion"]))
        self.assertEqual(after["metadata"]["uid"], before["metadata"]["uid"])
        table = self.kubectl("get", "cnp").stdout.splitlines()
        self.assertEqual(table[0].split(), ["NAME", "AGE"])
        self.assertEqual(table[1].split()[0], "allow-web")

    def test_03_get_watch_sees_update(self):
        self.apply_text(CNP.replace("PORT", "80").replace("allow-web", "watched"))
        watcher = subprocess.Popen(
            [KUBECTL, "get", "cnp", "watched", "-w", "-o",
             "jsonpath={.metadata.name} {.spec.ingress[0].toPorts[0].ports[0].port}{\"\\n\"}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env)
        try:
            self.assertEqual(watcher.stdout.readline().strip(), "watched 80")
            self.assertEqual(self.apply_text(CNP.replace("PORT", "443").replace("allow-web", "watched")),
                             "ciliumnetworkpolicy.cilium.io/watched configured")
            self.assertEqual(watcher.stdout.readline().strip(), "watched 443")
        finally:
            watcher.kill()
            watcher.communicate()

    def test_04_delete_then_not_found(self):
        self.apply_text(CNP.replace("PORT", "80").replace("allow-web", "doomed"))
        out = self.kubectl("delete", "cnp", "doomed").stdout.strip()
        self.assertEqual(out, 'ciliumnetworkpolicy.cilium.io "doomed" deleted')
        missing = self.kubectl("get", "cnp", "doomed", ok=False)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn('Error from server (NotFound): ciliumnetworkpolicies.cilium.io "doomed" not found',
                      missing.stderr)

    def test_05_create_twice_is_already_exists_and_stale_replace_conflicts(self):
        policy = CNP.replace("PORT", "80").replace("allow-web", "twice")
        self.kubectl("create", "-f", "-", stdin=policy)
        again = self.kubectl("create", "-f", "-", stdin=policy, ok=False)
        self.assertIn('ciliumnetworkpolicies.cilium.io "twice" already exists', again.stderr)
        self.assertIn("AlreadyExists", again.stderr)
        stale = json.loads(self.kubectl("get", "cnp", "twice", "-o", "json").stdout)
        self.kubectl("label", "cnp", "twice", "touched=yes")
        stale["spec"]["endpointSelector"]["matchLabels"]["app"] = "other"
        conflict = self.kubectl("replace", "-f", "-", stdin=json.dumps(stale), ok=False)
        self.assertIn("Conflict", conflict.stderr)
        self.assertIn('Operation cannot be fulfilled on ciliumnetworkpolicies.cilium.io "twice": the object has been '
                      "modified", conflict.stderr)

    def test_06_pod_strategic_merge_and_selectors(self):
        def pod(tier, node, image):
            return POD.replace("TIER", tier).replace("NODE", node).replace("IMAGE", image)

        self.assertEqual(self.apply_text(pod("a", "n1", "nginx:1")), "pod/web created")
        self.assertEqual(self.apply_text(pod("b", "n1", "nginx:2")), "pod/web configured")
        live = json.loads(self.kubectl("get", "pod", "web", "-o", "json").stdout)
        self.assertEqual(live["metadata"]["labels"], {"app": "web", "tier": "b"})
        self.assertEqual([(c["name"], c["image"]) for c in live["spec"]["containers"]],
                         [("main", "nginx:2"), ("sidecar", "busybox")])
        self.assertEqual(live["status"]["phase"], "Pending")
        self.apply_text(pod("c", "n2", "nginx:1").replace("name: web", "name: other"))
        names = lambda *args: sorted(self.kubectl("get", "pods", *args, "-o", "name").stdout.split())
        self.assertEqual(names("-l", "app=web"), ["pod/other", "pod/web"])
        self.assertEqual(names("-l", "tier in (b,x)"), ["pod/web"])
        self.assertEqual(names("-l", "tier!=b"), ["pod/other"])
        self.assertEqual(names("--field-selector", "spec.nodeName=n2"), ["pod/other"])
        self.assertEqual(names("--field-selector", "metadata.name=web"), ["pod/web"])
        bad = self.kubectl("get", "pods", "--field-selector", "spec.image=x", ok=False)
        self.assertIn("field label not supported: spec.image", bad.stderr)

    def test_07_namespaces_and_cluster_scope(self):
        self.kubectl("create", "namespace", "team-a")
        self.apply_text(CNP.replace("PORT", "80").replace("namespace: default", "namespace: team-a"))
        listed = self.kubectl("get", "cnp", "-A", "-o", "name").stdout.split()
        self.assertIn("ciliumnetworkpolicy.cilium.io/allow-web", listed)
        no_ns = self.kubectl("apply", "-f", "-", stdin=CNP.replace("namespace: default", "namespace: nowhere"),
                             ok=False)
        self.assertIn('namespaces "nowhere" not found', no_ns.stderr)
        ccnp = textwrap.dedent("""\
            apiVersion: cilium.io/v2
            kind: CiliumClusterwideNetworkPolicy
            metadata:
              name: cluster-deny
            spec:
              endpointSelector: {}
              ingressDeny:
              - fromEntities: [world]
            """)
        self.assertEqual(self.apply_text(ccnp),
                         "ciliumclusterwidenetworkpolicy.cilium.io/cluster-deny created")
        self.kubectl("delete", "namespace", "team-a")
        self.assertEqual(self.kubectl("get", "cnp", "-n", "team-a", "-o", "name").stdout.strip(), "")
        self.assertIn("cluster-deny", self.kubectl("get", "ccnp", "-o", "name").stdout)

    def test_07b_apply_removes_a_container_by_strategic_merge(self):
        daemonset = textwrap.dedent("""\
            apiVersion: apps/v1
            kind: DaemonSet
            metadata: {name: two, namespace: default}
            spec:
              selector: {matchLabels: {app: two}}
              template:
                metadata: {labels: {app: two}}
                spec:
                  containers:
                  - {name: a, image: a:1, env: [{name: X, value: "1"}, {name: Y, value: "2"}]}
                  - {name: b, image: b:1}
            """)
        self.assertEqual(self.apply_text(daemonset), "daemonset.apps/two created")
        # kubectl sends {"$setElementOrder/containers": [{"name": "a"}], "containers": [{"$patch": "delete",
        # "name": "b"}, ...]}: the server must merge by name, not replace the list.
        changed = daemonset.replace("  - {name: b, image: b:1}\n", "").replace(', {name: Y, value: "2"}', "")
        self.assertEqual(self.apply_text(changed), "daemonset.apps/two configured")
        live = json.loads(self.kubectl("get", "ds", "two", "-o", "json").stdout)
        containers = live["spec"]["template"]["spec"]["containers"]
        self.assertEqual([(c["name"], c["env"]) for c in containers], [("a", [{"name": "X", "value": "1"}])])

    def test_07c_get_watch_table_output(self):
        self.apply_text(CNP.replace("PORT", "80").replace("allow-web", "tabled"))
        watcher = subprocess.Popen([KUBECTL, "get", "cnp", "tabled", "-w"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=self.env)
        try:
            self.assertEqual(watcher.stdout.readline().split(), ["NAME", "AGE"])
            self.assertEqual(watcher.stdout.readline().split()[0], "tabled")
            self.apply_text(CNP.replace("PORT", "81").replace("allow-web", "tabled"))
            self.assertEqual(watcher.stdout.readline().split()[0], "tabled")
        finally:
            watcher.kill()
            watcher.communicate()

    def test_07d_events_table_selectors_patch_and_namespace_check(self):
        event = {"apiVersion": "v1", "kind": "Event",
                 "metadata": {"name": "bad-cnp.1f2e", "namespace": "default"},
                 "involvedObject": {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
                                    "namespace": "default", "name": "bad-cnp", "uid": "u-1", "resourceVersion": "7"},
                 "reason": "PolicyInvalid", "message": "spec.ingress[0]: broken", "type": "Warning", "count": 1,
                 "source": {"component": "sluice-agent", "host": "n1"},
                 "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z",
                 "reportingComponent": "sluice-agent", "reportingInstance": "n1"}
        self.assertEqual(self.kubectl("create", "-f", "-", stdin=json.dumps(event)).stdout.strip(),
                         "event/bad-cnp.1f2e created")
        table = self.kubectl("get", "events").stdout.splitlines()
        self.assertEqual(table[0].split(), ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"])
        row = next(line for line in table if "bad-cnp" in line)
        self.assertEqual(row.split()[1:5], ["Warning", "PolicyInvalid", "ciliumnetworkpolicy/bad-cnp",
                                            "spec.ingress[0]:"])
        wide = self.kubectl("get", "events", "-o", "wide").stdout
        self.assertIn("sluice-agent, n1", wide)
        names = self.kubectl("get", "events", "--field-selector",
                             "involvedObject.name=bad-cnp,type=Warning,source=sluice-agent", "-o", "name").stdout
        self.assertEqual(names.split(), ["event/bad-cnp.1f2e"])
        self.assertEqual(self.kubectl("get", "events", "--field-selector", "involvedObject.name=other",
                                      "-o", "name").stdout.strip(), "")
        self.kubectl("patch", "event", "bad-cnp.1f2e", "-p", '{"count": 2, "lastTimestamp": "2026-01-01T00:01:00Z"}')
        live = json.loads(self.kubectl("get", "event", "bad-cnp.1f2e", "-o", "json").stdout)
        self.assertEqual((live["count"], live["lastTimestamp"], live["firstTimestamp"]),
                         (2, "2026-01-01T00:01:00Z", "2026-01-01T00:00:00Z"))
        # The real server's check: an Event lives in its object's namespace (default: cluster-scoped).
        event["metadata"] = {"name": "elsewhere", "namespace": "kube-system"}
        result = self.kubectl("create", "-f", "-", stdin=json.dumps(event), ok=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("involvedObject.namespace: Invalid value: \"default\": does not match event.namespace",
                      result.stderr)
        event["involvedObject"]["namespace"] = ""
        event["involvedObject"]["kind"] = "CiliumClusterwideNetworkPolicy"
        event["metadata"] = {"name": "cluster-wide", "namespace": "default"}
        self.kubectl("create", "-f", "-", stdin=json.dumps(event))

    def test_08_wrong_token_is_unauthorized(self):
        bad = os.path.join(self.server.dir, "bad-kubeconfig")
        with open(self.server.kubeconfig) as f, open(bad, "w") as out:
            out.write(f.read().replace(self.server.token, "not-the-token"))
        result = subprocess.run([KUBECTL, "--kubeconfig", bad, "get", "ns"], capture_output=True, text=True,
                                timeout=60)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("Unauthorized", result.stderr)


class PythonClientTests(unittest.TestCase):
    """The official Python client: list, watch, bookmarks, 410 and relist, custom objects."""

    @classmethod
    def setUpClass(cls):
        cls.server = FakeServer("--load", os.path.join(DEPLOY, "cilium-crds", "policies.yaml"),
                                "--load", os.path.join(DEPLOY, "01-sluice-identity-crd.yaml"))
        cls.api_client = config.new_client_from_config(config_file=cls.server.kubeconfig)
        cls.core = client.CoreV1Api(cls.api_client)
        cls.custom = client.CustomObjectsApi(cls.api_client)

    @classmethod
    def tearDownClass(cls):
        cls.api_client.close()
        cls.server.close()

    def make_pod(self, name, labels=None, node="n1"):
        body = {"metadata": {"name": name, "labels": labels or {"app": name}},
                "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]}}
        return self.core.create_namespaced_pod("default", body)

    def test_list_then_watch_from_its_resource_version(self):
        self.make_pod("w1")
        listed = self.core.list_namespaced_pod("default")
        rv = listed.metadata.resource_version
        self.assertIn("w1", [p.metadata.name for p in listed.items])
        self.make_pod("w2")
        self.core.patch_namespaced_pod("w2", "default", {"metadata": {"labels": {"app": "w2", "x": "1"}}})
        self.core.delete_namespaced_pod("w2", "default")
        seen = []
        stream = watch.Watch().stream(self.core.list_namespaced_pod, "default", resource_version=rv,
                                      timeout_seconds=5)
        for event in stream:
            seen.append((event["type"], event["object"].metadata.name, int(event["object"].metadata.resource_version)))
            if len(seen) == 3:
                break
        self.assertEqual([(t, n) for t, n, _ in seen], [("ADDED", "w2"), ("MODIFIED", "w2"), ("DELETED", "w2")])
        rvs = [r for _, _, r in seen]
        self.assertEqual(rvs, sorted(rvs))
        self.assertGreater(rvs[0], int(rv))

    def test_watch_sends_bookmarks(self):
        rv = self.core.list_namespace().metadata.resource_version
        w = watch.Watch()
        for event in w.stream(self.core.list_namespace, resource_version=rv, allow_watch_bookmarks=True,
                              timeout_seconds=5):
            if event["type"] == "BOOKMARK":
                bookmark = event["raw_object"]
                break
        else:
            self.fail("no BOOKMARK within the watch's 5 s")
        self.assertEqual(bookmark["kind"], "Namespace")
        self.assertGreaterEqual(int(bookmark["metadata"]["resourceVersion"]), int(rv))
        self.assertEqual(w.resource_version, bookmark["metadata"]["resourceVersion"])

    def test_410_after_compaction_then_relist(self):
        old = self.core.list_namespaced_pod("default").metadata.resource_version
        self.make_pod("before-compaction")
        compacted = self.server.post_control("compact")["compacted"]
        self.assertGreater(compacted, int(old))
        with self.assertRaises(ApiException) as raised:
            for _ in watch.Watch().stream(self.core.list_namespaced_pod, "default", resource_version=old,
                                          timeout_seconds=5):
                pass
        self.assertEqual(raised.exception.status, 410)
        self.assertIn("Expired: too old resource version", raised.exception.reason)
        # Without a timeout the client retries once on 410 (from the same resourceVersion), then raises.
        with self.assertRaises(ApiException) as raised:
            for _ in watch.Watch().stream(self.core.list_namespaced_pod, "default", resource_version=old):
                pass
        self.assertEqual(raised.exception.status, 410)
        relisted = self.core.list_namespaced_pod("default")
        self.assertIn("before-compaction", [p.metadata.name for p in relisted.items])
        self.make_pod("after-relist")
        for event in watch.Watch().stream(self.core.list_namespaced_pod, "default",
                                          resource_version=relisted.metadata.resource_version, timeout_seconds=5):
            self.assertEqual((event["type"], event["object"].metadata.name), ("ADDED", "after-relist"))
            break
        else:
            self.fail("the watch after the relist saw nothing")

    def test_expire_ends_open_watches_with_410(self):
        rv = self.core.list_namespace().metadata.resource_version
        errors, seen = [], []

        def watch_namespaces():
            try:
                for event in watch.Watch().stream(self.core.list_namespace, resource_version=rv,
                                                  timeout_seconds=20):
                    seen.append(event["object"].metadata.name)
            except ApiException as error:
                errors.append(error.status)

        import threading

        thread = threading.Thread(target=watch_namespaces)
        thread.start()
        self.core.create_namespace({"metadata": {"name": "before-expire"}})
        # Once the watch has seen the newest event it is up to date: a compaction alone would not
        # end it, /expire must.
        poll("the watch to see the namespace", lambda: "before-expire" in seen)
        self.server.post_control("expire")
        thread.join(DEADLINE)
        self.assertFalse(thread.is_alive(), "the open watch did not end on /expire")
        self.assertEqual(errors, [410])

    def test_large_event_split_across_chunks(self):
        big = {"metadata": {"name": "big", "annotations": {"filler": "x" * 20000}},
               "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
        rv = self.core.list_namespaced_pod("default").metadata.resource_version
        self.core.create_namespaced_pod("default", big)
        for event in watch.Watch().stream(self.core.list_namespaced_pod, "default", resource_version=rv,
                                          timeout_seconds=5):
            if event["object"].metadata.name == "big":
                self.assertEqual(len(event["object"].metadata.annotations["filler"]), 20000)
                break
        else:
            self.fail("the large pod's event did not arrive")

    def test_paging_and_expired_continue(self):
        for i in range(5):
            self.custom.create_cluster_custom_object("sluice.io", "v1alpha1", "sluiceidentities", {
                "apiVersion": "sluice.io/v1alpha1", "kind": "SluiceIdentity",
                "metadata": {"name": str(300 + i), "labels": {"set": "paging"}},
                "security-labels": {"k8s:app": f"a{i}"}})
        first = self.custom.list_cluster_custom_object("sluice.io", "v1alpha1", "sluiceidentities", limit=2,
                                                  label_selector="set=paging")
        token = first["metadata"]["continue"]
        self.assertEqual(len(first["items"]), 2)
        self.custom.delete_cluster_custom_object("sluice.io", "v1alpha1", "sluiceidentities", "304")
        rest = self.custom.list_cluster_custom_object("sluice.io", "v1alpha1", "sluiceidentities", limit=10,
                                                      label_selector="set=paging", _continue=token)
        names = [o["metadata"]["name"] for o in first["items"] + rest["items"]]
        self.assertEqual(names, ["300", "301", "302", "303", "304"], "a paged list is one consistent snapshot")
        again = self.custom.list_cluster_custom_object("sluice.io", "v1alpha1", "sluiceidentities", limit=2)
        self.custom.delete_cluster_custom_object("sluice.io", "v1alpha1", "sluiceidentities", "303")
        self.server.post_control("compact")  # now the token's resourceVersion is older than the history
        with self.assertRaises(ApiException) as raised:
            self.custom.list_cluster_custom_object("sluice.io", "v1alpha1", "sluiceidentities", limit=2,
                                                   _continue=again["metadata"]["continue"])
        self.assertEqual(raised.exception.status, 410)
        self.assertEqual(json.loads(raised.exception.body)["reason"], "Expired")

    def test_exact_and_not_older_than_reads(self):
        self.make_pod("versions", labels={"v": "1"})
        at = self.core.list_namespaced_pod("default", label_selector="v").metadata.resource_version
        self.core.patch_namespaced_pod("versions", "default", {"metadata": {"labels": {"v": "2"}}})
        exact = self.core.list_namespaced_pod("default", label_selector="v", resource_version=at,
                                              resource_version_match="Exact")
        self.assertEqual([p.metadata.labels["v"] for p in exact.items], ["1"])
        self.assertEqual(exact.metadata.resource_version, at)
        newer = self.core.list_namespaced_pod("default", label_selector="v", resource_version=at,
                                              resource_version_match="NotOlderThan")
        self.assertEqual([p.metadata.labels["v"] for p in newer.items], ["2"])
        with self.assertRaises(ApiException) as raised:
            self.core.list_namespaced_pod("default", resource_version=str(int(newer.metadata.resource_version) + 100),
                                          resource_version_match="NotOlderThan")
        self.assertEqual(raised.exception.status, 504)

    def test_identity_objects_conflicts_and_patches(self):
        group = ("sluice.io", "v1alpha1", "sluiceidentities")
        body = {"apiVersion": "sluice.io/v1alpha1", "kind": "SluiceIdentity", "metadata": {"name": "256"},
                "security-labels": {"k8s:app": "web", "k8s:io.kubernetes.pod.namespace": "default"}}
        created = self.custom.create_cluster_custom_object(*group, body)
        self.assertEqual(created["security-labels"]["k8s:app"], "web")
        with self.assertRaises(ApiException) as raised:
            self.custom.create_cluster_custom_object(*group, body)
        status = json.loads(raised.exception.body)
        self.assertEqual((raised.exception.status, status["reason"], status["details"]),
                         (409, "AlreadyExists", {"name": "256", "group": "sluice.io", "kind": "sluiceidentities"}))
        self.assertEqual(status["message"], 'sluiceidentities.sluice.io "256" already exists')
        self.custom.patch_cluster_custom_object(*group, "256", {"metadata": {"labels": {"gc": "mark"}}})
        stale = dict(created)
        with self.assertRaises(ApiException) as raised:
            self.custom.replace_cluster_custom_object(*group, "256", stale)
        self.assertEqual((raised.exception.status, json.loads(raised.exception.body)["reason"]), (409, "Conflict"))
        with self.assertRaises(ApiException) as raised:
            self.custom.get_cluster_custom_object(*group, "9999")
        self.assertEqual(json.loads(raised.exception.body), {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": 'sluiceidentities.sluice.io "9999" not found', "reason": "NotFound",
            "details": {"name": "9999", "group": "sluice.io", "kind": "sluiceidentities"}, "code": 404})

    def test_malformed_requests_get_an_answer_and_the_server_keeps_serving(self):
        import socket

        host, port = self.server.state["host"], self.server.state["port"]
        requests = [
            b"GARBAGE\r\n\r\n",
            b"POST /api/v1/namespaces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + self.server.token.encode()
            + b"\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n",
            b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
        ]
        for request in requests:
            with socket.create_connection((host, port), timeout=5) as raw:
                with self.server.ssl.wrap_socket(raw, server_hostname="localhost") as tls:
                    tls.sendall(request)
                    answer = tls.recv(4096)
            self.assertIn(b"400", answer.split(b"\r\n")[0] if answer.startswith(b"HTTP/") else answer, request)
        self.assertEqual(self.server.http("GET", "/api")[0], 200)

    def test_custom_resources_checked_against_the_crd_schema(self):
        path = "/apis/sluice.io/v1alpha1/sluiceidentities"
        body = {"apiVersion": "sluice.io/v1alpha1", "kind": "SluiceIdentity", "metadata": {"name": "400"},
                "security-labels": {"k8s:app": 7}}
        status, reply = self.server.http("POST", path, body)
        self.assertEqual((status, reply["reason"]), (422, "Invalid"))
        self.assertEqual(reply["message"], 'SluiceIdentity.sluice.io "400" is invalid: security-labels.k8s:app: '
                                           'Invalid value: "integer": security-labels.k8s:app in body must be of '
                                           'type string: "integer"')
        status, reply = self.server.http("POST", path, {"apiVersion": "sluice.io/v1alpha1", "kind": "SluiceIdentity",
                                                        "metadata": {"name": "401"}})
        self.assertEqual((status, reply["message"]),
                         (422, 'SluiceIdentity.sluice.io "401" is invalid: security-labels: Required value'))
        body["security-labels"] = {"k8s:app": "x"}
        body["spec"] = {"stray": True}
        status, reply = self.server.http("POST", path + "?fieldValidation=Strict", body)
        self.assertEqual((status, reply["message"]), (400, 'strict decoding error: unknown field "spec"'))
        status, reply = self.server.http("POST", path, body)
        self.assertEqual(status, 201)
        self.assertNotIn("spec", reply, "an unknown field is pruned without Strict")

    def test_watch_label_selector_turns_leaving_into_deleted(self):
        self.make_pod("mover", labels={"role": "in"})
        rv = self.core.list_namespaced_pod("default", label_selector="role=in").metadata.resource_version
        self.core.patch_namespaced_pod("mover", "default", {"metadata": {"labels": {"role": "out"}}})
        self.core.patch_namespaced_pod("mover", "default", {"metadata": {"labels": {"role": "in"}}})
        seen = []
        for event in watch.Watch().stream(self.core.list_namespaced_pod, "default", label_selector="role=in",
                                          resource_version=rv, timeout_seconds=5):
            seen.append(event["type"])
            if len(seen) == 2:
                break
        self.assertEqual(seen, ["DELETED", "ADDED"])

    def test_send_initial_events_ends_with_annotated_bookmark(self):
        self.make_pod("initial-1")
        events = []
        for event in watch.Watch().stream(self.core.list_namespaced_pod, "default", send_initial_events=True,
                                          resource_version_match="NotOlderThan", allow_watch_bookmarks=True,
                                          timeout_seconds=5):
            events.append(event)
            if event["type"] == "BOOKMARK":
                break
        self.assertIn("initial-1", [e["object"].metadata.name for e in events if e["type"] == "ADDED"])
        self.assertEqual(events[-1]["raw_object"]["metadata"]["annotations"], {"k8s.io/initial-events-end": "true"})

    def test_pod_status_subresource_and_frozen_spec(self):
        self.make_pod("kubelet-owned", node="n2")
        # What a kubelet does: the status through the status subresource.
        self.core.patch_namespaced_pod_status("kubelet-owned", "default", {"status": {
            "phase": "Running", "podIP": "10.244.2.7", "podIPs": [{"ip": "10.244.2.7"}]}})
        pod = self.core.read_namespaced_pod("kubelet-owned", "default")
        self.assertEqual((pod.status.phase, pod.status.pod_ip), ("Running", "10.244.2.7"))
        # The main resource ignores status changes, as the real server.
        self.core.patch_namespaced_pod("kubelet-owned", "default", {"status": {"phase": "Failed"}})
        self.assertEqual(self.core.read_namespaced_pod("kubelet-owned", "default").status.phase, "Running")
        by_ip = self.core.list_pod_for_all_namespaces(field_selector="status.podIP=10.244.2.7")
        self.assertEqual([p.metadata.name for p in by_ip.items], ["kubelet-owned"])
        with self.assertRaises(ApiException) as raised:
            self.core.patch_namespaced_pod("kubelet-owned", "default", {"spec": {"nodeName": "n1"}})
        self.assertEqual(raised.exception.status, 422)
        self.assertIn("pod updates may not change fields", json.loads(raised.exception.body)["message"])

    def test_in_cluster_service_account_files(self):
        from kubernetes.config.incluster_config import InClusterConfigLoader

        account = os.path.join(self.server.dir, "serviceaccount")
        configuration = client.Configuration()
        InClusterConfigLoader(token_filename=os.path.join(account, "token"),
                              cert_filename=os.path.join(account, "ca.crt"),
                              environ={"KUBERNETES_SERVICE_HOST": self.server.state["host"],
                                       "KUBERNETES_SERVICE_PORT": str(self.server.state["port"])}
                              ).load_and_set(configuration)
        with client.ApiClient(configuration) as api_client:
            names = [n.metadata.name for n in client.CoreV1Api(api_client).list_namespace().items]
        self.assertIn("kube-system", names)

    def test_protobuf_namespace_body(self):
        # What kubectl >= 1.33 sends for `kubectl create namespace`: the k8s envelope around a
        # generated.proto Namespace (metadata = 1; ObjectMeta name = 1, labels = 11).
        def field(number, payload):
            return bytes([number << 3 | 2, len(payload)]) + payload

        meta = field(1, b"proto-ns") + field(11, field(1, b"team") + field(2, b"a"))
        envelope = (b"k8s\x00" + field(1, field(1, b"v1") + field(2, b"Namespace")) + field(2, field(1, meta))
                    + field(4, b""))
        status, body = self.server.http("POST", "/api/v1/namespaces", envelope,
                                        content_type="application/vnd.kubernetes.protobuf")
        self.assertEqual((status, body["metadata"]["name"], body["metadata"]["labels"]),
                         (201, "proto-ns", {"team": "a", "kubernetes.io/metadata.name": "proto-ns"}))
        pod = b"k8s\x00" + field(1, field(1, b"v1") + field(2, b"Pod")) + field(2, field(1, field(1, b"p")))
        status, body = self.server.http("POST", "/api/v1/namespaces/default/pods", pod,
                                        content_type="application/vnd.kubernetes.protobuf")
        self.assertEqual((status, body["reason"]), (415, "UnsupportedMediaType"))

    def test_raw_status_bodies_and_discovery(self):
        status, body = self.server.http("GET", "/api/v1/namespaces", token=False)
        self.assertEqual((status, body), (401, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                                "status": "Failure", "message": "Unauthorized",
                                                "reason": "Unauthorized", "code": 401}))
        status, _ = self.server.http("GET", "/api/v1/namespaces", token="wrong")
        self.assertEqual(status, 401)
        status, _ = self.server.http("GET", "/api/v1/namespaces", token="n\u00e4h")
        self.assertEqual(status, 401, "a non-ASCII token is refused, not a crash")
        status, body = self.server.http("POST", "/api/v1/namespaces", b"{not json")
        self.assertEqual((status, body["reason"]), (400, "BadRequest"))
        status, body = self.server.http("GET", "/api/v1/pods?labelSelector=a%20in%20b")
        self.assertEqual((status, body["reason"]), (400, "BadRequest"))
        status, body = self.server.http("GET", "/api/v1/pods?watch=1&resourceVersion=abc")
        self.assertEqual((status, body["reason"]), (400, "BadRequest"))
        status, body = self.server.http("GET", "/apis")
        self.assertEqual(status, 200)
        groups = {g["name"]: g["preferredVersion"]["version"] for g in body["groups"]}
        self.assertEqual((groups["cilium.io"], groups["sluice.io"], groups["networking.k8s.io"]),
                         ("v2", "v1alpha1", "v1"))
        status, body = self.server.http("GET", "/apis/cilium.io/v2")
        scoped = {r["name"]: r["namespaced"] for r in body["resources"]}
        self.assertEqual((scoped["ciliumnetworkpolicies"], scoped["ciliumclusterwidenetworkpolicies"]), (True, False))
        status, body = self.server.http("GET", "/apis/sluice.io/v1alpha1")
        self.assertEqual([(r["name"], r["namespaced"], r["kind"]) for r in body["resources"]],
                         [("sluiceidentities", False, "SluiceIdentity")])
        status, body = self.server.http("POST", "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies",
                                        {"metadata": {"name": "np"}, "spec": {"podSelector": {}}})
        self.assertEqual((status, body["kind"], body["metadata"]["namespace"]), (201, "NetworkPolicy", "default"))
        status, body = self.server.http("PATCH", "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies/np",
                                        [{"op": "add", "path": "/spec/policyTypes", "value": ["Ingress"]}],
                                        content_type="application/json-patch+json")
        self.assertEqual((status, body["spec"]["policyTypes"]), (200, ["Ingress"]))
        status, body = self.server.http("PATCH", "/apis/cilium.io/v2/namespaces/default/ciliumnetworkpolicies/x", {},
                                        content_type="application/strategic-merge-patch+json")
        self.assertEqual(status, 404)
        self.server.http("POST", "/apis/cilium.io/v2/namespaces/default/ciliumnetworkpolicies",
                         {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "smp"},
                          "spec": {}})
        status, body = self.server.http("PATCH", "/apis/cilium.io/v2/namespaces/default/ciliumnetworkpolicies/smp",
                                        {}, content_type="application/strategic-merge-patch+json")
        self.assertEqual((status, body["reason"]), (415, "UnsupportedMediaType"))


class StopStartTests(unittest.TestCase):
    """The control endpoint's stop/start: the port closes (watches end), the state survives."""

    def test_stop_closes_watches_and_start_keeps_state(self):
        elsewhere = tempfile.mkdtemp(prefix="sluice-kubeconfig-")
        # --kubeconfig: a copy elsewhere (the sandbox's /run/sluice/sandbox/kubeconfig) that works alone.
        server = FakeServer("--kubeconfig", os.path.join(elsewhere, "kubeconfig"))
        try:
            api_client = config.new_client_from_config(config_file=os.path.join(elsewhere, "kubeconfig"))
            core = client.CoreV1Api(api_client)
            core.create_namespace({"metadata": {"name": "kept"}})
            rv = core.list_namespace().metadata.resource_version
            ended = []

            def watch_until_closed():
                try:
                    for _ in watch.Watch().stream(core.list_namespace, resource_version=rv, timeout_seconds=30):
                        pass
                    ended.append("closed")
                except Exception as error:  # the connection is cut: any client error counts as ended
                    ended.append(type(error).__name__)

            import threading

            thread = threading.Thread(target=watch_until_closed)
            thread.start()
            self.assertFalse(server.post_control("stop")["serving"])
            thread.join(DEADLINE)
            self.assertFalse(thread.is_alive(), "the open watch did not end when the server stopped")
            with self.assertRaises(Exception):
                core.list_namespace(_request_timeout=2)
            self.assertTrue(server.post_control("start")["serving"])
            names = [n.metadata.name for n in core.list_namespace().items]
            self.assertIn("kept", names)
            api_client.close()
        finally:
            server.close()
            shutil.rmtree(elsewhere, ignore_errors=True)


    def test_signals_compact_and_toggle(self):
        import signal

        server = FakeServer()
        try:
            def state():
                with urllib.request.urlopen(f"{server.control}/state", timeout=5) as response:
                    return json.load(response)

            server.http("POST", "/api/v1/namespaces", {"metadata": {"name": "bumped"}})
            before = state()
            self.assertLess(before["compacted"], before["resourceVersion"])
            server.process.send_signal(signal.SIGUSR1)
            poll("SIGUSR1 to compact", lambda: state()["compacted"] == before["resourceVersion"])
            server.process.send_signal(signal.SIGUSR2)
            poll("SIGUSR2 to stop serving", lambda: not state()["serving"])
            with self.assertRaises(OSError):
                server.http("GET", "/api")
            server.process.send_signal(signal.SIGUSR2)
            poll("SIGUSR2 to serve again", lambda: state()["serving"])
            self.assertEqual(server.http("GET", "/api/v1/namespaces/bumped")[0], 200)
        finally:
            server.close()


if __name__ == "__main__":
    print(f"kubectl: {KUBECTL}; kubernetes (Python) {kubernetes.__version__}", flush=True)
    unittest.main(verbosity=2)
