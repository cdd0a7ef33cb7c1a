# Anti-spoofing (issue 12): a pod with CAP_NET_RAW (frontend, root in its namespace) writes raw
# IPv4/UDP packets with IP_HDRINCL toward a listener in backend. With its own source address the
# datagram arrives; with db's address, or an address that is no endpoint, tc drops it on
# frontend's veth with INVALID_SOURCE_IP (132), recorded as sent by frontend. This holds with no
# policy at all and with a policy that allows everything (the sandbox keeps rp_filter off, so
# only the datapath stands in the way). The real-source datagram is sent after the forged ones
# on the same path, so its arrival shows the forged ones would have arrived before it.
source "$(dirname "$0")/../lib.sh"
sandbox_up
ip_of() { python3 -c 'import json,sys; print([e["ipv4"] for e in json.load(open("/run/sluice/sandbox/state.json"))["endpoints"] if e["pod"] == sys.argv[1]][0])' "$1"; }
backend_ip=$(ip_of backend)
frontend_ip=$(ip_of frontend)
db_ip=$(ip_of db)
nowhere=10.244.250.250
work=$(mktemp -d)
sink_pid=
trap '[ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null; rm -rf "$work"; cleanup' EXIT

# A UDP listener in backend on port 9999 that appends every datagram's payload and source
# address to a file; it exits by itself after 120 s.
cat >"$work/sink.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 9999))
s.settimeout(0.5)
end = time.time() + 120
with open(sys.argv[1], "a", buffering=1) as out:
    out.write("ready\n")
    while time.time() < end:
        try:
            data, peer = s.recvfrom(2048)
        except socket.timeout:
            continue
        out.write(f"{data.decode(errors='replace')} from {peer[0]}\n")
PY
# send SRC DST PAYLOAD: one raw IPv4/UDP datagram (IPPROTO_RAW implies IP_HDRINCL: the kernel
# sends the header as written, source included, and fills in the checksum and length).
cat >"$work/send.py" <<'PY'
import socket, struct, sys
src, dst, payload = sys.argv[1], sys.argv[2], sys.argv[3].encode()
udp = struct.pack("!HHHH", 40000, 9999, 8 + len(payload), 0) + payload
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, socket.IPPROTO_UDP, 0,
                 socket.inet_aton(src), socket.inet_aton(dst))
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.sendto(ip + udp, (dst, 0))
PY

received="$work/received.txt"
: >"$received"
"$SLUICE" sandbox exec backend/backend -- python3 "$work/sink.py" "$received" &
sink_pid=$!
wait_until "the listener in backend started" grep -q '^ready$' "$received"

# wait_received PAYLOAD: polls (10 s) until the listener recorded PAYLOAD.
wait_received() {
  wait_until "$1 arrived (so far: $(tr '\n' ' ' <"$received"))" grep -q "^$1 from " "$received"
  echo "ok: $(grep "^$1 from " "$received")"
}

# wait_spoof_drop SRC: polls (10 s) for the DROPPED INVALID_SOURCE_IP flow of a forged datagram.
wait_spoof_drop() {
  local src=$1 expr n
  expr="f['verdict']=='DROPPED' and f.get('drop_reason_desc')=='INVALID_SOURCE_IP' and f.get('traffic_direction')=='EGRESS' and f.get('IP',{}).get('source')=='$src' and f.get('IP',{}).get('destination')=='$backend_ip' and f.get('l4',{}).get('UDP',{}).get('destination_port')==9999 and f['source'].get('pod_name')=='frontend' and f['source'].get('identity',0)>=256 and f['destination'].get('pod_name')=='backend' and f['destination'].get('identity',0)>=256"
  n=$(await_flows 1 "$expr") || fail "no DROPPED INVALID_SOURCE_IP flow for source $src"
  echo "ok: $n DROPPED INVALID_SOURCE_IP flows for source $src"
}

# round TAG: forged (db's address, no endpoint's address), then real; checks all three.
round() {
  local tag=$1
  pod frontend/frontend python3 "$work/send.py" "$db_ip" "$backend_ip" "$tag-as-db"
  pod frontend/frontend python3 "$work/send.py" "$nowhere" "$backend_ip" "$tag-as-nowhere"
  pod frontend/frontend python3 "$work/send.py" "$frontend_ip" "$backend_ip" "$tag-real"
  wait_received "$tag-real"
  expect_eq "$tag: real source" "$tag-real from $frontend_ip" "$(grep "^$tag-real from " "$received")"
  if grep -q "^$tag-as-" "$received"; then fail "$tag: a forged datagram arrived: $(grep "^$tag-as-" "$received")"; fi
  echo "ok: $tag: no forged datagram arrived"
  wait_spoof_drop "$db_ip"
  wait_spoof_drop "$nowhere"
}

step "no policy: forged sources are dropped, the real one arrives"
round nopolicy
compact=$("$SLUICE" observe --verdict DROPPED --last 5)
echo "$compact"
expect_contains "compact" "Invalid source ip DROPPED (UDP)" "$compact"

step "a policy that allows everything changes nothing"
open=$work/open.yaml
cat >"$open" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: open}
spec:
  endpointSelector: {}
  egress: [{toEntities: [all]}]
  ingress: [{fromEntities: [all]}]
YAML
apply "$open"
before=$(count_flows "f.get('drop_reason_desc')=='INVALID_SOURCE_IP'")
round open
after=$(count_flows "f.get('drop_reason_desc')=='INVALID_SOURCE_IP'")
[ "$after" -ge $((before + 2)) ] || fail "expected two more INVALID_SOURCE_IP flows, had $before, now $after"
echo "ok: INVALID_SOURCE_IP flows $before -> $after"
json=$(flows_json --verdict DROPPED | grep INVALID_SOURCE_IP | tail -n 1)
echo "$json"
expect_contains "json" '"drop_reason":132' "$json"
expect_contains "json" '"event_type":{"type":1,"sub_type":132}' "$json"
