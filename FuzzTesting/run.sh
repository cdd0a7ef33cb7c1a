#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer + AddressSanitizer and runs them one by one: replays
# every saved failure in FailCases/<target>/, then fuzzes the target for SECONDS (default
# FUZZ_SECONDS, else 60). Each target is built on its own, so one that does not compile fails
# alone and the others still run. Prints executions per target last.
#
#   FuzzTesting/run.sh              # every target, FUZZ_SECONDS (60) each
#   FuzzTesting/run.sh 20           # every target, 20 s each (what `make test` runs)
#   FuzzTesting/run.sh 60 FuzzDNS   # one target
#
# The growing corpus is kept in .build/corpus/<target> (seeded from the committed Seeds/<target>);
# a crash is written to .build/artifacts/<target>/ and makes the script exit 1 after the other
# targets ran. Copy a crash into FailCases/<target>/ (and add a named unit test with the same
# bytes) once it is fixed.
set -uo pipefail
cd "$(dirname "$0")"

seconds="${1:-${FUZZ_SECONDS:-60}}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(FuzzHTTP1Request FuzzHTTP1Response FuzzChunked FuzzDNS FuzzPolicyYAML FuzzJSON FuzzHTTP2 FuzzTLSClientHello)
fi

flags=(-c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
bin="$(swift build "${flags[@]}" --show-bin-path)"

failed=()
rows=()
for t in "${targets[@]}"; do
    echo "== $t: building"
    if ! swift build "${flags[@]}" --product "$t" 2>&1 | tail -n 20; then
        failed+=("$t (build)")
        rows+=("$t | - | does not build")
        continue
    fi
    if [ ! -x "$bin/$t" ]; then
        failed+=("$t (build)")
        rows+=("$t | - | does not build")
        continue
    fi
    if compgen -G "FailCases/$t/*" > /dev/null; then
        echo "== $t: replaying FailCases/$t"
        if ! "$bin/$t" -runs=1 FailCases/"$t"/*; then
            failed+=("$t (FailCases)")
            rows+=("$t | - | a saved failure fails again")
            continue
        fi
    fi
    corpus=".build/corpus/$t"
    artifacts=".build/artifacts/$t/"
    mkdir -p "$corpus" "$artifacts"
    seeds=()
    [ -d "Seeds/$t" ] && seeds=("Seeds/$t")
    echo "== $t: fuzzing for ${seconds}s"
    log=".build/fuzz-$t.log"
    "$bin/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="$artifacts" "$corpus" "${seeds[@]}" >"$log" 2>&1
    rc=$?
    tail -n 12 "$log"
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    corpus_size=$(ls "$corpus" | wc -l)
    if [ "$rc" != 0 ]; then
        failed+=("$t")
        rows+=("$t | ${runs:-?} | FAILED (exit $rc; input in $artifacts)")
    elif [ -z "$runs" ] || [ "$runs" -eq 0 ]; then
        failed+=("$t (no executions)")
        rows+=("$t | 0 | ran nothing")
    else
        rows+=("$t | $runs | ok, corpus $corpus_size inputs")
    fi
done

echo
echo "fuzzing, ${seconds}s per target:"
echo "| target | executions | result |"
echo "|---|---|---|"
for r in "${rows[@]}"; do echo "| $r |"; done
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "all fuzz targets ran clean"
