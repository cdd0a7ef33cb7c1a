# Hubble's flow exporter (issue 15): with --hubble-export-file-path the agent writes the flows as
# Hubble JSON lines (the lines of `sluice observe -o json`, the same uuid for the same record),
# only those its allowlist matches and its denylist does not (JSON encoded flow filters), and
# rotates the file by size keeping --hubble-export-file-max-backups rotated files. `sluice
# observe --input-file` reads the exported file back with the same filters.
source "$(dirname "$0")/../lib.sh"
EXPORT_DIR=/run/sluice/export-16c
EXPORT=$EXPORT_DIR/flows.json
rm -rf "$EXPORT_DIR"
"$SLUICE" sandbox up "$TOPO" \
  "--agent-arg=--hubble-export-file-path=$EXPORT" \
  --agent-arg=--hubble-export-file-max-size-mb=1 \
  --agent-arg=--hubble-export-file-max-backups=1 \
  '--agent-arg=--hubble-export-allowlist={"destination_pod":["database/"]},{"source_pod":["database/"]}' \
  '--agent-arg=--hubble-export-denylist={"destination_port":["9998"]}'
trap 'rm -rf "$EXPORT_DIR"; cleanup' EXIT
ip_of() { python3 -c 'import json,sys; print([e["ipv4"] for e in json.load(open("/run/sluice/sandbox/state.json"))["endpoints"] if e["pod"] == sys.argv[1]][0])' "$1"; }
db_ip=$(ip_of db)

