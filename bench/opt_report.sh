#!/bin/sh
# opt_report.sh - what -O2 does against -O0 (kiln-opt-report) on models/*.onnx and, when
# /usr/bin/python3 has torch and torchvision, on resnet18, mobilenet_v2, efficientnet_b0 and
# shufflenet_v2_x0_5 exported with random weights to a temporary folder
# (models/check_torchvision.py --export-only). Latency is single-threaded, -O0 and -O2 runs
# interleaved, median of RUNS after warm-up. The goal: no BatchNormalization, Identity or
# shape-subgraph node left at -O2, and -O2 outputs within 1e-4 relative error of -O0.
# Usage: bench/opt_report.sh [BUILD_DIR] [RUNS]   (defaults: build, 10)
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
runs=${2:-10}
report=$build/kiln-opt-report
if [ ! -x "$report" ]; then
    echo "opt_report: error: $report is not built (cmake --build $build)" >&2
    exit 1
fi
bench_root=$here
. "$here/bench/lib.sh"
bench_tmp opt
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

models="$here/models/*.onnx $(bench_tv "$build/kiln" "$tmp/tv" \
    --models resnet18,mobilenet_v2,efficientnet_b0,shufflenet_v2_x0_5)"
# shellcheck disable=SC2086 # the globs are meant to expand
"$report" -n "$runs" $models
