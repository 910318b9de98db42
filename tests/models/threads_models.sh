#!/bin/sh
# threads_models.sh - whole models on a thread pool: each model of MODELS_DIR named below is
# compiled to a bundle and run with `kiln run --threads 1` and `--threads 3`, the outputs
# compared byte for byte. KILN_THREADS_SPLIT_ALL=1 makes every GEMM, Conv, pooling and
# elementwise op split however small, as these models' ops are all below the size where
# threads pay. Usage: threads_models.sh KILN_BIN MODELS_DIR. Exit 0 pass, 1 fail.
set -u
kiln=$1
models=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kiln-threads.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
export KILN_THREADS_SPLIT_ALL=1
failed=0
for m in tiny_resnet digits_cnn kws_cnn dw_cnn_hardswish detector_head bert_tiny mlp; do
    ins=""
    for f in "$models/$m".input*.npy; do ins="$ins --input $f"; done
    if ! "$kiln" compile "$models/$m.onnx" -o "$tmp/$m.kiln" >"$tmp/log" 2>&1; then
        echo "FAIL $m: compile"; sed 's/^/    /' "$tmp/log"; failed=1; continue
    fi
    ok=1
    for t in 1 3; do
        mkdir -p "$tmp/$m.$t"
        # shellcheck disable=SC2086
        "$kiln" run "$tmp/$m.kiln" $ins --output-dir "$tmp/$m.$t" --threads $t >"$tmp/log" 2>&1 ||
            { echo "FAIL $m: run --threads $t"; sed 's/^/    /' "$tmp/log"; ok=0; }
    done
    for f in "$tmp/$m.1"/*.npy; do
        cmp -s "$f" "$tmp/$m.3/$(basename "$f")" ||
            { echo "FAIL $m: $(basename "$f") differs on 3 threads"; ok=0; }
    done
    if [ $ok = 1 ]; then echo "PASS $m: --threads 3 bit-identical to --threads 1"; else failed=1; fi
done
exit $failed
