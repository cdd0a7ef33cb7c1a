#!/usr/bin/env bash
# Where Sluice's time goes under load: `perf record -g` of the agent (1 worker, pinned) while
# wrk runs SCENARIO (default get-ka) from the client pod; prints `perf report` and keeps
# perf.data under bench/results/profile-<timestamp>/, with the share of each object (kernel, the
# agent's own code, libc) and the flat profile by symbol.
#   bash bench/profile.sh [SCENARIO]      (PROFILE_SECONDS=10, FLOWS=1; FLOWS=0 adds --no-flows)
#   CALL_GRAPH="--call-graph dwarf,16384": callers of the Swift runtime's retain/release too
#   (built without frame pointers, so `-g` shows them without a caller); keep PROFILE_SECONDS short.
set -u
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bench_prelude "$@"
command -v perf >/dev/null || die "perf not installed (Debian: linux-perf)"
SC=${1:-get-ka}
: "${PROFILE_SECONDS:=10}" "${FLOWS:=1}" "${CALL_GRAPH:=-g}"
PEERS=""
OUT="$BENCH/results/profile-$(date +%Y%m%d-%H%M%S)"
RUN_DIR="$OUT/run" RAW="$OUT/raw"
mkdir -p "$RUN_DIR" "$RAW"
trap 'sandbox_down' EXIT
trap 'exit 130' INT TERM

flags=(--workers 1 --pin-cpu "$PROXY_CPU"); [ "$FLOWS" = 1 ] || flags+=(--no-flows)
sandbox_up "${flags[@]}" || die "sandbox up failed"
check_rules sluice || die "rule check failed"
DURATION=$((PROFILE_SECONDS + 2)) run_load sluice "$SC" 1 &
load=$!
sleep 1
perf record $CALL_GRAPH -o "$OUT/perf.data" -p "$AGENT_PID" -- sleep "$PROFILE_SECONDS" 2>"$OUT/perf-record.log"
wait "$load"
python3 "$BENCH/summarize.py" "$OUT" | grep "^| sluice" || true
perf report -i "$OUT/perf.data" --stdio --no-children --percent-limit 1 2>/dev/null | grep -v '^$' | head -"${LINES_SHOWN:-80}"
echo "--- by object (self): the sluice-agent line is Sluice's own user-space code (with the Swift runtime)"
perf report -i "$OUT/perf.data" --stdio --no-children -g none --sort dso 2>/dev/null | grep -v '^#' | grep -v '^$' | head -8
echo "--- flat (self) by symbol"
perf report -i "$OUT/perf.data" --stdio --no-children -g none --percent-limit 0.7 2>/dev/null | grep -v '^#' | grep -v '^$' | head -50
