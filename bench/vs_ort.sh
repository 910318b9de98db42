#!/bin/sh
# vs_ort.sh - kiln (bundle and emitted C) against ONNX Runtime 1.30's C API, one thread,
# interleaved on the same machine (bench/vs_ort.py says how). Builds ORT's timer with
# ../shared/ort-bench/build.sh on first use (npm; cached in ~/.cache/kiln-ort), or takes
# ORT_BENCH=/path/to/ort_bench. Not part of `make test`.
# usage: bench/vs_ort.sh [--kiln build/kiln] [--models a,b] [--torch-models a,b|''] [--rounds R]
#                        [--repeat N] [--write docs/benchmarks.md] ...   (vs_ort.py --help)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
if [ -z "${ORT_BENCH:-}" ]; then
    BUILDER=$HERE/../../shared/ort-bench/build.sh
    [ -f "$BUILDER" ] || { echo "vs_ort: set ORT_BENCH (no $BUILDER)" >&2; exit 1; }
    ORT_BENCH=$(sh "$BUILDER" 2>/dev/null | tail -n 1)
    [ -x "$ORT_BENCH" ] || { echo "vs_ort: building ORT's timer failed (run $BUILDER)" >&2; exit 1; }
fi
exec /usr/bin/python3 "$HERE/vs_ort.py" --ort-bench "$ORT_BENCH" "$@"
