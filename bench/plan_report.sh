#!/bin/sh
# plan_report.sh - the arena plan against its lower bound on models/*.onnx and, when
# /usr/bin/python3 has torch and torchvision, on torchvision classifiers exported with random
# weights to a temporary folder (models/check_torchvision.py --export-only). Prints one table
# (kiln-plan-report); the goal is an arena within 5% of the lower bound (ratio <= 1.05).
# Usage: bench/plan_report.sh [BUILD_DIR]   (default: build)
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
report=$build/kiln-plan-report
if [ ! -x "$report" ]; then
    echo "plan_report: error: $report is not built (cmake --build $build)" >&2
    exit 1
fi
bench_root=$here
. "$here/bench/lib.sh"
bench_tmp plan

models="$here/models/*.onnx $(bench_tv "$build/kiln" "$tmp/tv" \
    --models resnet18,mobilenet_v2,squeezenet1_1,googlenet,densenet121)"
# shellcheck disable=SC2086 # the globs are meant to expand
"$report" $models
