#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer + AddressSanitizer, replays every saved failure in
# FailCases/<target>/, then fuzzes each target for N seconds (default 30).
#
#   FuzzTesting/run.sh              # every target, 30 s each
#   FuzzTesting/run.sh 120          # every target, 120 s each
#   FuzzTesting/run.sh 60 FuzzDNS   # one target
#
# The growing corpus is kept in .build/corpus/<target> (seeded from Seeds/<target>); a crash is
# written to .build/artifacts/<target>/ and makes the script exit 1 after the other targets ran.
# Copy a crash into FailCases/<target>/ (and add a unit test for it) once it is fixed.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${1:-30}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(FuzzHTTP1Request FuzzHTTP1Response FuzzChunked FuzzDNS FuzzPolicyYAML)
fi

flags=(-c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
swift build "${flags[@]}"
bin="$(swift build "${flags[@]}" --show-bin-path)"

failed=()
for t in "${targets[@]}"; do
    if compgen -G "FailCases/$t/*" > /dev/null; then
        echo "== $t: replaying FailCases/$t"
        if ! "$bin/$t" -runs=1 FailCases/"$t"/*; then
            failed+=("$t (FailCases)")
            continue
        fi
    fi
    corpus=".build/corpus/$t"
    artifacts=".build/artifacts/$t/"
    mkdir -p "$corpus" "$artifacts"
    seeds=()
    [ -d "Seeds/$t" ] && seeds=("Seeds/$t")
    echo "== $t: fuzzing for ${seconds}s"
    if ! "$bin/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="$artifacts" "$corpus" "${seeds[@]}"; then
        failed+=("$t")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]} (inputs in .build/artifacts/)" >&2
    exit 1
fi
echo "all fuzz targets ran clean"
