#!/usr/bin/env bash
# Tests mirror Sources: every Swift source file with behaviour, Sources/<Target>/<Name>.swift, has
# its test file Tests/<Target>Tests/<Name>Tests.swift (an extension file Type+Concern.swift has
# Type+ConcernTests.swift); a source in a folder, Sources/<Target>/<Folder>/<Name>.swift, may have
# it in the same folder, Tests/<Target>Tests/<Folder>/<Name>Tests.swift. "Behaviour" is a func, init, subscript or computed property; a file of
# plain declarations (an enum of cases, a struct of stored fields) needs no test file.
#
# Files that have no mirror yet are listed, with the reason, in scripts/test-mirror-gaps.txt: the
# check fails on a gap that is not listed (a new source file without its test file) and warns about
# a listed entry that is no longer a gap (remove it from the list). Every target is checked, Proxy
# included; MIRROR_SKIP_TARGETS (default empty) names targets to leave out of a local run.
#
# scripts/test-mirror-no-behaviour.txt lists, with the reason per file, reviewed files the grep
# above counts as behaviour only because of an `init` or a protocol requirement: stored fields with
# a memberwise init, an OptionSet's constants, a protocol. Such a file needs no test file, but the
# check fails if a listed file is gone or has gained logic (a func or subscript with a body, a
# computed property), so the list cannot hide code.
#
# Usage: scripts/check-test-mirror.sh          check (exit 1 on an unlisted gap)
#        scripts/check-test-mirror.sh --list   print every gap, listed or not
set -euo pipefail
cd "$(dirname "$0")/.."

skip=" ${MIRROR_SKIP_TARGETS-} "
gaps_file=scripts/test-mirror-gaps.txt
exempt_file=scripts/test-mirror-no-behaviour.txt

has_behaviour() {
    # Comments dropped, then a declaration with a body of code.
    grep -qE '(^|[^A-Za-z0-9_])(func|init[?!]?|subscript)[[:space:]]*[(<]|(^|[^A-Za-z0-9_])func[[:space:]]|(^|[[:space:]])var[[:space:]]+[A-Za-z0-9_]+[[:space:]]*:[^=]*\{[[:space:]]*($|[^}])' < <(sed -e 's://.*$::' "$1")
}

has_logic() {
    # Like has_behaviour without init: a func/subscript with a body (a protocol requirement ends its
    # line without "{", "(" or ","), or a computed property (a requirement's `{ get }` is none).
    sed -e 's://.*$::' -e 's/{[[:space:]]*get\([[:space:]]\{1,\}set\)\{0,1\}[[:space:]]*}//' "$1" | grep -qE '(^|[^A-Za-z0-9_])(func|subscript)[[:space:]<(].*(\{|\(|,)[[:space:]]*$|(^|[[:space:]])var[[:space:]]+[A-Za-z0-9_]+[[:space:]]*:[^=]*\{[[:space:]]*($|[^}])'
}

status=0
declare -A exempt=()
if [ -f "$exempt_file" ]; then
    while read -r line _; do
        line=${line%%#*}
        [ -n "$line" ] || continue
        exempt[$line]=1
        if [ ! -f "$line" ]; then
            echo "test-mirror: $line is listed in $exempt_file but does not exist; remove it" >&2
            status=1
        elif has_logic "$line"; then
            echo "test-mirror: $line is listed in $exempt_file but has logic (func, subscript or computed property); give it Tests/$(cut -d/ -f2 <<<"$line")Tests/$(basename "$line" .swift)Tests.swift" >&2
            status=1
        fi
    done <"$exempt_file"
fi

gaps=()
while IFS= read -r source; do
    target=$(cut -d/ -f2 <<<"$source")
    [[ $skip == *" $target "* ]] && continue
    name=$(basename "$source" .swift)
    folder=$(dirname "${source#Sources/"$target"/}")
    [ -f "Tests/${target}Tests/${name}Tests.swift" ] && continue
    [ -f "Tests/${target}Tests/${folder}/${name}Tests.swift" ] && continue
    has_behaviour "$source" || continue
    [ -n "${exempt[$source]:-}" ] && continue
    gaps+=("$source")
done < <(find Sources -name '*.swift' | LC_ALL=C sort)

if [ "${1:-}" = --list ]; then
    [ ${#gaps[@]} -eq 0 ] || printf '%s\n' "${gaps[@]}"
    exit $status
fi

declare -A listed=() found=()
if [ -f "$gaps_file" ]; then
    while read -r line _; do
        line=${line%%#*}
        [ -n "$line" ] && listed[$line]=1
    done <"$gaps_file"
fi

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
    echo "test-mirror: ok (${#gaps[@]} known gaps listed in $gaps_file, ${#exempt[@]} files without behaviour in $exempt_file)"
fi
exit $status
