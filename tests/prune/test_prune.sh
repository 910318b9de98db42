#!/bin/sh
# test_prune.sh - channel pruning (kiln compile --prune channels:R) on the models of
# gen_prune_models.py, whose prunable channel groups are half all-zero channels: pruning at 0.5
# (per layer, global, L1, L2) must remove exactly those, shrink the MACs, keep the outputs of
# the bundle and of the --emit onnx graph equal to the unpruned model's, and leave a valid ONNX
# model (onnx checker with strict shape inference, when python3 has onnx). Pruning 0.75 must
# change the outputs (the check can fail), and kiln bench runs prune:0.5. Then sparse weights
# (the sparse Gemm kernel, inspect's sparsity) and magnitude pruning.
# Usage: test_prune.sh KILN_BIN NPYCMP_BIN DATA_DIR
set -u
KILN=$1 NPYCMP=$2 D=$3
T=$(mktemp -d "${TMPDIR:-/tmp}/kiln_prune_XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
fails=0
fail() {
    echo "FAIL $*"
    fails=$((fails + 1))
}
have_onnx=0
/usr/bin/python3 -c "import onnx" 2>/dev/null && have_onnx=1

for m in prune_residual prune_concat_dw prune_grouped; do
    x="$D/$m.input.npy"
    "$KILN" run "$D/$m.onnx" --input "$x" --output "$T/ref.npy" >/dev/null ||
        { fail "$m: kiln run of the unpruned model"; continue; }
    for opts in "channels:0.5" "channels:0.5:global" "channels:0.5:per-layer --prune-norm l2"; do
        # shellcheck disable=SC2086 # opts is split on purpose
        if ! "$KILN" compile "$D/$m.onnx" --prune $opts --report -o "$T/p.kiln" >"$T/report" \
            2>&1; then
            fail "$m --prune $opts: $(cat "$T/report")"
            continue
        fi
        macs=$(sed -n 's/^  total MACs \([0-9]*\) -> \([0-9]*\) .*/\1 \2/p' "$T/report")
        set -- $macs
        [ $# -eq 2 ] && [ "$2" -lt "$1" ] || fail "$m --prune $opts: MACs did not shrink ($macs)"
        "$KILN" run "$T/p.kiln" --input "$x" --output "$T/out.npy" >/dev/null &&
            "$NPYCMP" --quiet "$T/out.npy" "$T/ref.npy" ||
            fail "$m --prune $opts: the bundle's output differs from the unpruned model's"
    done
    # the pruned graph as standard ONNX: runs the same and is valid ONNX
    if "$KILN" compile "$D/$m.onnx" --prune channels:0.5 -O1 --emit onnx -o "$T/p.onnx" \
        >"$T/log" 2>&1; then
        "$KILN" run "$T/p.onnx" --input "$x" --output "$T/out.npy" >/dev/null &&
            "$NPYCMP" --quiet "$T/out.npy" "$T/ref.npy" ||
            fail "$m: the pruned ONNX model's output differs"
        if [ $have_onnx = 1 ]; then
            /usr/bin/python3 -c "
import sys, onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
" "$T/p.onnx" >"$T/log" 2>&1 || fail "$m: the pruned ONNX is not valid: $(cat "$T/log")"
        fi
    else
        fail "$m --emit onnx: $(cat "$T/log")"
    fi
    # the check can fail: removing non-zero channels changes the outputs
    "$KILN" compile "$D/$m.onnx" --prune channels:0.75 -o "$T/p.kiln" >/dev/null 2>&1 &&
        "$KILN" run "$T/p.kiln" --input "$x" --output "$T/out.npy" >/dev/null ||
        fail "$m --prune channels:0.75 does not compile or run"
    "$NPYCMP" --quiet "$T/out.npy" "$T/ref.npy" >/dev/null 2>&1 &&
        fail "$m: pruning 0.75 left the outputs unchanged"
done

# groups kiln leaves whole are named with the reason
"$KILN" compile "$D/prune_grouped.onnx" --prune channels:0.5 --report -o "$T/p.kiln" \
    >"$T/report" 2>&1
grep -q "note: kept all 8 output channels of 'Conv_3': .*grouped Conv" "$T/report" ||
    fail "prune_grouped: no note on the grouped Conv: $(cat "$T/report")"
grep -q "ConvTranspose_15 *ConvTranspose *4->2" "$T/report" ||
    fail "prune_grouped: the ConvTranspose was not pruned: $(cat "$T/report")"
"$KILN" compile "$D/prune_concat_dw.onnx" --prune channels:0.5 --report -o "$T/p.kiln" \
    >"$T/report" 2>&1
grep -q "Gemm_43 *Gemm *10->10 *54->27" "$T/report" ||
    fail "prune_concat_dw: the Gemm after Flatten did not lose 9 rows per channel"

# sparse weights: a Gemm at most 35% non-zero runs on the sparse kernel without a flag (inspect
# says so), on every SIMD variant, in the bundle and in emitted C, against numpy's dense result
m=prune_sparse_mlp
"$KILN" inspect "$D/$m.onnx" >"$T/inspect" 2>&1 || fail "$m: inspect: $(cat "$T/inspect")"
[ "$(grep -c "(sparse kernel)" "$T/inspect")" -eq 2 ] ||
    fail "$m: inspect does not list both Gemms as sparse: $(cat "$T/inspect")"
grep -q "weight sparsity: 89.3% of 9,472 layer weights are zero" "$T/inspect" ||
    fail "$m: inspect's sparsity total: $(cat "$T/inspect")"
"$KILN" compile "$D/$m.onnx" -o "$T/s.kiln" >/dev/null 2>&1 || fail "$m: compile"
for simd in portable avx2 avx512; do
    KILN_SIMD=$simd "$KILN" run "$T/s.kiln" --input "$D/$m.input.npy" --output "$T/out.npy" \
        >/dev/null && "$NPYCMP" --quiet "$T/out.npy" "$D/$m.output.npy" ||
        fail "$m: the sparse kernel (KILN_SIMD=$simd) differs from numpy"
done
if "$KILN" compile "$D/$m.onnx" --emit c --with-main --name sp -o "$T/c" >/dev/null 2>&1; then
    ${CC:-cc} -O1 -std=c99 -I"$T/c" "$T/c"/*.c -lm -o "$T/c/sp" >"$T/cc" 2>&1 &&
        "$T/c/sp" --input "$D/$m.input.npy" --output "$T/out.npy" >/dev/null &&
        "$NPYCMP" --quiet "$T/out.npy" "$D/$m.output.npy" ||
        fail "$m: emitted C with the sparse kernel: $(cat "$T/cc")"
else
    fail "$m: --emit c"
fi

# magnitude pruning: the smallest weights become zero (per layer and global); the sparse MLP's
# Gemms stay sparse, the residual model's layers are reported 90% zero and still run
"$KILN" compile "$D/prune_residual.onnx" --prune magnitude:0.9 --report -O1 --emit onnx \
    -o "$T/m.onnx" >"$T/report" 2>&1 || fail "magnitude: $(cat "$T/report")"
grep -q "Conv_12 *Conv *576 *50.0% -> 89.9%" "$T/report" ||
    fail "magnitude: Conv_12 is not 90% zero: $(cat "$T/report")"
"$KILN" inspect "$T/m.onnx" | grep -q "Conv_12 *Conv *89.9% zero of 576" ||
    fail "magnitude: inspect does not show the pruned Conv's sparsity"
"$KILN" run "$T/m.onnx" --input "$D/prune_residual.input.npy" --output "$T/out.npy" \
    >/dev/null || fail "magnitude: the pruned model does not run"
"$KILN" compile "$D/prune_residual.onnx" --prune magnitude:0.5:global --report -o "$T/p.kiln" \
    >"$T/report" 2>&1 && grep -q "^pruning: .* weights zero (50.0%" "$T/report" ||
    fail "magnitude global: $(cat "$T/report")"

# kiln bench compiles prune:R as --prune channels:R
"$KILN" bench "$D/prune_residual.onnx" --configs O2,O2+prune:0.5 --repeat 2 --warmup 0 \
    >"$T/bench" 2>&1 || fail "bench prune:0.5: $(cat "$T/bench")"

[ $fails -eq 0 ] && echo "test_prune: all passed"
[ $fails -eq 0 ]
