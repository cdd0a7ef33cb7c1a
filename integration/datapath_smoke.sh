#!/usr/bin/env bash
# Manual end-to-end check of the steering path (docs/architecture.md, "Steering"); run as root.
#
#   integration/datapath_smoke.sh HARNESS [OBJDIR]
#
# HARNESS is an executable built on the Datapath target with two commands:
#   HARNESS serve OBJDIR IFNAME...  load + attach (sk_lookup on its netns, tc on each IFNAME),
#                                   set endpoints 10.244.1.10 (id 1) and 10.244.2.10 (id 2), set
#                                   L7 port (2, 80, TCP, INGRESS) -> HTTP, listen on 127.0.0.1:15001
#                                   (IP_TRANSPARENT) in sockmap slot HTTP, print READY, accept one
#                                   connection, print ACCEPTED local=... and STEERED ..., answer
#                                   "proxied", close everything, print CLOSED and exit
#   HARNESS flows N                 print the last N flow records (FLOW ... lines)
#   HARNESS detach OBJDIR IFNAME... remove the tc filter from each IFNAME (twice: idempotent)
#   HARNESS unpin                   remove the pins
# Both read the pin directory from DP_PIN_DIR. OBJDIR defaults to bpf/ of this repository.
#
# What it checks: (1) curl from pod A to pod B:80 lands in the proxy with the original
# destination 10.244.2.10:80 and the steered entry (endpoint 2, ingress, HTTP); (2) with the
# proxy gone, a second curl times out (fail closed: pod B's own server on :80 is never reached)
# and a DROPPED flow (PROXY_LOOKUP_FAILED) is in the ring; (3) pod B:6379 is reached directly with
# the pod's own source address; (4) a restarted harness re-uses the pinned maps and link (one
# sk_lookup link, one tc filter per veth) and proxies again; (5) after detaching the tc filters,
# pod B's own server on :80 answers directly. Exit status 0 only when every check passed.
set -uo pipefail

HARNESS=${1:?usage: $0 HARNESS [OBJDIR]}
REPO=$(cd "$(dirname "$0")/.." && pwd)
OBJDIR=${2:-$REPO/bpf}
export DP_PIN_DIR=${DP_PIN_DIR:-/sys/fs/bpf/sluice-smoke}
NODE=dp-node A=dp-a B=dp-b
OUT=$(mktemp -d /tmp/datapath-smoke.XXXXXX)
PIDS=()
FAILED=0

[[ $(id -u) == 0 ]] || { echo "must run as root" >&2; exit 1; }
[[ -f $OBJDIR/tc_endpoint.o && -f $OBJDIR/sk_lookup.o ]] || make -C "$REPO/bpf" >/dev/null || exit 1

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    for ns in $A $B $NODE; do ip netns del "$ns" 2>/dev/null; done
    "$HARNESS" unpin >/dev/null 2>&1 || true
    echo "logs: $OUT"
}
trap cleanup EXIT

check() { # check NAME COMMAND...
    if "${@:2}"; then echo "PASS $1"; else echo "FAIL $1"; FAILED=1; fi
}

# IDs of the sk_lookup links attached to the node namespace (others may exist on the machine).
sk_lookup_links() {
    local ino
    ino=$(stat -L -c %i /run/netns/$NODE)
    bpftool -j link show | python3 -c 'import json, sys
ino = int(sys.argv[1])
print(" ".join(str(l["id"]) for l in json.load(sys.stdin)
               if l.get("attach_type") == "sk_lookup" and l.get("netns_ino") == ino))' "$ino"
}

not_grep() { ! grep -q "$@"; }

in_node() { nsenter --net=/run/netns/$NODE "$@"; }

setup() {
    for ns in $NODE $A $B; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
    ip -n $NODE addr add 10.244.0.1/32 dev lo
    ip netns exec $NODE sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
        net.ipv4.conf.default.rp_filter=0
    local pod ip host
    for pod in "$A 10.244.1.10 dpa-host" "$B 10.244.2.10 dpb-host"; do
        set -- $pod
        ip link add "$3" netns $NODE type veth peer name eth0 netns "$1"
        ip -n "$1" addr add "$2/32" dev eth0
        ip -n "$1" link set eth0 up
        ip -n "$1" route add 10.244.0.1 dev eth0 scope link
        ip -n "$1" route add default via 10.244.0.1 dev eth0
        ip -n $NODE link set "$3" up
        ip netns exec $NODE sysctl -qw "net.ipv4.conf.$3.proxy_arp=1" "net.ipv4.conf.$3.rp_filter=0"
        ip -n $NODE route add "$2/32" dev "$3"
    done
}

