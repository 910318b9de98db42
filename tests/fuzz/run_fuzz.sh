#!/bin/sh
# run_fuzz.sh BUILD SECONDS [TARGET...] - runs each libFuzzer target (default: all four) for
# SECONDS on its corpus in BUILD/fuzz-corpus/<target>, seeded first from the repository:
# onnx from models/*.onnx and the conformance models, bundle from those models compiled with
# BUILD/kiln, npy from models/*.npy, args from a few --input-shape/--input-value strings.
# Prints each target's executions and corpus size (docs/robustness.md records them); exits
# non-zero on the first finding (the crash file is in BUILD/fuzz-crashes/<target>/).
set -eu
BUILD=$1
SECS=$2
shift 2
TARGETS=${*:-onnx bundle npy args}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TESTDATA=/usr/share/libonnx-testdata/data
for t in $TARGETS; do
    corpus=$BUILD/fuzz-corpus/$t
    crashes=$BUILD/fuzz-crashes/$t
    mkdir -p "$corpus" "$crashes"
    if [ ! -f "$corpus/.seeded" ]; then
        case $t in
        onnx)
            for f in "$ROOT"/models/*.onnx; do cp "$f" "$corpus/"; done
            n=0
            for f in "$TESTDATA"/node/*/model.onnx; do
                [ -f "$f" ] || continue
                n=$((n + 1))
                [ $((n % 8)) -eq 0 ] && cp "$f" "$corpus/node_$n.onnx"
            done ;;
        bundle)
            for f in "$ROOT"/models/*.onnx; do
                "$BUILD/kiln" compile "$f" -o "$corpus/$(basename "$f" .onnx).kiln" \
                    >/dev/null 2>&1 || true
            done ;;
        npy)
            for f in "$ROOT"/models/*.npy "$ROOT"/tests/hostile/cases/*.npy; do
                cp "$f" "$corpus/"
            done ;;
        args)
            i=0
            for s in "ainput=1,3,224,224" "ax=2,3" "ax=" "a=1" "bx=v.npy" "bname=a=b.npy" \
                     "ax=-1,2" "ax=99999999999999999999"; do
                i=$((i + 1))
                printf '%s' "$s" > "$corpus/seed$i"
            done ;;
        esac
        touch "$corpus/.seeded"
    fi
    log=$BUILD/fuzz-$t.log
    echo "fuzz_$t: $SECS s"
    if ! "$BUILD/fuzz_$t" -max_total_time="$SECS" -timeout=20 -rss_limit_mb=2048 \
            -max_len=1048576 -artifact_prefix="$crashes/" -print_final_stats=1 \
            "$corpus" >"$log" 2>&1; then
        tail -40 "$log"
        echo "fuzz_$t: FINDING (crash input in $crashes/)"
        exit 1
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    files=$(find "$corpus" -type f ! -name .seeded | wc -l)
    bytes=$(du -sb "$corpus" | cut -f1)
    echo "fuzz_$t: $execs executions, corpus $files files ($bytes bytes), no finding"
done
