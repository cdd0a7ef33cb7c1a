#!/usr/bin/env python3
"""Write the L3/L4 scale policy for bench/l3l4.sh: IDENTITIES peer identities x PORTS ports
(default 1,000 x 10 = 10,000 L3/L4 rules, no L7) on the bench upstream's ingress, plus one CNP
that lets the bench client in on the measured ports (80 for the connection rate, 5201 for the
iperf3 stream).

The sandbox node has two pods, so the 1,000 peers are CIDR identities (one /32 each in
172.16.0.0/16): the datapath then holds what 1,000 endpoints' identities would give it, 1,000
ipcache entries and 10,000 policy map entries for the upstream, and every packet of the
measured stream goes through the same lookups as with pod peers.

usage: scale_l3l4.py OUT.yaml [IDENTITIES] [PORTS]
"""
import sys


def peer_policy(i, ports):
    port_lines = "".join(
        f'      - port: "{10000 + k}"\n        protocol: TCP\n' for k in range(ports))
    return (
        "apiVersion: cilium.io/v2\n"
        "kind: CiliumNetworkPolicy\n"
        "metadata:\n"
        f"  name: l3l4-scale-{i:04d}\n"
        "  namespace: bench\n"
        "spec:\n"
        "  endpointSelector:\n"
        "    matchLabels: {app: upstream}\n"
        "  ingress:\n"
        f"  - fromCIDR: [172.16.{i // 250}.{i % 250 + 1}/32]\n"
        "    toPorts:\n"
        "    - ports:\n"
        f"{port_lines}"
    )


CLIENT = """apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: l3l4-scale-client
  namespace: bench
spec:
  endpointSelector:
    matchLabels: {app: upstream}
  ingress:
  - fromEndpoints:
    - matchLabels: {app: client}
    toPorts:
    - ports:
      - {port: "80", protocol: TCP}
      - {port: "5201", protocol: TCP}
"""


def main():
    out = sys.argv[1]
    identities = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    ports = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    with open(out, "w") as f:
        f.write("---\n".join([CLIENT] + [peer_policy(i, ports) for i in range(identities)]))


if __name__ == "__main__":
    main()
