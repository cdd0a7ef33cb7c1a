#!/usr/bin/env bash
# Micro-benchmarks of pure code (bench/micro/, the executable sluice-microbench), built in
# release: SluiceJSON on a 1 MB policy-shaped document, RE2 vs Swift Regex vs the prefix engine.
# They used to run inside the unit suite, where they timed nothing reliably and asserted nothing
# about time. Each also checks its result and exits 1 when it is wrong.
# `policy-apply [POLICIES] [RULES]` (not in the default set): the stages of `sluice apply` of the
# policy-scale file, CPU time and peak RSS per stage, and what stays resident.
# `dns`: the DNS proxy's denied path (REFUSED copied vs written in place vs the lean head) and answer check
# (question decoded vs compared on the wire), ns per query.
# `policy-memory [POLICIES] [RULES]`: the agent's apply path in a fresh process, malloc's bytes
# in use after each step (which structure holds how much), peak RSS and RSS.
# `transport` (not in the default set): the observer's follow-stream output, the copying HTTP/2 path
# against the gather path (NO_COPY DATA frames, one sendmsg per batch), ns per message over TCP loopback.
# `transport-batching` (not in the default set): the follow stream's batches written once per ring poll
# against each as it fills (32-256 KiB), ns per message over TCP loopback (run it under `taskset -c 0`).
# `decision`: one side's HTTP decision as a copied `Verdict` against `briefDecide`, ns per request.
# `follow`: the follow stream's encoding alone (also part of `observer`), to profile it.
# `head-parse`: the HTTP/1 head parser alone, ns per head: wrk's get-ka request, a browser-shaped request,
# the bench upstream's nginx response and a response with long values (HEAD_PARSE_ONLY=<name>: one, to profile it).
# Usage: bash bench/micro.sh [json|regex|flow|observer|follow|dns|decision|head-parse|transport|transport-batching|policy-apply|policy-memory]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product sluice-microbench >/dev/null
".build/release/sluice-microbench" "$@"
