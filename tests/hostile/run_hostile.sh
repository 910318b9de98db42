#!/bin/sh
# run_hostile.sh KILN CASES_FOLDER [sanitized] - feeds every case of cases.txt to kiln and checks
# that it fails with its expected text and exit status, within 10 seconds (60 in a sanitizer
# build) and, outside sanitizer builds, under 1 GB of address space (ulimit -v; ASan reserves
# terabytes of shadow memory, so there only the time is bounded). The large cases are generated
# here (gen_hostile.py --big, --bundle). Exit status 0 when every case passes.
set -u
KILN=$1
HERE=$(cd "$(dirname "$0")" && pwd)
CASES=$(cd "$2" && pwd)
SANITIZED=${3:-}
PY=/usr/bin/python3
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
LIMIT_S=10
[ -n "$SANITIZED" ] && LIMIT_S=60

"$PY" "$HERE/gen_hostile.py" --big "$WORK" || { echo "FAIL: gen_hostile.py --big"; exit 1; }
"$KILN" compile "$CASES/relu.onnx" -o "$WORK/relu.kiln" >/dev/null &&
    "$PY" "$HERE/gen_hostile.py" --bundle "$WORK/relu.kiln" "$WORK/bundle_outside.kiln" ||
    { echo "FAIL: making the corrupt bundle"; exit 1; }

fails=0
n=0
while IFS='|' read -r name args want status; do
    case "$name" in ''|'#'*) continue ;; esac
    name=$(echo "$name" | sed 's/^ *//; s/ *$//')
    want=$(echo "$want" | sed 's/^ *//; s/ *$//')
    status=$(echo "${status:-1}" | sed 's/^ *//; s/ *$//')
    args=$(echo "$args" | sed "s|%d|$CASES|g; s|%w|$WORK|g")
    n=$((n + 1))
    start=$(date +%s)
    # shellcheck disable=SC2086
    out=$( (if [ -z "$SANITIZED" ]; then ulimit -v 1048576; fi
            exec timeout -s KILL "$LIMIT_S" "$KILN" $args) 2>&1)
    rc=$?
    secs=$(( $(date +%s) - start ))
    if [ $rc -ne "$status" ]; then
        echo "FAIL $name: exit status $rc (want $status; 137 = killed at the ${LIMIT_S} s limit) after ${secs} s: $out"
        fails=$((fails + 1))
    elif ! printf '%s' "$out" | grep -qF -- "$want"; then
        echo "FAIL $name: the error lacks \"$want\": $out"
        fails=$((fails + 1))
    else
        echo "ok   $name (${secs} s)"
    fi
done < "$HERE/cases.txt"
echo "$((n - fails)) of $n hostile cases refused as expected"
[ $fails -eq 0 ] && [ $n -gt 30 ]
