#!/bin/sh
# emitc_report.sh - measures the C emitter next to the bundle form on models/*.onnx, a ~20 k-
# parameter keyword-spotting CNN made by bench/kws_model.py (when /usr/bin/python3 has onnx) and
# the torchvision classifiers, BERT-style and transformer encoders and LSTM that
# models/check_torchvision.py exports (when it has torch and torchvision). Per model:
# `kiln compile -O2 --emit c`, every emitted file compiled with `CC -std=c99 -Os -c`; a Markdown
# table of text/data (Berkeley `size`, read-only data counts as text) without the weights object,
# the weights bytes, the arena bytes, the emit time, the compile time of all files (and of the
# weights file alone), and the .kiln bundle's file size and arena. Numbers for docs/emit-c.md.
# Usage: bench/emitc_report.sh [BUILD_DIR (default build)] [CC (default gcc)]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
cc=${2:-gcc}
kiln=$build/kiln
[ -x "$kiln" ] || { echo "emitc_report: build $kiln first" >&2; exit 1; }
bench_root=$root
. "$root/bench/lib.sh"
bench_tmp emitc-report

models=$(ls "$root"/models/*.onnx)
if /usr/bin/python3 -c "import onnx" 2>/dev/null; then
    /usr/bin/python3 "$root/bench/kws_model.py" "$tmp/kws_cnn20k.onnx" >/dev/null
    models="$models $tmp/kws_cnn20k.onnx"
fi
models="$models $(bench_tv "$kiln" "$tmp/tv" --opset 13)"

ms() { date +%s%3N; }

echo "| model | kernel files | text (B) | data (B) | weights (B) | arena (B) | emit (ms) |" \
     "$cc -Os compile (ms) | of which weights (ms) | bundle (B) | bundle arena (B) |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for m in $models; do
    base=$(basename "$m" .onnx)
    name=$(echo "$base" | tr -c 'A-Za-z0-9_\n' '_')
    dir=$tmp/$base
    t0=$(ms)
    line=$("$kiln" compile "$m" --emit c --name "$name" -o "$dir")
    t1=$(ms)
    weights=$(echo "$line" | sed -n 's/.*weights \([0-9]*\) bytes.*/\1/p')
    arena=$(echo "$line" | sed -n 's/.*arena \([0-9]*\) bytes.*/\1/p')
    tw=0
    for f in "$dir"/*.c; do
        a=$(ms)
        $cc -std=c99 -Os -c "$f" -o "${f%.c}.o"
        case $f in *_weights.c) tw=$(($(ms) - a)) ;; esac
    done
    t2=$(ms)
    text=$(size "$dir/$name.o" "$dir/$name"_k_*.o | awk 'NR > 1 {t += $1} END {print t}')
    data=$(size "$dir/$name.o" "$dir/$name"_k_*.o | awk 'NR > 1 {t += $2 + $3} END {print t}')
    kfiles=$(ls "$dir/$name"_k_*.c | sed "s|.*/${name}_k_||; s|\.c$||" | tr '\n' ' ' | sed 's/ $//')
    bline=$("$kiln" compile "$m" -o "$dir/$base.kiln")
    bundle=$(wc -c <"$dir/$base.kiln" | tr -d ' ')
    barena=$(echo "$bline" | sed -n 's/.*arena \([0-9]*\) bytes.*/\1/p')
    echo "| $base | $kfiles | $text | $data | $weights | $arena | $((t1 - t0)) | $((t2 - t1)) |" \
         "$tw | $bundle | $barena |"
    rm -rf "$dir"
done
