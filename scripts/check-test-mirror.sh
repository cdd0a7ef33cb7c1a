#!/usr/bin/env bash
# Tests mirror Sources: every Swift source file with behaviour, Sources/<Target>/<Name>.swift, has
# its test file Tests/<Target>Tests/<Name>Tests.swift (an extension file Type+Concern.swift has
# Type+ConcernTests.swift). "Behaviour" is a func, init, subscript or computed property; a file of
# plain declarations (an enum of cases, a struct of stored fields) needs no test file.
#
# Files that have no mirror yet are listed, with the reason, in scripts/test-mirror-gaps.txt: the
# check fails on a gap that is not listed (a new source file without its test file) and warns about
# a listed entry that is no longer a gap (remove it from the list). Targets in MIRROR_SKIP_TARGETS
# (default: Proxy, being reorganised under issue 13) are not checked.
#
# Usage: scripts/check-test-mirror.sh          check (exit 1 on an unlisted gap)
#        scripts/check-test-mirror.sh --list   print every gap, listed or not
set -euo pipefail
cd "$(dirname "$0")/.."

skip=" ${MIRROR_SKIP_TARGETS-Proxy} "
gaps_file=scripts/test-mirror-gaps.txt

has_behaviour() {
    # Comments dropped, then a declaration with a body of code.
    grep -qE '(^|[^A-Za-z0-9_])(func|init[?!]?|subscript)[[:space:]]*[(<]|(^|[^A-Za-z0-9_])func[[:space:]]|(^|[[:space:]])var[[:space:]]+[A-Za-z0-9_]+[[:space:]]*:[^=]*\{[[:space:]]*($|[^}])' < <(sed -e 's://.*$::' "$1")
}

gaps=()
while IFS= read -r source; do
    target=$(cut -d/ -f2 <<<"$source")
    [[ $skip == *" $target "* ]] && continue
    name=$(basename "$source" .swift)
    [ -f "Tests/${target}Tests/${name}Tests.swift" ] && continue
    has_behaviour "$source" || continue
    gaps+=("$source")
done < <(find Sources -name '*.swift' | LC_ALL=C sort)

if [ "${1:-}" = --list ]; then
    printf '%s\n' "${gaps[@]}"
    exit 0
fi

declare -A listed=() found=()
if [ -f "$gaps_file" ]; then
    while read -r line _; do
        line=${line%%#*}
        [ -n "$line" ] && listed[$line]=1
    done <"$gaps_file"
fi

status=0
for gap in "${gaps[@]}"; do
    found[$gap]=1
    if [ -z "${listed[$gap]:-}" ]; then
        target=$(cut -d/ -f2 <<<"$gap")
        echo "test-mirror: $gap has behaviour but no Tests/${target}Tests/$(basename "$gap" .swift)Tests.swift" >&2
        status=1
    fi
done
for entry in "${!listed[@]}"; do
    if [ -z "${found[$entry]:-}" ]; then
        echo "test-mirror: warning: $entry is listed in $gaps_file but is no longer a gap; remove it" >&2
    fi
done
if [ $status = 0 ]; then
    echo "test-mirror: ok (${#gaps[@]} known gaps listed in $gaps_file)"
fi
exit $status
