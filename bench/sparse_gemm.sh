#!/bin/sh
# sparse_gemm.sh - builds bench/sparse_gemm.c against the runtime library of a kiln build and
# runs it: the sparse Gemm kernel against the dense one on packed weights, per SIMD variant,
# shape and sparsity, with the break-even sparsity per shape (docs/pruning.md).
# Usage: bench/sparse_gemm.sh [BUILD_DIR (default build)] [REPS (default 30)]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
reps=${2:-30}
lib=$build/libkilnrt.a
[ -f "$lib" ] || { echo "sparse_gemm: $lib not found: build kiln first (make)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kiln_spgemm_XXXXXX")
trap 'rm -rf "$tmp"' EXIT
${CC:-cc} -O2 -std=c11 -I"$here/../runtime/kernels" -I"$here/../include" \
    "$here/sparse_gemm.c" "$lib" -lm -o "$tmp/sparse_gemm"
"$tmp/sparse_gemm" "$reps"
