#!/bin/sh
# emitc_report.sh - measures the C emitter on models/*.onnx (and a ~20 k-parameter keyword-
# spotting CNN made by bench/kws_model.py when /usr/bin/python3 has onnx): emits C, compiles
# every emitted file with `CC -std=c99 -Os -c` and prints a Markdown table of text/data
# (Berkeley `size`, read-only data counts as text) without the weights object, the weights
# bytes, the arena bytes, the emit time and the compile time. Numbers for docs/emit-c.md.
# Usage: bench/emitc_report.sh [BUILD_DIR (default build)] [CC (default gcc)]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
cc=${2:-gcc}
tool=$build/tests/emitc_tool
[ -x "$tool" ] || { echo "emitc_report: build $tool first" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kiln-emitc-report.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

models=$(ls "$root"/models/*.onnx)
if /usr/bin/python3 -c "import onnx" 2>/dev/null; then
    /usr/bin/python3 "$root/bench/kws_model.py" "$tmp/kws_cnn.onnx" >/dev/null
    models="$models $tmp/kws_cnn.onnx"
fi

ms() { date +%s%3N; }

echo "| model | kernel files | text (B) | data (B) | weights (B) | arena (B) | emit (ms) | $cc -Os compile (ms) |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for m in $models; do
    base=$(basename "$m" .onnx)
    name=$(echo "$base" | tr -c 'A-Za-z0-9_\n' '_')
    dir=$tmp/$base
    mkdir -p "$dir"
    t0=$(ms)
    "$tool" emit "$m" "$dir" "$name"
    t1=$(ms)
    for f in "$dir"/*.c; do
        $cc -std=c99 -Os -c "$f" -o "${f%.c}.o"
    done
    t2=$(ms)
    text=$(size "$dir/$name.o" "$dir/$name"_k_*.o | awk 'NR > 1 {t += $1} END {print t}')
    data=$(size "$dir/$name.o" "$dir/$name"_k_*.o | awk 'NR > 1 {t += $2 + $3} END {print t}')
    weights=$(size "$dir/${name}_weights.o" | awk 'NR == 2 {print $1}')
    arena=$(awk '$2 == "'"$name"'_ARENA_SIZE" {print $3}' "$dir/$name.h")
    kfiles=$(ls "$dir/$name"_k_*.c | sed "s|.*/${name}_k_||; s|\.c$||" | tr '\n' ' ' | sed 's/ $//')
    echo "| $base | $kfiles | $text | $data | $weights | $arena | $((t1 - t0)) | $((t2 - t1)) |"
done
