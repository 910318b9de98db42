#!/bin/sh
# benchmarks.sh - measures what docs/benchmarks.md shows and rewrites it: `kiln bench` (O0 vs
# O2) on every example model (models/*.onnx, on their reference inputs) and on torchvision
# classifiers with random weights, their SVG plots under docs/bench/, and kiln vs ONNX Runtime
# 1.30 on one thread (bench/ort_compare.sh). Short runs on purpose (a shared 2-core machine):
# REPEAT timed runs per config for the example models, TV_REPEAT for the classifiers.
# The SIMD section times the GEMM's micro-kernels side by side (bench/simd_compare.py;
# BASE_KILN: another kiln executable for a "before" column).
# usage: bench/benchmarks.sh [BUILD_DIR]
#        (env: REPEAT=20 TV_REPEAT=5 NO_TORCHVISION=1 NO_ORT=1 NO_SIMD=1 BASE_KILN=old/kiln)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
KILN=$BUILD/kiln
REPEAT=${REPEAT:-20}
TV_REPEAT=${TV_REPEAT:-5}
TV_MODELS=resnet18,mobilenet_v2,squeezenet1_1,efficientnet_b0
TV_DIR=$BUILD/tv
DOC=$ROOT/docs/benchmarks.md
SVG=$ROOT/docs/bench
[ -x "$KILN" ] || { echo "benchmarks.sh: build kiln first ($KILN)" >&2; exit 1; }
mkdir -p "$SVG"
cd "$ROOT"
TMP=$(mktemp "${TMPDIR:-/tmp}/kiln_benchmarks_XXXXXX")
trap 'rm -f "$TMP"' EXIT

# --input arguments for a model's reference inputs (NAME.input.npy or NAME.input.K.npy)
inputs_of() {
    base=${1%.onnx}
    if [ -f "$base.input.npy" ]; then
        printf -- '--input %s ' "$base.input.npy"
    else
        for f in "$base".input.[0-9]*.npy; do
            [ -f "$f" ] && printf -- '--input %s ' "$f"
        done
    fi
    return 0
}

# one model: the command, then its tables (Markdown) and the plot
bench_one() {
    model=$1 name=$2 repeat=$3 warmup=$4
    shift 4
    cmd="kiln bench $model --repeat $repeat --warmup $warmup --format md --plot docs/bench/$name.svg $*"
    echo "bench: $name" >&2
    {
        echo "#### $name"
        echo
        echo '```'
        echo "$cmd"
        echo '```'
        echo
        # shellcheck disable=SC2086
        "$KILN" bench "$model" --repeat "$repeat" --warmup "$warmup" --format md \
            --plot "$SVG/$name.svg" "$@" | sed -e '1,2d'
        echo
        echo "![$name](bench/$name.svg)"
        echo
    } >>"$TMP"
}

cat >"$TMP" <<EOF
# Benchmarks

