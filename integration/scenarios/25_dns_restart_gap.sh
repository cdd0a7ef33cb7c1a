# DNS across an agent restart (issue 4): a client in frontend sends a query every 5 ms for an
# allowed name and one for a denied name, while the agent is stopped and started again. Measured:
# the longest gap without an allowed answer (printed as "dns restart gap"); asserted: the gap is
# bounded, the denied name never gets an answer (fails closed: no unfiltered DNS), and allowed
# answers resume.
source "$(dirname "$0")/../lib.sh"
sandbox_up
apply "$ROOT/integration/policies/dns-frontend.yaml"
DNS=$(python3 -c 'import json; print(json.load(open("/run/sluice/sandbox/state.json"))["dnsIP"])')
out=$(mktemp)
trap 'rm -f "$out"; cleanup' EXIT
pod frontend/frontend python3 - "$DNS" >"$out" <<'PY' &
import socket, struct, sys, time
def query(qid, name):
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
allowed, denied = "backend.backend.svc.cluster.local", "example.com"
sent = {}
answers = []          # times of allowed NOERROR answers
denied_answers = 0    # any answer but REFUSED for the denied name
refused = 0
qid = 0
start = time.time()
while time.time() - start < 8:
    qid = (qid + 1) & 0xFFFF
    name = allowed if qid % 2 else denied
    sent[qid] = name
    s.sendto(query(qid, name), (sys.argv[1], 53))
    deadline = time.time() + 0.005
    while time.time() < deadline:
        try:
            data, _ = s.recvfrom(4096)
        except BlockingIOError:
            time.sleep(0.0005)  # pacing of the non-blocking receive loop, not synchronisation
            continue
        rid, flags = struct.unpack(">HH", data[:4])
        rcode = flags & 0xF
        if sent.get(rid) == allowed and rcode == 0:
            answers.append(time.time())
        elif sent.get(rid) == denied:
            if rcode == 5:
                refused += 1
            else:
                denied_answers += 1
gaps = [b - a for a, b in zip(answers, answers[1:])]
print("answers", len(answers), "refused", refused, "denied_answers", denied_answers,
      "gap_ms", int(max(gaps) * 1000) if gaps else -1,
      "last_answer_age_ms", int((time.time() - answers[-1]) * 1000) if answers else -1)
PY
client=$!
# The restart starts once the client's queries are answered through the proxy (its first flow).
await_flows 1 'f.get("l7",{}).get("type")=="RESPONSE" and f["l7"].get("dns",{}).get("query")=="backend.backend.svc.cluster.local." and f["destination"].get("pod_name")=="frontend"' >/dev/null
t0=$(date +%s%N)
"$SLUICE" sandbox stop-agent
t1=$(date +%s%N)
"$SLUICE" sandbox start-agent
t2=$(date +%s%N)
wait "$client"
cat "$out"
read -r _ answers _ refused _ denied_answers _ gap _ age <"$out"
echo "stop-agent took $(( (t1 - t0) / 1000000 )) ms, start-agent returned after $(( (t2 - t1) / 1000000 )) ms"
echo "dns restart gap: ${gap} ms"
[ "$answers" -gt 100 ] || fail "too few allowed answers ($answers)"
[ "$refused" -gt 100 ] || fail "too few REFUSED answers ($refused)"
expect_eq "answers for the denied name other than REFUSED" 0 "$denied_answers"
[ "$gap" -ge 0 ] && [ "$gap" -lt 1000 ] || fail "DNS gap during the restart is ${gap} ms (bound 1000)"
[ "$age" -lt 500 ] || fail "allowed answers did not resume (last one ${age} ms before the end)"
