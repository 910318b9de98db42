#!/bin/sh
# test_cli.sh - end-to-end checks of the kiln command: every failure exits 1 with
# "kiln: error: FILE: ..." on stderr and leaves no output file; usage errors exit 2; --help
# exits 0; a positive run writes .npy files byte-identical to numpy's.
# usage: test_cli.sh path/to/kiln tests/data/cli
set -u
KILN=$1
D=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/kiln_cli_XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
OUT=$T/out
mkdir "$OUT"
fails=0

fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}

# expect CODE NAME [WORD_IN_STDERR] -- args... : runs kiln, checks exit code, the error prefix
# with WORD (a file name or phrase) and that $OUT stayed empty.
expect() {
    code=$1 name=$2 word=$3
    shift 4
    "$KILN" "$@" >"$T/stdout" 2>"$T/stderr"
    rc=$?
    [ "$rc" -eq "$code" ] || fail "$name: exit $rc, want $code: $(cat "$T/stderr")"
    if [ "$code" -eq 1 ]; then
        grep -q "^kiln: error: " "$T/stderr" || fail "$name: no 'kiln: error:' prefix"
        [ "$(wc -l <"$T/stderr")" -eq 1 ] || fail "$name: more than one error line"
    fi
    if [ "$code" -eq 2 ]; then
        grep -q "^usage: kiln" "$T/stderr" || fail "$name: no usage line"
    fi
    if [ -n "$word" ]; then
        grep -qF -- "$word" "$T/stderr" || fail "$name: '$word' not in: $(cat "$T/stderr")"
    fi
    if [ -n "$(ls -A "$OUT")" ]; then
        fail "$name: left files: $(ls -A "$OUT")"
        rm -f "$OUT"/* "$OUT"/.[!.]*
    fi
}

printf 'this is not a model' >"$T/junk.onnx"
head -c 60 "$D/reshape.onnx" >"$T/trunc.onnx"
head -c 140 "$D/x_2x6.npy" >"$T/trunc.npy"
: >"$T/empty.onnx"

# ---- errors: exit 1, the file named, nothing written ----
expect 1 "not onnx" "$T/junk.onnx: not an ONNX model" -- run "$T/junk.onnx" --input "$D/x_2x6.npy" --output "$OUT/y.npy"
expect 1 "empty model" "$T/empty.onnx: the file is empty" -- inspect "$T/empty.onnx"
expect 1 "truncated model" "$T/trunc.onnx" -- run "$T/trunc.onnx" --input "$D/x_2x6.npy" --output-dir "$OUT"
expect 1 "missing model" "$T/nope.onnx: cannot open" -- inspect "$T/nope.onnx"
expect 1 "wrong dtype" "$D/x_2x6_i64.npy: input 'x' has the wrong element type: the model expects float32[N,6], the file holds int64[2,6]" -- \
    run "$D/reshape.onnx" --input "$D/x_2x6_i64.npy" --output "$OUT/y.npy" --output "$OUT/z.npy"
expect 1 "wrong rank" "$D/x_12.npy: input 'x' has the wrong shape" -- run "$D/reshape.onnx" --input "$D/x_12.npy" --output-dir "$OUT"
expect 1 "wrong shape" "expects float32[2,3], the file holds float32[2,6]" -- \
    run "$D/two_inputs.onnx" --input "a=$D/x_2x6.npy" --input "b=$D/b.npy" --output-dir "$OUT"
expect 1 "fortran npy" "$D/x_fortran.npy: Fortran-order" -- run "$D/reshape.onnx" --input "$D/x_fortran.npy" --output-dir "$OUT"
expect 1 "truncated npy" "$T/trunc.npy: truncated data" -- run "$D/reshape.onnx" --input "$T/trunc.npy" --output-dir "$OUT"
C="$D/../refused"
expect 1 "loop value grows" "node 'grow' (Loop): loop-carried value (body input, body output) 0" -- \
    compile "$C/refused_loop_grows.onnx" -o "$OUT/g.kiln"
expect 1 "if shapes differ" "node 'pick' (If): output (then branch, else branch) 0 is float32[2] and float32[3]" -- \
    compile "$C/refused_if_shapes.onnx" -o "$OUT/p.kiln"
expect 1 "run-time extents into Conv" "node 'conv' (Conv): input 'f4' has extents that depend on the data (float32[<=1,<=1,<=2,<=16], from node 'find' (NonZero))" -- \
    compile "$C/refused_nonzero_conv.onnx" -o "$OUT/n.kiln"
expect 1 "run-time extents do not broadcast" "runtime_mismatch.onnx: node 'add_c' (Add): the extents its inputs have in this run" -- \
    run "$C/runtime_mismatch.onnx" --input "$C/runtime_mismatch.x.npy" --input "$C/runtime_mismatch.z_bad.npy" --output "$OUT/y.npy"
expect 1 "run-time extents in C" "tensor 'nz' has extents that depend on the data, which the C emitter does not support yet" -- \
    compile "$D/../dyn/nonzero_chain.onnx" --emit c -o "$OUT/nzc"
expect 1 "shape from an input" "node 'reshape' (Reshape): input 'shape' (shape) must be known at compile time: kiln compiles static shapes only; give its value with --input-value shape=FILE.npy" -- \
    run "$D/reshape_input.onnx" --input "x=$D/x_2x6.npy" --input "shape=$D/shape_4x3.npy" --output-dir "$OUT"
expect 1 "--input-value type" "$D/x_2x6.npy: --input-value for input 'shape': the model expects int64[2], the file holds float32[2,6]" -- \
    compile "$D/reshape_input.onnx" --input-value "shape=$D/x_2x6.npy" -o "$OUT/r.kiln"
expect 1 "--input-value name" "--input-value names 'q', which is not an input" -- \
    inspect "$D/reshape_input.onnx" --input-value "q=$D/shape_4x3.npy"
expect 2 "--input-value syntax" "--input-value takes NAME=FILE.npy" -- \
    compile "$D/reshape_input.onnx" --input-value "shape"
expect 1 "missing input" "input 'a' is missing; the model's inputs are: 'a' float32[2,3], 'b' int64[2]" -- \
    run "$D/two_inputs.onnx" --input "b=$D/b.npy" --output-dir "$OUT"
expect 1 "unknown input name" "the model has no input named 'q'" -- run "$D/reshape.onnx" --input "q=$D/x_2x6.npy" --output-dir "$OUT"
expect 1 "too many inputs" "too many inputs" -- run "$D/reshape.onnx" --input "$D/x_2x6.npy" --input "$D/x_2x6.npy" --output-dir "$OUT"
expect 1 "output count" "1 --output file given, but the model has 2 outputs ('y', 'out/z')" -- \
    run "$D/reshape.onnx" --input "$D/x_2x6.npy" --output "$OUT/y.npy"
expect 1 "unsupported op" "not supported by kiln: com.example::Warp ('warp_1')" -- run "$D/unsupported.onnx" --input "$D/x_1x4.npy" --output-dir "$OUT"
expect 1 "bad --input-shape name" "--input-shape names 'q'" -- inspect "$D/reshape.onnx" --input-shape q=1,6
expect 1 "missing output dir" "$T/nodir: --output-dir: not an existing directory" -- \
    run "$D/reshape.onnx" --input "$D/x_2x6.npy" --output-dir "$T/nodir"
# the second output cannot be written: the first must not appear either
expect 1 "second output fails" "$OUT/missing/z.npy: cannot create" -- \
    run "$D/reshape.onnx" --input "$D/x_2x6.npy" --output "$OUT/y.npy" --output "$OUT/missing/z.npy"
expect 1 "symbolic dim in inspect of junk" "" -- inspect "$D/x_2x6.npy"

# ---- usage: exit 2 ----
expect 2 "unknown option" "unknown option '--frobnicate'" -- run "$D/reshape.onnx" --frobnicate
expect 2 "unknown inspect option" "unknown option '-x'" -- inspect -x "$D/reshape.onnx"
expect 2 "unknown command" "unknown command 'explode'" -- explode
expect 2 "no args" "" --
expect 2 "no model" "no model given" -- inspect
expect 2 "no outputs" "no --output or --output-dir" -- run "$D/reshape.onnx" --input "$D/x_2x6.npy"
expect 2 "missing value" "missing value for '--input'" -- run "$D/reshape.onnx" --input
expect 2 "bad repeat" "--repeat needs a count" -- run "$D/reshape.onnx" --input "$D/x_2x6.npy" --output-dir "$OUT" --repeat 0
expect 2 "bad shape spec" "--input-shape 'x=1,a'" -- inspect "$D/reshape.onnx" --input-shape x=1,a

# ---- help: exit 0 on stdout ----
expect 0 "--help" "" -- --help
expect 0 "--version" "" -- --version
expect 0 "help run" "" -- help run
grep -q "^usage: kiln run" "$T/stdout" || fail "help run: no usage line"
expect 0 "run --help" "" -- run --help
grep -q "^usage: kiln run" "$T/stdout" || fail "run --help: no usage line"
expect 0 "inspect --help" "" -- inspect --help
grep -q "^usage: kiln inspect" "$T/stdout" || fail "inspect --help: no usage line"

# ---- inspect ----
expect 0 "inspect unsupported" "" -- inspect "$D/unsupported.onnx"
grep -q "com.example::Warp: 'warp_1'" "$T/stdout" || fail "inspect: unsupported op not listed"
expect 0 "inspect json" "" -- inspect --json "$D/reshape.onnx" --input-shape x=4,6
grep -q '"shape": \[8, 3\]' "$T/stdout" || fail "inspect json: inferred output shape missing"
if /usr/bin/python3 -c 'import json' 2>/dev/null; then
    /usr/bin/python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/stdout" ||
        fail "inspect --json: not valid JSON"
fi

# ---- positive runs: byte-identical to numpy ----
expect 0 "run reshape" "" -- run "$D/reshape.onnx" --input "$D/x_2x6.npy" --output "$T/y.npy" --output "$T/z.npy"
cmp -s "$T/y.npy" "$D/y_expected.npy" || fail "run: y.npy differs from numpy's"
cmp -s "$T/z.npy" "$D/x_2x6.npy" || fail "run: z.npy differs from numpy's"
mkdir "$T/pos"
expect 0 "run output-dir" "" -- run "$D/reshape.onnx" --input "x=$D/x_2x6.npy" --output-dir "$T/pos" --repeat 3
cmp -s "$T/pos/y.npy" "$D/y_expected.npy" || fail "run --output-dir: y.npy"
cmp -s "$T/pos/out_z.npy" "$D/x_2x6.npy" || fail "run --output-dir: out_z.npy (sanitised name)"
grep -q "median .* ms, min .* ms, p90 .* ms" "$T/stdout" || fail "run --repeat: no latency line"
[ "$(ls -A "$T/pos" | wc -l)" -eq 2 ] || fail "run --output-dir: unexpected files: $(ls -A "$T/pos")"
expect 0 "named inputs in any order" "" -- run "$D/two_inputs.onnx" --input "b=$D/b.npy" --input "$D/a.npy" --output "$T/a_out.npy" --output "$T/b_out.npy"
cmp -s "$T/a_out.npy" "$D/a.npy" || fail "two inputs: a_out"
cmp -s "$T/b_out.npy" "$D/b.npy" || fail "two inputs: b_out"
# -O2 still optimizes the static part of a graph with run-time extents (Conv + Relu before a
# NonZero) and leaves the data-dependent part alone
"$KILN" compile "$D/../dyn/conv_relu_nonzero.onnx" --report -o "$T/crn.kiln" >"$T/crn.txt" ||
    fail "compile conv_relu_nonzero"
grep -q "fused Relu 'relu' into Conv 'conv'" "$T/crn.txt" ||
    fail "the static part of a graph with run-time extents was not optimized: $(cat "$T/crn.txt")"
# the same model runs when its run-time extents fit (3 non-zero elements each: [1,3] + [1,3]),
# and fails from a bundle like from the ONNX file when they do not
"$KILN" run "$C/runtime_mismatch.onnx" --input "$C/runtime_mismatch.x.npy" \
    --input "$C/runtime_mismatch.z_fits.npy" --output "$T/rm.npy" ||
    fail "runtime_mismatch with fitting extents"
"$KILN" compile "$C/runtime_mismatch.onnx" -o "$T/rm.kiln" >/dev/null || fail "compile runtime_mismatch"
"$KILN" run "$T/rm.kiln" --input "$C/runtime_mismatch.x.npy" \
    --input "$C/runtime_mismatch.z_bad.npy" --output "$T/rmb.npy" \
    2>"$T/rm.err" && fail "runtime_mismatch bundle ran with extents that do not fit"
grep -q "node 'add_c' (Add)" "$T/rm.err" || fail "runtime_mismatch bundle: $(cat "$T/rm.err")"
[ ! -e "$T/rmb.npy" ] || fail "runtime_mismatch bundle left an output"
# an If whose else branch cannot run for x's shape, with a run-time condition: compiled, and a
# run taking the else branch fails naming the If and the refused node (ONNX file and bundle);
# the then branch runs (tests/data/control checks its values)
U=$D/../control/if_untaken_invalid_runtime
for m in "$U.onnx" "$T/untaken.kiln"; do
    [ "$m" = "$U.onnx" ] || "$KILN" compile "$U.onnx" -o "$m" >/dev/null ||
        fail "compile if_untaken_invalid_runtime"
    rm -f "$T/untaken.npy"
    "$KILN" run "$m" --input "$U.cond_other.npy" --input "$U.input.1.npy" \
        --output "$T/untaken.npy" 2>"$T/untaken.err" && fail "$m: the refused else branch ran"
    grep -q "node 'rate_switch' (If): the else branch was taken, which kiln refused for the input shapes it was compiled for: node '.*' (Reshape): " \
        "$T/untaken.err" || fail "$m: refused branch message: $(cat "$T/untaken.err")"
    [ ! -e "$T/untaken.npy" ] || fail "$m: a failed run left an output"
    "$KILN" run "$m" --input "$U.input.0.npy" --input "$U.input.1.npy" \
        --output "$T/untaken.npy" || fail "$m: the then branch did not run"
done
# --input-value: the Reshape target fixed at compile time, the model then takes x only; the
# same through a bundle
"$KILN" run "$D/reshape_input.onnx" --input-value "shape=$D/shape_4x3.npy" --input "$D/x_2x6.npy" \
    --output "$T/y43.npy" || fail "run --input-value"
cmp -s "$T/y43.npy" "$D/y_4x3.npy" || fail "run --input-value: y differs from numpy's"
"$KILN" compile "$D/reshape_input.onnx" --input-value "shape=$D/shape_4x3.npy" -o "$T/r43.kiln" \
    >/dev/null && "$KILN" run "$T/r43.kiln" --input "$D/x_2x6.npy" --output "$T/y43b.npy" ||
    fail "compile --input-value"
cmp -s "$T/y43b.npy" "$D/y_4x3.npy" || fail "compile --input-value: y differs from numpy's"

# ---- bundles: kiln compile, run and inspect a .kiln ----
expect 0 "compile" "" -- compile "$D/reshape.onnx" -o "$T/r.kiln" --input-shape x=2,6
grep -q "^wrote $T/r.kiln" "$T/stdout" || fail "compile: no 'wrote' line"
cp "$D/two_inputs.onnx" "$T/two.onnx"
expect 0 "compile default output" "" -- compile "$T/two.onnx"
[ -f "$T/two.kiln" ] || fail "compile: default output two.kiln missing"
expect 0 "run bundle" "" -- run "$T/r.kiln" --input "$D/x_2x6.npy" --output "$T/yb.npy" --output "$T/zb.npy"
cmp -s "$T/yb.npy" "$D/y_expected.npy" || fail "run bundle: y differs from numpy's"
cmp -s "$T/zb.npy" "$D/x_2x6.npy" || fail "run bundle: z differs"
expect 0 "run bundle named inputs" "" -- run "$T/two.kiln" --input "b=$D/b.npy" --input "$D/a.npy" --output "$T/ab.npy" --output "$T/bb.npy"
cmp -s "$T/ab.npy" "$D/a.npy" || fail "run bundle: a_out"
cp "$T/r.kiln" "$T/renamed.onnx"
expect 0 "bundle detected by magic" "" -- run "$T/renamed.onnx" --input "$D/x_2x6.npy" --output-dir "$T/pos" 
expect 0 "inspect bundle" "" -- inspect "$T/r.kiln"
grep -q "^bundle: " "$T/stdout" || fail "inspect bundle: no bundle line"
grep -q "'x' float32\[2,6\]" "$T/stdout" || fail "inspect bundle: input shape missing"
expect 0 "inspect bundle --plan" "" -- inspect "$T/r.kiln" --plan
grep -q "^memory plan: arena " "$T/stdout" || fail "inspect --plan: no plan"
grep -q "offset .* size .* first .* last .* tensor" "$T/stdout" || fail "inspect --plan: no table header"
expect 0 "inspect onnx --plan" "" -- inspect "$D/reshape.onnx" --input-shape x=2,6 --plan
grep -q "^memory plan: arena " "$T/stdout" || fail "inspect onnx --plan: no plan"
# the plan a bundle rebuilds from its program is the one the planner made (-O0: same program):
# views and in place (tiny_resnet), blocks inside a Loop's scratch (loop_in_loop)
for m in "$D/../../../models/tiny_resnet.onnx" "$D/../control/loop_in_loop.onnx"; do
    expect 0 "inspect onnx --plan $m" "" -- inspect "$m" --plan
    sed -n '/^memory plan/,$p' "$T/stdout" >"$T/plan_onnx.txt"
    [ "$(wc -l <"$T/plan_onnx.txt")" -gt 3 ] || fail "inspect --plan $m: no buffers"
    expect 0 "compile -O0 $m" "" -- compile -O0 "$m" -o "$T/p0.kiln"
    expect 0 "inspect bundle --plan $m" "" -- inspect "$T/p0.kiln" --plan
    sed -n '/^memory plan/,$p' "$T/stdout" | cmp -s - "$T/plan_onnx.txt" ||
        fail "inspect --plan $m: the bundle's plan differs from the ONNX model's"
done
expect 0 "inspect bundle json" "" -- inspect --json "$T/r.kiln"
if /usr/bin/python3 -c 'import json' 2>/dev/null; then
    /usr/bin/python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/stdout" ||
        fail "inspect bundle --json: not valid JSON"
    expect 0 "inspect plan json" "" -- inspect --json --plan "$T/r.kiln"
    /usr/bin/python3 -c 'import json,sys; json.load(open(sys.argv[1]))["buffers"]' "$T/stdout" ||
        fail "inspect --plan --json: not valid JSON"
fi
# a corrupt bundle: one byte changed, or cut short; never half-written outputs
cp "$T/r.kiln" "$T/bad.kiln"
printf '\377' | dd of="$T/bad.kiln" bs=1 seek=200 conv=notrunc 2>/dev/null
expect 1 "corrupt bundle" "$T/bad.kiln: checksum mismatch" -- run "$T/bad.kiln" --input "$D/x_2x6.npy" --output-dir "$OUT"
expect 1 "corrupt bundle inspect" "$T/bad.kiln: checksum mismatch" -- inspect "$T/bad.kiln" --plan
head -c 300 "$T/r.kiln" >"$T/short.kiln"
expect 1 "truncated bundle" "$T/short.kiln: truncated" -- run "$T/short.kiln" --input "$D/x_2x6.npy" --output-dir "$OUT"
expect 1 "bundle wrong shape" "expects float32[2,6], the file holds float32[2,3]" -- \
    run "$T/r.kiln" --input "$D/a.npy" --output-dir "$OUT"
expect 1 "compile unsupported" "not supported by kiln" -- compile "$D/unsupported.onnx" -o "$OUT/u.kiln"
expect 1 "compile symbolic dims" "" -- compile "$D/reshape.onnx" -o "$OUT/r.kiln"
expect 1 "compile to missing dir" "$OUT/missing/r.kiln: cannot create" -- \
    compile "$D/reshape.onnx" --input-shape x=2,6 -o "$OUT/missing/r.kiln"
expect 2 "compile no model" "no model given" -- compile
expect 2 "bundle with --input-shape" "does not apply to a bundle" -- \
    run "$T/r.kiln" --input "$D/x_2x6.npy" --output-dir "$OUT" --input-shape x=2,6
expect 0 "compile --help" "" -- compile --help
grep -q "^usage: kiln compile" "$T/stdout" || fail "compile --help: no usage line"
# ---- bench: usage errors (exit 2), features not there yet (exit 1), a JSON run with plot ----
M="$D/../../../models/mlp.onnx"
expect 2 "bench unknown option" "unknown option '--fast'" -- bench "$M" --fast
expect 2 "bench no model" "no model given" -- bench --repeat 3
expect 2 "bench threads" "--threads needs a count from 1 to 64" -- bench "$M" --threads 0
expect 2 "run threads" "--threads needs a count from 1 to 64" -- \
    run "$M" --input "$D/x_2x6.npy" --output-dir "$OUT" --threads 65
expect 2 "bench unknown config" "unknown feature 'O7'" -- bench "$M" --configs O0,O7
expect 2 "bench repeated config" "config 'O2' is given twice" -- bench "$M" --configs O2,O2
expect 1 "bench int8" "int8 quantization is not implemented yet" -- bench "$M" --configs O0,O2+int8
expect 2 "compile prune spec" "expected channels:R" -- compile "$M" --prune weights:0.5
expect 2 "compile prune ratio" "with 0 < R, S < 1" -- compile "$M" --prune channels:1.5
expect 2 "compile prune norm" "--prune-norm takes l1 or l2" -- compile "$M" --prune channels:0.5 --prune-norm l3
expect 2 "bench format" "--format is text, md or json" -- bench "$M" --format xml
expect 2 "bench batch" "--batch needs sizes" -- bench "$M" --batch 1,0
expect 2 "bench repeat" "--repeat needs a count" -- bench "$M" --repeat 0
expect 2 "bench eval one file" "--eval needs two files" -- bench "$M" --eval "$D/x_2x6.npy"
expect 2 "bench range" "--input-range needs [NAME=]LO,HI" -- bench "$M" --input-range x=5,1
expect 2 "bench calib" "--calib is for int8 configs only" -- bench "$M" --calib "$D/x_2x6.npy"
expect 1 "bench bad input" "the model expects float32[4,16]" -- bench "$M" --input "$D/x_2x6.npy"
expect 0 "bench json" "" -- bench "$M" --repeat 5 --warmup 1 --format json --plot "$T/b.svg" --trace "$T/b.trace.json"
if /usr/bin/python3 -c 'import json' 2>/dev/null; then
    /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "kiln-bench/1" and [c["label"] for c in d["configs"]] == ["O0", "O2"]
assert d["configs"][0]["latency_ms"]["n"] == 5 and d["configs"][1]["speedup"] > 0
t = json.load(open(sys.argv[2]))["traceEvents"]
assert any(e["ph"] == "X" and e["cat"] == "Gemm" for e in t)
' "$T/stdout" "$T/b.trace.json" || fail "bench --format json: bad JSON or trace"
fi
[ -s "$T/b.svg" ] || fail "bench --plot: no SVG written"
if command -v xmllint >/dev/null 2>&1; then
    xmllint --noout "$T/b.svg" || fail "bench --plot: SVG is not well-formed XML"
else
    head -c 200 "$T/b.svg" | grep -q "<svg " && tail -1 "$T/b.svg" | grep -q "^</svg>$" ||
        fail "bench --plot: SVG does not start with <svg or end with </svg>"
fi
grep -q "<script" "$T/b.svg" && fail "bench --plot: the SVG has a script"
ls "$T" | grep -q "tmp" && fail "bench: a temporary file was left: $(ls "$T")"
expect 0 "bench text" "" -- bench "$M" --repeat 3 --warmup 0 --no-rss --batch 4,8
grep -q "^O2 " "$T/stdout" || fail "bench text: no O2 row"
grep -q "batch 8: the model fixes the batch at 4" "$T/stdout" || fail "bench text: no batch note"
expect 0 "run --profile" "" -- run "$D/reshape.onnx" --input "$D/x_2x6.npy" --profile "$T/prof.json"
grep -q '"ph": "X"' "$T/prof.json" || fail "run --profile: no trace events"

if [ "$fails" -ne 0 ]; then
    echo "$fails CLI check(s) failed"
    exit 1
fi
echo "all CLI checks passed"
