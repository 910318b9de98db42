#!/bin/sh
# bundle_report.sh - what a .kiln bundle costs: per model (models/*.onnx, plus torchvision
# classifiers when /usr/bin/python3 has torch + torchvision, exported to a temporary folder
# with models/check_torchvision.py) the ONNX and bundle sizes and the time kiln_model_load
# takes on an mmapped bundle (checksum + validation); then the text size of the runtime core
# (interpreter + loader + validation + core + registry, no kernels) at gcc -Os on this host.
# usage: bench/bundle_report.sh [BUILD_DIR]     (default: build; needs kiln, kiln-bundle-load)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$ROOT/build}
KILN=$B/kiln
LOAD=$B/kiln-bundle-load
[ -x "$KILN" ] && [ -x "$LOAD" ] || { echo "bundle_report: build kiln and kiln-bundle-load first" >&2; exit 2; }
T=$(mktemp -d "${TMPDIR:-/tmp}/kiln_bundle_XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT

report() { # report NAME MODEL.onnx RUNS
    if "$KILN" compile "$2" -o "$T/$1.kiln" >/dev/null 2>"$T/err"; then
        line=$("$LOAD" "$T/$1.kiln" "$3") || line=""
        us=$(echo "$line" | sed -n 's/.*load median \([0-9.]*\) us, min \([0-9.]*\) us.*/\1 \2/p')
        printf "%-22s %12s %12s %10s %10s\n" "$1" "$(wc -c <"$2")" "$(wc -c <"$T/$1.kiln")" $us
    else
        printf "%-22s %12s  compile failed: %s\n" "$1" "$(wc -c <"$2")" "$(head -c 120 "$T/err")"
    fi
}

printf "%-22s %12s %12s %10s %10s\n" model onnx_bytes bundle_bytes load_us min_us
for m in "$ROOT"/models/*.onnx; do
    report "$(basename "$m" .onnx)" "$m" 200
done
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then
    /usr/bin/python3 "$ROOT/models/check_torchvision.py" "$KILN" --export-only --keep "$T/tv" \
        --opset 13 >/dev/null 2>&1
    for m in "$T"/tv/*.onnx; do
        [ -f "$m" ] && report "$(basename "$m" .onnx)" "$m" 5
    done
else
    echo "(torchvision classifiers skipped: /usr/bin/python3 cannot import torch and torchvision)"
fi

echo
echo "runtime core text at -Os ($(gcc --version | head -1), $(uname -m)):"
for flags in "" "-fno-asynchronous-unwind-tables -fno-unwind-tables" "-DKILN_RT_TERSE" \
    "-DKILN_RT_TERSE -fno-asynchronous-unwind-tables -fno-unwind-tables"; do
    total=0
    for f in interp bundle validate core registry; do
        gcc -std=c11 -Os $flags -D_XOPEN_SOURCE=700 -I"$ROOT/include" -I"$ROOT/runtime" \
            -c "$ROOT/runtime/$f.c" -o "$T/$f.o" || exit 1
        t=$(size "$T/$f.o" | awk 'NR == 2 {print $1}')
        total=$((total + t))
        printf "  %-10s %6d\n" "$f.c" "$t"
    done
    printf "  %-10s %6d bytes (gcc -Os -c %s; 'size' text = code + rodata + unwind tables)\n" \
        total "$total" "$flags"
done
