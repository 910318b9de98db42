#!/bin/sh
# test_emitc_simd.sh - emitted C chooses its float32 GEMM micro-kernel and depthwise conv rows
# by compiler macros (runtime/kernels/gemm_core.c, conv_dw.c; kws_cnn has depthwise convs).
# For each model and each variant this CPU runs: emit C with
# `kiln compile --emit c --with-main`, build it with gcc and clang -std=c99 -Wall -Wextra -pedantic
# -Werror -O2 plus the variant's flags (portable: none; avx2: -mavx2 -mfma; avx512: also
# -mavx512f), check from the object code that the variant's registers are used (ymm/zmm), run it
# on the reference inputs and compare bit for bit with `KILN_SIMD=<variant> kiln run`.
# Usage: test_emitc_simd.sh KILN_BIN MODELS_DIR [MODEL...]   Exit 0 pass, 1 fail.
set -u
[ $# -ge 2 ] || { echo "usage: $0 KILN_BIN MODELS_DIR [MODEL...]" >&2; exit 2; }
kiln=$1
models=$2
shift 2
list=${*:-digits_cnn tiny_resnet transformer_encoder kws_cnn}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kiln-emitc-simd.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

. "$(dirname "$0")/compilers.sh"

# variants this CPU runs (Linux /proc/cpuinfo; elsewhere only the portable build)
cpu=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
has() { case " $cpu " in *" $1 "*) return 0 ;; esac; return 1; }
variants=portable
if [ "$(uname -m)" = x86_64 ] && has avx2 && has fma; then
    variants="$variants avx2"
    has avx512f && variants="$variants avx512"
fi
echo "compilers:$compilers; variants: $variants"

flags_of() {
    case $1 in
    portable) echo "" ;;
    avx2) echo "-mavx2 -mfma" ;;
    avx512) echo "-mavx2 -mfma -mavx512f" ;;
    esac
}

# the widest vector register the GEMM object uses must be the variant's
check_regs() { # object variant
    command -v objdump >/dev/null 2>&1 || return 0
    dis=$(objdump -d "$1")
    case $2 in
    portable) ! echo "$dis" | grep -q '%[yz]mm' ;;
    avx2) echo "$dis" | grep -q '%ymm' && ! echo "$dis" | grep -q '%zmm' ;;
    avx512) echo "$dis" | grep -q '%zmm' ;;
    esac
}

failed=0
passed=0
fail() {
    echo "FAIL $*"
    failed=$((failed + 1))
}

for base in $list; do
    model="$models/$base.onnx"
    [ -f "$model" ] || { fail "$base: no $model"; continue; }
    if [ -f "$models/$base.input.npy" ]; then
        ins="--input $models/$base.input.npy"
    else
        ins=""
        k=0
        while [ -f "$models/$base.input.$k.npy" ]; do
            ins="$ins --input $models/$base.input.$k.npy"
            k=$((k + 1))
        done
    fi
    n_outs=0
    if [ -f "$models/$base.output.npy" ]; then
        n_outs=1
    else
        while [ -f "$models/$base.output.$n_outs.npy" ]; do n_outs=$((n_outs + 1)); done
    fi
    for v in $variants; do
        dir="$tmp/$base.$v"
        mkdir -p "$dir"
        outs_ref=""
        outs_got=""
        k=0
        while [ $k -lt $n_outs ]; do
            outs_ref="$outs_ref --output $dir/ref.$k.npy"
            outs_got="$outs_got --output $dir/got.$k.npy"
            k=$((k + 1))
        done
        # compile and run under the same variant: constant folding runs the GEMM too
        # shellcheck disable=SC2086
        if ! KILN_SIMD=$v "$kiln" compile "$model" --emit c --name m --with-main -o "$dir/src" \
                >"$dir/emit.log" 2>&1 ||
           ! KILN_SIMD=$v "$kiln" run "$model" $ins $outs_ref >"$dir/run.log" 2>&1; then
            fail "$base $v: kiln failed"
            sed 's/^/    /' "$dir/emit.log" "$dir/run.log"
            continue
        fi
        for cc in $compilers; do
            # shellcheck disable=SC2046
            if ! (cd "$dir/src" && $cc $CFLAGS $(flags_of $v) -c m_k_gemm_core.c -o gemm.o &&
                  $cc $CFLAGS $(flags_of $v) -o m *.c -lm) >"$dir/$cc.log" 2>&1; then
                fail "$base $v $cc: build"
                sed 's/^/    /' "$dir/$cc.log"
                continue
            fi
            check_regs "$dir/src/gemm.o" $v ||
                fail "$base $v $cc: the GEMM object does not use the $v registers"
            # shellcheck disable=SC2086
            if ! "$dir/src/m" $ins $outs_got; then
                fail "$base $v $cc: the emitted program failed"
                continue
            fi
            k=0
            same=1
            while [ $k -lt $n_outs ]; do
                cmp -s "$dir/got.$k.npy" "$dir/ref.$k.npy" || same=0
                k=$((k + 1))
            done
            if [ $same = 1 ]; then
                fl=$(flags_of $v)
                echo "PASS $base $v ($cc ${fl:-without -m flags}): bit-identical to" \
                    "KILN_SIMD=$v kiln run"
                passed=$((passed + 1))
            else
                fail "$base $v $cc: output differs from KILN_SIMD=$v kiln run"
            fi
        done
    done
done

echo "$passed passed, $failed failed"
[ $failed = 0 ] && [ $passed -gt 0 ]
