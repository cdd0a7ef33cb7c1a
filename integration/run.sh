#!/usr/bin/env bash
# Runs every integration scenario (integration/scenarios/*.sh) against the real sandbox: root,
# BPF, network namespaces, real curl/python clients and real servers. A scenario that cannot run
# fails; nothing is skipped. Prints "N passed, N failed" last.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
export SLUICE="${SLUICE:-$root/.build/release/sluice}"
export SLUICE_HOME="$root"
out="$here/.out"
mkdir -p "$out"
passed=0
failed=0
failed_names=()
only="${1:-}"
# One sandbox per machine: scenarios, benchmarks and manual runs take this lock.
exec 9>/run/lock/sluice-sandbox.lock
flock 9
if [ "$(id -u)" != 0 ]; then
  echo "integration: must run as root (network namespaces, BPF): failing" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
if [ ! -x "$SLUICE" ]; then
  echo "integration: $SLUICE is missing (make build): failing" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
for s in "$here"/scenarios/*.sh; do
  name=$(basename "$s" .sh)
  if [ -n "$only" ] && [[ "$name" != *"$only"* ]]; then continue; fi
  start=$(date +%s)
  if timeout 300 bash "$s" >"$out/$name.log" 2>&1; then
    passed=$((passed + 1))
    echo "PASS $name ($(( $(date +%s) - start ))s)"
  else
    failed=$((failed + 1))
    failed_names+=("$name")
    echo "FAIL $name ($(( $(date +%s) - start ))s) — last lines of $out/$name.log:"
    tail -n 25 "$out/$name.log" | sed 's/^/    /'
  fi
  "$SLUICE" sandbox down >/dev/null 2>&1 || true
done
echo "integration: $passed passed, $failed failed${failed_names[*]:+ (${failed_names[*]})}"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
