#!/usr/bin/env bash
# Mutation check: applies deliberate bugs to the sources one at a time, runs the tests that must
# catch each, and prints which tests failed. A mutation no test catches fails the run: the suite
# would let that bug through.
#
#   bash bench/mutation-check.sh                       # bench/mutations/default.sh
#   bash bench/mutation-check.sh bench/mutations/X.sh  # another list
#   ONLY="403|DNS" bash bench/mutation-check.sh        # mutations whose name matches the regex
#
# A list file calls `mutation NAME FILE PERL-SUBSTITUTION TEST-FILTER [SCENARIO]` per bug:
# FILE is changed with `perl -0pi -e PERL-SUBSTITUTION` (it must change), the unit tests
# matching TEST-FILTER (`swift test --filter`) run, and with SCENARIOS=1 also the integration
# scenarios whose name contains SCENARIO (after `make build`; slow). Each file is restored after
# its mutation, also on Ctrl-C. Needs a clean copy of each mutated file (no local changes).
set -uo pipefail
cd "$(dirname "$0")/.."
list="${1:-bench/mutations/default.sh}"
names=() files=() substs=() filters=() scenarios=()
mutation() { names+=("$1"); files+=("$2"); substs+=("$3"); filters+=("$4"); scenarios+=("${5:-}"); }
# shellcheck source=/dev/null
source "$list"

backup=$(mktemp -d)
current=""
restore() { if [ -n "$current" ]; then cp "$backup/file" "$current"; current=""; fi; }
trap 'restore; rm -rf "$backup"' EXIT
trap 'exit 130' INT TERM

# Failing tests in `swift test` output (XCTest): "error: Suite.testName :".
failed_tests() {
  grep -oE 'error: [A-Za-z0-9_]+\.[A-Za-z0-9_]+ :' "$1" | sed -E 's/error: (.*) :/\1/' | sort -u | paste -sd, -
}

rows=() escaped=0
for i in "${!names[@]}"; do
  name=${names[$i]} file=${files[$i]}
  if [ -n "${ONLY:-}" ] && ! [[ "$name" =~ $ONLY ]]; then continue; fi
  echo "=== mutation: $name ($file)"
  if ! git diff --quiet -- "$file"; then
    echo "$file has local changes: commit or stash them first" >&2
    exit 2
  fi
  cp "$file" "$backup/file"
  current=$file
  perl -0pi -e "${substs[$i]}" "$file"
  if cmp -s "$file" "$backup/file"; then
    rows+=("$name | NOT APPLIED (the substitution matched nothing) | -")
    escaped=$((escaped + 1))
    restore
    continue
  fi
  git --no-pager diff --stat -- "$file" | head -1
  log="$backup/test.log"
  if ! swift build --build-tests >"$log" 2>&1; then
    rows+=("$name | DOES NOT COMPILE (fix the mutation) | -")
    escaped=$((escaped + 1))
    tail -5 "$log"
    restore
    continue
  fi
  swift test --skip-build --filter "${filters[$i]}" >"$log" 2>&1
  caught=$(failed_tests "$log")
  if [ "${SCENARIOS:-0}" = 1 ] && [ -n "${scenarios[$i]}" ]; then
    make build >/dev/null 2>&1 || true
    if ! bash integration/run.sh "${scenarios[$i]}" >"$backup/int.log" 2>&1; then
      caught="${caught:+$caught,}$(grep -oE '^FAIL [^ ]+' "$backup/int.log" | sed 's/^FAIL /scenario /' | paste -sd, -)"
    fi
  fi
  if [ -n "$caught" ]; then
    rows+=("$name | caught | $caught")
  else
    rows+=("$name | ESCAPED: no test failed | filter ${filters[$i]}")
    escaped=$((escaped + 1))
  fi
  restore
done
# Leave the tree's own build behind, not the last mutant's.
swift build --build-tests >/dev/null 2>&1 || true
if [ "${SCENARIOS:-0}" = 1 ]; then make build >/dev/null 2>&1 || true; fi

echo
echo "| mutation | result | failing tests |"
echo "|---|---|---|"
for r in "${rows[@]}"; do echo "| $r |"; done
[ "$escaped" = 0 ] || { echo "$escaped mutation(s) not caught" >&2; exit 1; }
echo "every mutation was caught"