Measured with \`kiln bench\` (see \`kiln bench --help\` and [the JSON schema](bench-json.md)).
Regenerate everything on this page with \`bench/benchmarks.sh [BUILD_DIR]\`: it rewrites this
file and the plots under \`docs/bench/\`.

**Machine**: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //'), $(nproc) cores
**shared with other jobs** while these numbers were taken, so single runs are noisy: compare the
medians, and rerun before drawing fine conclusions. kiln $("$KILN" --version | sed 's/kiln //'),
$(cc --version 2>/dev/null | head -1), build type RelWithDebInfo (-O2), one thread, $(date -u +%Y-%m-%d).

How to read the tables:

- Every config is compiled and run in one process; configs run **interleaved run by run**, so
  noise hits them alike. The first config (O0) is the baseline: **speedup** = baseline median /
  median, and the size columns show size / baseline size.
- Latency: min, median, p90, p99 over the timed runs after warm-up (monotonic clock; p90/p99
  by nearest rank: with few runs, p99 is the slowest run).
- **kernel code**: the machine code of the distinct kernel functions the program calls, from the
  kiln executable's ELF symbol table (shared out-of-line helpers such as the GEMM core are not
  included); the total of all kernels of the runtime is given below each table.
- **peak RSS**: a forked child that loads, compiles and runs the config once (includes the
  importer's peak, so it is dominated by the weights for the large models).
- Output difference from the baseline: max abs error, SQNR (inf: identical), and top-1
  agreement of score outputs ([K] or [N,K]; over the whole eval set with --eval).
- O2 today runs only the cleanup pass (the other passes are being added); the columns are
  ready for O3, int8, fp16 and pruning as they land. Where O0 and O2 have the same node count
  and sizes below, the two programs are the same, so their speedup column is this machine's
  noise floor at these run counts (here up to about +-25 % on the busiest runs).

## Example models (models/*.onnx)

$REPEAT timed runs per config after 3 warm-up runs, on the models' reference inputs.
\`digits_cnn\` also measures top-1 accuracy on its 360 held-out images (\`--eval\`).

EOF

for m in models/*.onnx; do
    name=$(basename "$m" .onnx)
    # shellcheck disable=SC2046
    if [ "$name" = digits_cnn ]; then
        bench_one "$m" "$name" "$REPEAT" 3 $(inputs_of "$m") \
            --eval models/digits_test_images.npy models/digits_test_labels.npy
    else
        bench_one "$m" "$name" "$REPEAT" 3 $(inputs_of "$m")
    fi
done

if [ -z "${NO_TORCHVISION:-}" ] && /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then
    mkdir -p "$TV_DIR"
    for n in $(echo "$TV_MODELS" | tr , ' '); do
        [ -f "$TV_DIR/${n}_op13.onnx" ] || need_export=1
    done
    if [ -n "${need_export:-}" ]; then
        echo "benchmarks.sh: exporting $TV_MODELS to $TV_DIR" >&2
        /usr/bin/python3 models/check_torchvision.py "$KILN" --export-only --keep "$TV_DIR" \
            --models "$TV_MODELS" >&2
    fi
    cat >>"$TMP" <<EOF
## torchvision classifiers (random weights)

Exported with \`/usr/bin/python3 models/check_torchvision.py build/kiln --export-only --keep
build/tv --models $TV_MODELS\` (opset 13, seeded random weights, BatchNorm statistics
calibrated on random data; input float32[1,3,224,224] from the export). Only $TV_REPEAT timed
runs per config after 1 warm-up: these models take hundreds of milliseconds per run in kiln's
portable interpreter, and the machine is shared.

EOF
    for n in $(echo "$TV_MODELS" | tr , ' '); do
        bench_one "$TV_DIR/${n}_op13.onnx" "$n" "$TV_REPEAT" 1 --input "$TV_DIR/${n}_op13.input.npy"
    done
    sed -i "s#$TV_DIR#build/tv#g; s#$BUILD/#build/#g" "$TMP"
    if [ -z "${NO_ORT:-}" ] && command -v node >/dev/null 2>&1; then
        cat >>"$TMP" <<EOF
## kiln vs ONNX Runtime 1.30 (CPU, one thread)

\`bench/ort_compare.sh\` (installs onnxruntime-node 1.30.0 into bench/ort_compare/.cache on first
use): the same model and inputs, ORT with intraOpNumThreads = interOpNumThreads = 1 and all graph
optimizations, kiln at O2; rounds interleaved (ORT first, then kiln, then the other way round).
**The ORT figure is timed around \`session.run()\` in Node: the binding adds tens of
microseconds per call**, which matters only for the microsecond-scale example models.

\`\`\`
bench/ort_compare.sh --kiln build/kiln --repeat $TV_REPEAT --warmup 1 --rounds 2 --format md build/tv/{$TV_MODELS}_op13.onnx
bench/ort_compare.sh --kiln build/kiln --repeat $REPEAT --rounds 3 --format md models/{mlp,digits_cnn,tiny_resnet,kws_cnn}.onnx
\`\`\`

EOF
        tv_models=""
        for n in $(echo "$TV_MODELS" | tr , ' '); do
            tv_models="$tv_models $TV_DIR/${n}_op13.onnx"
        done
        # shellcheck disable=SC2086
        bench/ort_compare.sh --kiln "$KILN" --repeat "$TV_REPEAT" --warmup 1 --rounds 2 --format md \
            $tv_models >>"$TMP"
        echo >>"$TMP"
        bench/ort_compare.sh --kiln "$KILN" --repeat "$REPEAT" --rounds 3 --format md \
            models/mlp.onnx models/digits_cnn.onnx models/tiny_resnet.onnx models/kws_cnn.onnx \
            >>"$TMP"
    fi
fi
# ---- the float32 GEMM's micro-kernels side by side (bench/simd_compare.py) ----
if [ -z "${NO_SIMD:-}" ]; then
    base_opt=""
    base_note=""
    if [ -n "${BASE_KILN:-}" ]; then
        base_opt="--base $BASE_KILN"
        base_note="
The \"before\" column is BASE_KILN, a kiln built from the commit before the SIMD kernels, run
as a separate process alternating with this one round by round."
    fi
    cat >>"$TMP" <<EOF
## SIMD GEMM kernels

Conv (through im2col), ConvTranspose, Gemm, MatMul and the RNNs share one float32 GEMM
(\`runtime/kernels/gemm_core.c\`) with three micro-kernels: portable C (4x8 tile, what every
build has), AVX2+FMA (6x16) and AVX-512F (8x32). \`kiln\` picks the best one the CPU runs at
its first GEMM; \`KILN_SIMD=portable|avx2|avx512\` forces one (a variant the CPU lacks falls
back to the best one below it), and \`kiln bench\` configs take \`simd:NAME\` to time them side
by side in one process, interleaved run by run. Emitted C chooses by compiler flags instead
([emit-c.md](emit-c.md)). The AVX2 and AVX-512 kernels give the same bits (the same FMAs in the
same order per element); both differ from the portable one by the rounding of the fused
multiply-adds (last column).$base_note

\`\`\`
bench/simd_compare.py --kiln build/kiln ${BASE_KILN:+--base BASE_KILN }--repeat $REPEAT --rounds 3 models/{tiny_resnet,digits_cnn,transformer_encoder,kws_cnn}.onnx
\`\`\`

EOF
    # shellcheck disable=SC2086
    /usr/bin/python3 bench/simd_compare.py --kiln "$KILN" $base_opt --repeat "$REPEAT" --rounds 3 \
        models/tiny_resnet.onnx models/digits_cnn.onnx models/transformer_encoder.onnx \
        models/kws_cnn.onnx >>"$TMP"
    if [ -f "$TV_DIR/resnet18_op13.onnx" ]; then
        cat >>"$TMP" <<EOF

\`\`\`
bench/simd_compare.py --kiln build/kiln ${BASE_KILN:+--base BASE_KILN }--repeat $TV_REPEAT --warmup 1 --rounds 2 build/tv/resnet18_op13.onnx
\`\`\`

EOF
        # shellcheck disable=SC2086
        /usr/bin/python3 bench/simd_compare.py --kiln "$KILN" $base_opt --repeat "$TV_REPEAT" \
            --warmup 1 --rounds 2 "$TV_DIR/resnet18_op13.onnx" >>"$TMP"
        if [ -z "${NO_ORT:-}" ] && command -v node >/dev/null 2>&1; then
            cat >>"$TMP" <<EOF

Against ONNX Runtime 1.30 on one thread, on the portable path and on the default (best) one:

\`\`\`
bench/ort_compare.sh --kiln build/kiln --config O2+simd:portable --repeat $TV_REPEAT --warmup 1 --rounds 2 --format md build/tv/resnet18_op13.onnx models/{tiny_resnet,digits_cnn,transformer_encoder}.onnx
bench/ort_compare.sh --kiln build/kiln --config O2 --repeat $TV_REPEAT --warmup 1 --rounds 2 --format md build/tv/resnet18_op13.onnx models/{tiny_resnet,digits_cnn,transformer_encoder}.onnx
\`\`\`

EOF
            for cfg in O2+simd:portable O2; do
                bench/ort_compare.sh --kiln "$KILN" --config "$cfg" --repeat "$TV_REPEAT" \
                    --warmup 1 --rounds 2 --format md "$TV_DIR/resnet18_op13.onnx" \
                    models/tiny_resnet.onnx models/digits_cnn.onnx \
                    models/transformer_encoder.onnx >>"$TMP"
                echo >>"$TMP"
            done
        fi
    fi
    sed -i "s#$TV_DIR#build/tv#g; s#$BUILD/#build/#g" "$TMP"
fi
cat "$TMP" >"$DOC"
trap - EXIT
echo "benchmarks.sh: wrote $DOC and $SVG/*.svg" >&2
