#!/bin/sh
# ort_compare.sh - kiln vs ONNX Runtime 1.30 (CPU, one thread) on the same models and inputs.
# Installs onnxruntime-node@1.30.0 with `npm install --ignore-scripts` into
# bench/ort_compare/.cache (git-ignored) on first use, then runs ort_compare.js. Not used by
# `make test`. usage: bench/ort_compare.sh [--kiln build/kiln] [--config O2] [--repeat N]
#                     [--rounds R] [--format text|md] [--input [NAME=]X.npy]... MODEL.onnx...
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=$HERE/ort_compare/.cache
ORT=$CACHE/node_modules/onnxruntime-node
if [ ! -f "$ORT/package.json" ]; then
    command -v npm >/dev/null 2>&1 || { echo "ort_compare: npm is needed (apt-get install npm)" >&2; exit 1; }
    mkdir -p "$CACHE"
    [ -f "$CACHE/package.json" ] || echo '{"private": true}' >"$CACHE/package.json"
    echo "ort_compare: installing onnxruntime-node@1.30.0 into $CACHE" >&2
    (cd "$CACHE" && npm install --ignore-scripts --no-audit --no-fund onnxruntime-node@1.30.0) >&2
fi
exec node "$HERE/ort_compare/ort_compare.js" --ort "$ORT" "$@"
