#!/usr/bin/env python3
"""Write the policy-scale file: POLICIES CiliumNetworkPolicies x RULES HTTP rules (default
1,000 x 10 = 10,000 rules), every one on the bench upstream's port 80, each CNP admitting a
different peer label set (app=scale-peer-NNNN: 1,000 distinct peer identities to resolve).

CNP 0 admits the bench client's namespace instead, and its first rule is the marker
`GET /scale-marker`: 403 before the file is in force, 200 once it is, which is how
bench/run.sh times "until it is in force".

usage: scale_policy.py OUT.yaml [POLICIES] [RULES] [MARKER]

MARKER (default /scale-marker) is the marker rule's path: bench/run.sh applies a 100,000-rule
file with its own marker after the 10,000-rule one, so that its coming in force is seen too.
"""
import sys

METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


MARKER = "/scale-marker"


def rule(i, k):
    if i == 0 and k == 0:
        return f'        - method: "GET"\n          path: "{MARKER}"\n'
    method = METHODS[(i + k) % len(METHODS)]
    if k % 2 == 0:
        path = f"/svc-{i:04d}/v{k}/items/[0-9]+"
    else:
        path = f"/svc-{i:04d}/v{k}/.*"
    return f'        - method: "{method}"\n          path: "{path}"\n'


def policy(i, rules):
    peer = ("        k8s:io.kubernetes.pod.namespace: bench\n" if i == 0
            else f"        app: scale-peer-{i:04d}\n")
    return (
        "apiVersion: cilium.io/v2\n"
        "kind: CiliumNetworkPolicy\n"
        "metadata:\n"
        f"  name: bench-scale-{i:04d}\n"
        "  namespace: bench\n"
        "spec:\n"
        "  endpointSelector:\n"
        "    matchLabels:\n"
        "      app: upstream\n"
        "  ingress:\n"
        "  - fromEndpoints:\n"
        "    - matchLabels:\n"
        f"{peer}"
        "    toPorts:\n"
        "    - ports:\n"
        '      - port: "80"\n'
        "        protocol: TCP\n"
        "      rules:\n"
        "        http:\n"
        + "".join(rule(i, k) for k in range(rules))
    )


def main():
    global MARKER
    out = sys.argv[1]
    if len(sys.argv) > 4:
        MARKER = sys.argv[4]
    policies = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    rules = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    with open(out, "w") as f:
        f.write("---\n".join(policy(i, rules) for i in range(policies)))
    print(f"{out}: {policies} policies x {rules} rules = {policies * rules} HTTP rules")


if __name__ == "__main__":
    main()
