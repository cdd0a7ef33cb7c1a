#!/usr/bin/env bash
# The agent's functions in the order a typical life first runs them, as a linker symbol
# ordering file (lld --symbol-ordering-file), issue 19, s18-mem:
#   SLUICE=/path/sluice bash bench/text_order.sh ORDER_FILE
#   swiftc ... -Xlinker --symbol-ordering-file=ORDER_FILE   (the agent's link, relinked by hand)
# A page of the binary's text is resident once touched, and the kernel maps up to 64 KiB of
# cached file pages around each fault, so functions used together but scattered over the
# binary keep most of its text resident. Records (system-wide perf, filtered to the agent) its
# page faults and a 10 kHz CPU sample over: sandbox up with the bench policy, get-ka, deny-ka,
# get-close, the 10,000-rule file applied, one rule changed, get-ka, status, policy get; writes
# the agent's function symbols in order of first appearance after the ones ORDER_FILE already
# lists (run it again on a binary linked with the order: the faults left point at functions
# still out of place), and the binary's resident pages by section and module
# (bench/text_residency.py) before sandbox down. Measured and not adopted: three rounds moved
# the agent's file-backed RSS by less than run-to-run layout noise (docs/performance.md, s18-mem).
set -u
DURATION=${DURATION:-2}
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bench_prelude "$@"
ORDER=${1:?usage: bench/text_order.sh ORDER_FILE}
OUT="${OUT:-$BENCH/results/text-order-$(date +%Y%m%d-%H%M%S)}"
RUN_DIR="$OUT/run"
mkdir -p "$RUN_DIR"
RAW="$OUT/raw"
command -v perf >/dev/null || die "perf missing"
scale="$RUN_DIR/scale-policy.yaml" one="$RUN_DIR/scale-policy-one.yaml"
python3 "$BENCH/scale_policy.py" "$scale" "$SCALE_POLICIES" "$SCALE_RULES" >&2
python3 "$BENCH/scale_policy.py" "$one" "$SCALE_POLICIES" "$SCALE_RULES" /scale-marker-one >&2

AGENT_BIN=$(dirname "$SLUICE")/sluice-agent
perf record -q -a -o "$OUT/perf.data" -e exceptions:page_fault_user -e cpu-clock/period=100000/ 2>"$OUT/perf.log" &
PERF=$!
trap 'kill -INT $PERF 2>/dev/null; sandbox_down' EXIT
sleep 1
sandbox_up --workers 1 --pin-cpu "$PROXY_CPU" || die "sandbox up failed"
cp "/proc/$AGENT_PID/maps" "$OUT/agent.maps"
echo "$AGENT_PID" >"$OUT/agent.pid"
for sc in get-ka deny-ka get-close; do run_load sluice "$sc" 1; done
"$SLUICE" apply -f "$scale" >/dev/null
"$SLUICE" apply -f "$one" >/dev/null
run_load sluice get-ka 2
"$SLUICE" status >/dev/null 2>&1 || true
"$SLUICE" policy get >/dev/null 2>&1 || true
python3 "$BENCH/text_residency.py" "$AGENT_PID" >"$OUT/residency.txt" 2>&1 || true
sandbox_down
kill -INT $PERF; wait $PERF 2>/dev/null
trap - EXIT

perf script -i "$OUT/perf.data" --no-demangle -F trace:pid,trace -F sw:pid,ip 2>/dev/null >"$OUT/script.txt"
python3 "$BENCH/text_order.py" "$OUT/script.txt" "$ORDER" "$AGENT_BIN" "$OUT/agent.maps" "$(cat "$OUT/agent.pid")"
