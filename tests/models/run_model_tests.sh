#!/bin/sh
# run_model_tests.sh - runs `kiln run` on every MODELS_DIR/*.onnx that has .npy references and
# compares each output with npycmp (rtol 1e-4, atol 1e-5 unless NPYCMP_ARGS says otherwise).
# References: NAME.input.npy / NAME.output.npy, or NAME.input.K.npy / NAME.output.K.npy (K from
# 0, in graph order) for models with several. KILN_RUN_ARGS adds `kiln run` options (-O0). Give model names after MODELS_DIR to run only those.
# Usage: run_model_tests.sh KILN_BIN NPYCMP_BIN MODELS_DIR [NAME...]   Exit 0 all pass, 1 otherwise.
set -u

if [ $# -lt 3 ]; then
    echo "usage: $0 KILN_BIN NPYCMP_BIN MODELS_DIR [NAME...]" >&2
    exit 2
fi
kiln=$1
npycmp=$2
dir=$3
shift 3

for tool in "$kiln" "$npycmp"; do
    if [ ! -x "$tool" ]; then
        echo "run_model_tests: error: $tool is not an executable (build it first)" >&2
        exit 1
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kiln-models.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

# Lists NAME.KIND.npy, or NAME.KIND.0.npy NAME.KIND.1.npy ... (space-separated; the paths
# come from a directory listing we control, without spaces, so word splitting is safe).
refs() {
    if [ -f "$dir/$1.$2.npy" ]; then
        echo "$dir/$1.$2.npy"
        return
    fi
    k=0
    list=""
    while [ -f "$dir/$1.$2.$k.npy" ]; do
        list="$list $dir/$1.$2.$k.npy"
        k=$((k + 1))
    done
    echo "$list"
}

passed=0
failed=0
skipped=0
failures=""

run_one() {
    name=$1
    model="$dir/$name.onnx"
    if [ ! -f "$model" ]; then
        echo "FAIL $name: $model does not exist"
        failed=$((failed + 1)); failures="$failures $name"
        return
    fi
    ins=$(refs "$name" input)
    outs=$(refs "$name" output)
    if [ -z "$ins" ] || [ -z "$outs" ]; then
        echo "skip $name: no $name.input*.npy / $name.output*.npy references"
        skipped=$((skipped + 1))
        return
    fi
    set --
    # KILN_RUN_ARGS: extra `kiln run` options, e.g. -O0 (word-split on purpose)
    # shellcheck disable=SC2086
    set -- ${KILN_RUN_ARGS:-}
    for f in $ins; do set -- "$@" --input "$f"; done
    k=0
    for f in $outs; do
        set -- "$@" --output "$tmp/$name.got.$k.npy"
        k=$((k + 1))
    done
    # KILN_BUNDLE=1: compile to a .kiln bundle first (at the same -O level) and run that
    if [ -n "${KILN_BUNDLE:-}" ]; then
        # shellcheck disable=SC2086
        if ! "$kiln" compile "$model" -o "$tmp/$name.kiln" ${KILN_RUN_ARGS:-} \
            >"$tmp/$name.log" 2>&1; then
            echo "FAIL $name: kiln compile exited with an error; its output:"
            sed 's/^/    /' "$tmp/$name.log"
            failed=$((failed + 1)); failures="$failures $name"
            return
        fi
        model="$tmp/$name.kiln"
    fi
    echo "== $name: $kiln run $model $*"
    if ! "$kiln" run "$model" "$@" >"$tmp/$name.log" 2>&1; then
        echo "FAIL $name: kiln run exited with an error; its output:"
        sed 's/^/    /' "$tmp/$name.log"
        failed=$((failed + 1)); failures="$failures $name"
        return
    fi
    ok=1
    k=0
    for f in $outs; do
        # NPYCMP_ARGS is deliberately unquoted: it holds options such as "--rtol 1e-3".
        # shellcheck disable=SC2086
        if ! "$npycmp" ${NPYCMP_ARGS:-} "$tmp/$name.got.$k.npy" "$f"; then
            ok=0
        fi
        k=$((k + 1))
    done
    if [ $ok = 1 ]; then
        echo "PASS $name"
        passed=$((passed + 1))
    else
        echo "FAIL $name: output differs from the reference"
        failed=$((failed + 1)); failures="$failures $name"
    fi
}

if [ $# -gt 0 ]; then
    for name in "$@"; do run_one "$name"; done
else
    found=0
    for model in "$dir"/*.onnx; do
        [ -f "$model" ] || continue
        found=1
        run_one "$(basename "$model" .onnx)"
    done
    if [ $found = 0 ]; then
        echo "run_model_tests: error: no .onnx models in $dir" >&2
        exit 1
    fi
fi

echo "$passed passed, $failed failed, $skipped skipped"
if [ $failed -gt 0 ]; then
    echo "failed:$failures"
    exit 1
fi
[ $passed -gt 0 ] || exit 1
exit 0