# exported EXPR: how many exported flows (current file and backups) satisfy EXPR over f (the flow).
exported() {
  cat "$EXPORT_DIR"/flows*.json 2>/dev/null | python3 -c '
import json, sys
n = 0
for line in sys.stdin:
    o = json.loads(line)
    f = o.get("flow")
    if f is not None and eval(sys.argv[1]):
        n += 1
print(n)
' "$1"
}
# await_exported N EXPR: polls (10 s) until at least N exported flows satisfy EXPR; prints the count.
await_exported() {
  local deadline=$((SECONDS + 10)) n
  while n=$(exported "$2"); [ "$n" -lt "$1" ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "expected $1 exported flows matching [$2], got $n"
    sleep 0.2  # poll interval (deadline above)
  done
  echo "$n"
}
udp() {
  pod "$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(int(sys.argv[3])):
    try:
        s.sendto(b"x" * 64, (sys.argv[1], int(sys.argv[2])))
    except OSError:
        pass
' "$db_ip" "$2" "$3"
}

step "a TCP connection to db is exported as Hubble JSON, the same flows as observe"
expect_eq "client -> db" "hello" "$(nc_send default/client "$db_ip" 6379 hello)"
to_db='f["destination"].get("pod_name") == "db" and f["l4"].get("TCP", {}).get("destination_port") == 6379 and f["source"].get("pod_name") == "client"'
n=$(await_exported 2 "$to_db")
echo "ok: $n exported trace flows client -> db:6379"
line=$(grep -m1 '"destination_port":6379' "$EXPORT" | tr -d ' ')
expect_contains "exported JSON" '"flow":{"time":' "$line"
expect_contains "exported JSON" '"Type":"L3_L4"' "$line"
expect_contains "exported JSON" '"node_name":"' "$line"
expect_contains "exported JSON" '"emitter":{"name":"Sluice"' "$line"
# The same records carry the same uuids in observe and in the file (observe first: the exporter
# polls, so the file is awaited to hold as many).
uuids_observe=$("$SLUICE" observe --all -o json --to-port 6379 --from-pod default/client --to-pod database/db | python3 -c '
import json, sys
print(" ".join(sorted(json.loads(l)["flow"]["uuid"] for l in sys.stdin)))')
await_exported "$(echo "$uuids_observe" | wc -w)" "$to_db" >/dev/null
uuids_file=$(cat "$EXPORT" | python3 -c '
import json, sys
flows = [json.loads(l).get("flow") for l in sys.stdin]
print(" ".join(sorted(f["uuid"] for f in flows if f and '"$to_db"')))')
expect_eq "the exported uuids are observe's" "$uuids_observe" "$uuids_file"

step "the allowlist keeps other pods' flows out, the denylist port 9998"
expect_eq "frontend -> backend GET /get" 200 "$(http_code frontend/frontend $BACKEND/get)"
await_flows 1 'f["destination"].get("pod_name") == "backend"' >/dev/null
udp default/client 9998 3
udp default/client 9997 3
await_flows 1 'f["l4"].get("UDP", {}).get("destination_port") == 9998' >/dev/null
await_exported 1 'f["l4"].get("UDP", {}).get("destination_port") == 9997' >/dev/null
expect_eq "exported flows to backend" 0 "$(exported 'f["destination"].get("pod_name") == "backend" or f["source"].get("pod_name") == "backend"')"
expect_eq "exported flows to port 9998" 0 "$(exported 'f["l4"].get("UDP", {}).get("destination_port") == 9998')"

step "the file rotates at 1 MB and keeps one backup"
policy=$(mktemp --suffix .yaml)
cat > "$policy" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: db-tcp-only, namespace: database}
spec:
  endpointSelector: {matchLabels: {app: database}}
  ingress:
  - toPorts: [{ports: [{port: "6379", protocol: TCP}]}]
YAML
apply "$policy"
rm -f "$policy"
drops='f["verdict"] == "DROPPED" and f["l4"].get("UDP", {}).get("destination_port") == 9999'
# backup_name: the one rotated file's name ("" before the first rotation); more than one fails.
backup_name() {
  local names
  names=$(cd "$EXPORT_DIR" && ls | grep -v '^flows.json$' || true)
  [ "$(echo "$names" | grep -c .)" -le 1 ] || fail "more than one backup: $names"
  echo "$names"
}
sent=0
first=""
deadline=$((SECONDS + 90))
# Floods of 1500 drops, each followed by one drop to a marker port (20000 + batch) that the
# exporter writes after the batch (it writes in ring order), so the 4096-record ring never wraps
# under it; until the file rotated twice: the first backup was replaced by a newer one.
while :; do
  [ "$SECONDS" -lt "$deadline" ] || fail "no second rotation after $sent drops: $(ls -l "$EXPORT_DIR")"
  udp default/client 9999 1500
  sent=$((sent + 1500))
  marker=$((20000 + sent / 1500))
  udp default/client "$marker" 1
  await_exported 1 "f[\"l4\"].get(\"UDP\", {}).get(\"destination_port\") == $marker" >/dev/null
  name=$(backup_name)
  if [ -z "$first" ]; then first=$name; elif [ "$name" != "$first" ]; then break; fi
done
ls -l "$EXPORT_DIR"
echo "ok: rotated past $first to $name after $sent drops"
n=$(exported "$drops")
[ "$n" -ge 1000 ] && [ "$n" -lt "$sent" ] || fail "expected 1000 or more of the $sent drops kept (the oldest file removed), got $n"
echo "ok: $n drops in the file and its backup"
case "$name" in flows-20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]-[0-5][0-9]-[0-5][0-9].[0-9][0-9][0-9].json) echo "ok: backup name $name" ;;
  *) fail "backup name $name is not flows-<time>.json" ;; esac
for f in "$EXPORT_DIR"/*; do
  size=$(stat -c %s "$f")
  [ "$size" -le 1048576 ] || fail "$f has $size bytes, more than 1 MB"
done
# Every line of both files is a flow (or lost-events) object; observe reads the file back.
python3 -c '
import json, sys
for path in sys.argv[1:]:
    for n, line in enumerate(open(path), 1):
        o = json.loads(line)
        assert "flow" in o or "lost_events" in o, (path, n, line)
' "$EXPORT_DIR"/*
n=$("$SLUICE" observe --input-file "$EXPORT" --all --to-port 9999 --verdict DROPPED | grep -c "UDP")
[ "$n" -ge 100 ] || fail "observe --input-file found $n drops to 9999 in the export file"
echo "ok: observe --input-file reads $n drops from the export file"