start_harness() { # start_harness LOGNAME
    in_node "$HARNESS" serve "$OBJDIR" dpa-host dpb-host >"$OUT/$1.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 50); do grep -q READY "$OUT/$1.log" && return 0; sleep 0.2; done
    cat "$OUT/$1.log"; return 1
}

setup
# Pod B's own servers: :80 must never be reached while steered, :6379 always directly.
ip netns exec $B python3 -m http.server 80 --bind 10.244.2.10 >"$OUT/b-http.log" 2>&1 &
PIDS+=($!)
ip netns exec $B python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.244.2.10", 6379)); s.listen()
while True:
    c, a = s.accept(); c.sendall(b"direct from " + a[0].encode() + b"\n"); c.close()
' >"$OUT/b-6379.log" 2>&1 &
PIDS+=($!)
sleep 1

# 1. Steered to the proxy, original destination preserved.
check "harness ready" start_harness first
body=$(ip netns exec $A curl -s -m 5 http://10.244.2.10/)
wait "${PIDS[-1]}"
cat "$OUT/first.log"
check "curl answered by the proxy" test "$body" = proxied
check "original destination 10.244.2.10:80" grep -q "ACCEPTED local=10.244.2.10:80 peer=10.244.1.10:" "$OUT/first.log"
check "steered entry: endpoint 2, ingress, HTTP" \
    grep -q "STEERED endpoint=2 direction=1 kind=1 src_identity=1001 dst_identity=1002" "$OUT/first.log"

# 2. Proxy gone: fail closed, DROPPED flow in the ring.
ip netns exec $A curl -s -m 3 http://10.244.2.10/ >/dev/null
rc=$?
check "curl times out with the proxy gone (rc=$rc)" test "$rc" = 28
"$HARNESS" flows 5 | tee "$OUT/flows.log"
check "DROPPED flow PROXY_LOOKUP_FAILED" grep -q \
    "verdict=2 type=1 event=1 drop_reason=162 dir=1 10.244.1.10:[0-9]* -> 10.244.2.10:80 proto=6 flags=2 ids=1001->1002 eps=1->2" \
    "$OUT/flows.log"
check "pod B's own :80 never reached" not_grep '"GET ' "$OUT/b-http.log"

# 3. Not an L7 port: reached directly.
direct=$(ip netns exec $A timeout 5 bash -c 'exec 3<>/dev/tcp/10.244.2.10/6379 && cat <&3')
check "6379 reached directly ($direct)" test "$direct" = "direct from 10.244.1.10"

# 4. Restart: pinned maps and link reused (the same link, switched to the new program).
link_before=$(sk_lookup_links)
check "harness ready after restart" start_harness second
link_after=$(sk_lookup_links)
check "sk_lookup link kept ($link_before -> $link_after)" test -n "$link_before" -a "$link_before" = "$link_after"
body=$(ip netns exec $A curl -s -m 5 http://10.244.2.10/)
wait "${PIDS[-1]}"
check "curl answered after restart" test "$body" = proxied
links=$(sk_lookup_links)
check "one sk_lookup link ($links)" test "$(wc -w <<<"$links")" = 1

filters=$(tc -n $NODE filter show dev dpa-host ingress | grep -c "sluice_tc_endpo")
check "one tc filter on dpa-host after two attaches ($filters)" test "$filters" = 1

# 5. Detach: no more steering, pod B's own :80 answers.
in_node "$HARNESS" detach "$OBJDIR" dpa-host dpb-host >"$OUT/detach.log" 2>&1
filters=$(tc -n $NODE filter show dev dpa-host ingress | grep -c "sluice_tc_endpo")
check "tc filter removed ($filters)" test "$filters" = 0
check "pod B's :80 reached directly after detach" \
    bash -c "ip netns exec $A curl -s -m 5 -o /dev/null -w '%{http_code}' http://10.244.2.10/ | grep -q 200"

exit $FAILED
