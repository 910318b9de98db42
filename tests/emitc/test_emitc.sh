#!/bin/sh
# test_emitc.sh - end-to-end test of the C emitter. Models: MODELS_DIR/*.onnx and the control-
# flow models of CONTROL_DIR (If/Loop/Scan) with .npy references, and the conformance tests of
# CONFORMANCE_DIR named in $conformance below (their .pb inputs converted to .npy). For each:
# `kiln compile --emit c --with-main` at -O2 (kiln compile's default), built with gcc and clang
# (when installed) as -std=c99 -Wall -Wextra -pedantic -Werror -O2, run on the reference input
# and compared bit for bit with `kiln run` at -O2 (same kernels; both builds are IEEE without FMA
# contraction on x86-64, see docs/emit-c.md); then the same at -O0 with the first compiler. The
# control-flow models are also built with ASan/UBSan when the first compiler has them.
# Also: the emitted model code has no stdio/malloc and exports only NAME_* symbols; two models
# link into one program; --weights bin; a -DNAME_THREADS build on 3 threads; bad names fail and
# leave no files.
# Usage: test_emitc.sh EMITC_TOOL KILN_BIN MODELS_DIR TESTS_EMITC_DIR [CONTROL_DIR
#                      [CONFORMANCE_DIR]]        Exit 0 pass, 1 fail.
set -u
[ $# -ge 4 ] && [ $# -le 6 ] || {
    echo "usage: $0 EMITC_TOOL KILN_BIN MODELS_DIR TESTS_EMITC_DIR [CONTROL_DIR [CONFORMANCE_DIR]]" >&2
    exit 2
}
tool=$1
kiln=$2
models=$3
srcdir=$4
control=${5:-}
confdir=${6:-}
# conformance tests with control flow that kiln runs (test_loop11 needs run-time shapes)
conformance="test_if test_scan_sum test_scan9_sum"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kiln-emitc.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

. "$(dirname "$0")/compilers.sh"
first_cc=$(echo $compilers | cut -d' ' -f1)
# the control-flow models are also built with ASan/UBSan (pseudo-compiler "san") when it links
SANFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -g"
san=""
echo 'int main(void) { return 0; }' >"$tmp/san.c"
# shellcheck disable=SC2086
$first_cc $CFLAGS $SANFLAGS -o "$tmp/san" "$tmp/san.c" 2>/dev/null && "$tmp/san" && san=san
echo "compilers:$compilers${san:+ (and $first_cc with ASan/UBSan for control flow)}"

failed=0
passed=0
fail() {
    echo "FAIL $*"
    failed=$((failed + 1))
}

# inputs of model $2 in folder $1 as "--input F ..."
ref_args() {
    args=""
    if [ -f "$1/$2.input.npy" ]; then
        args="--input $1/$2.input.npy"
    else
        k=0
        while [ -f "$1/$2.input.$k.npy" ]; do
            args="$args --input $1/$2.input.$k.npy"
            k=$((k + 1))
        done
    fi
    echo "$args"
}

count_outs() { # folder model
    n=0
    if [ -f "$1/$2.output.npy" ]; then
        n=1
    else
        while [ -f "$1/$2.output.$n.npy" ]; do n=$((n + 1)); done
    fi
    echo $n
}

out_args() { # prefix count
    a=""
    k=0
    while [ $k -lt "$2" ]; do a="$a --output $1.$k.npy"; k=$((k + 1)); done
    echo "$a"
}

same_all() { # got_prefix want_prefix count
    k=0
    ok=1
    while [ $k -lt "$3" ]; do
        "$tool" same "$1.$k.npy" "$2.$k.npy" || ok=0
        k=$((k + 1))
    done
    [ $ok = 1 ]
}

# Global symbols defined by the objects must all start with NAME_ (main excepted).
check_symbols() { # name objects...
    name=$1
    shift
    leaks=$(nm -g --defined-only "$@" 2>/dev/null | awk 'NF == 3 {print $3}' |
            grep -v "^${name}_" | grep -v '^main$')
    [ -z "$leaks" ] || { echo "    symbols without the ${name}_ prefix: $leaks"; return 1; }
}

# Emits MODEL at -O$level into DIR and checks it with each compiler of CCS against kiln run.
check() { # model base ins n_outs level ccs
    model=$1 base=$2 ins=$3 n_outs=$4 level=$5 ccs=$6
    name=$(echo "$base" | tr -c 'A-Za-z0-9_\n' '_')
    dir="$tmp/$base/O$level"
    mkdir -p "$dir"
    # shellcheck disable=SC2086
    if ! "$kiln" run -O$level "$model" $ins $(out_args "$dir/ref" $n_outs) >"$dir/kiln.log" 2>&1
    then
        fail "$base -O$level: kiln run failed"; sed 's/^/    /' "$dir/kiln.log"; return
    fi
    if ! "$kiln" compile -O$level "$model" --emit c --name "$name" -o "$dir" --with-main \
            >"$dir/emit.log" 2>&1; then
        fail "$base -O$level: emit failed"; sed 's/^/    /' "$dir/emit.log"; return
    fi
    if grep -l 'stdio\.h\|[^a-z_]malloc *(\|[^a-z_]printf *(' "$dir/$name.c" "$dir/$name"_k_*.c \
            "$dir/${name}_rt.h" "$dir/${name}_weights.c"; then
        fail "$base -O$level: model code uses stdio or malloc"
    fi
    for cc in $ccs; do
        realcc=$cc
        flags=$CFLAGS
        if [ "$cc" = san ]; then
            realcc=$first_cc
            flags="$CFLAGS $SANFLAGS"
        fi
        # two compiles at a time (the emitted files are independent translation units)
        ok=1
        objs=""
        for src in "$dir/$name.c" "$dir/${name}_weights.c" "$dir/$name"_k_*.c; do
            objs="$objs $dir/$cc.$(basename "$src" .c).o"
        done
        for src in "$dir/$name.c" "$dir/${name}_weights.c" "$dir/$name"_k_*.c; do
            echo "$src"
        done | TAG=$cc CC=$realcc CFLAGS=$flags xargs -P 2 -I{} sh -c \
            'o=$(dirname {})/$TAG.$(basename {} .c); $CC $CFLAGS -c {} -o $o.o 2>$o.log ||
             { sed "s/^/    /" $o.log; exit 1; }' || ok=0
        # shellcheck disable=SC2086
        $realcc $flags -o "$dir/$cc.bin" "$dir/${name}_main.c" $objs -lm 2>"$dir/$cc.log" ||
            { ok=0; sed 's/^/    /' "$dir/$cc.log"; }
        if [ $ok = 0 ]; then
            fail "$base -O$level: $cc build"; continue
        fi
        # shellcheck disable=SC2086
        [ "$cc" = san ] || check_symbols "$name" $objs || fail "$base -O$level: $cc: symbols leak"
        # shellcheck disable=SC2086
        if ! "$dir/$cc.bin" $ins $(out_args "$dir/$cc.got" $n_outs) --repeat 2; then
            fail "$base -O$level: $cc: the emitted program failed"; continue
        fi
        if same_all "$dir/$cc.got" "$dir/ref" $n_outs; then
            echo "PASS $base -O$level ($cc): bit-identical to kiln run -O$level"
            passed=$((passed + 1))
        else
            fail "$base -O$level: $cc: output differs from kiln run -O$level"
        fi
    done
}

check_folder_model() { # folder model.onnx [extra compilers at -O2]
    base=$(basename "$2" .onnx)
    ins=$(ref_args "$1" "$base")
    n_outs=$(count_outs "$1" "$base")
    [ -n "$ins" ] && [ "$n_outs" -gt 0 ] || { echo "skip $base: no references"; return; }
    check "$2" "$base" "$ins" "$n_outs" 2 "$compilers ${3:-}"
    check "$2" "$base" "$ins" "$n_outs" 0 "$first_cc"
}

for model in "$models"/*.onnx; do
    check_folder_model "$models" "$model"
done
if [ -n "$control" ]; then
    for model in "$control"/*.onnx; do
        check_folder_model "$control" "$model" "$san"
    done
fi
if [ -n "$confdir" ]; then
    for t in $conformance; do
        ds="$confdir/$t/test_data_set_0"
        [ -f "$confdir/$t/model.onnx" ] || { fail "$t: not in $confdir"; continue; }
        mkdir -p "$tmp/$t"
        ins=""
        k=0
        while [ -f "$ds/input_$k.pb" ]; do
            "$tool" topy "$ds/input_$k.pb" "$tmp/$t/input.$k.npy" || fail "$t: input_$k.pb"
            ins="$ins --input $tmp/$t/input.$k.npy"
            k=$((k + 1))
        done
        n=0
        while [ -f "$ds/output_$n.pb" ]; do n=$((n + 1)); done
        check "$confdir/$t/model.onnx" "$t" "$ins" "$n" 2 "$compilers $san"
    done
fi

# ---- two models in one program (the objects built above, the drivers renamed) ----
d1="$tmp/digits_cnn/O2"
d2="$tmp/mlp/O2"
for cc in $compilers; do
    if [ -f "$d1/$cc.digits_cnn.o" ] && [ -f "$d2/$cc.mlp.o" ] &&
       $cc $CFLAGS -I"$d1" -I"$d2" -Ddigits_cnn_MAIN=digits_cnn_main -Dmlp_MAIN=mlp_main \
           -o "$tmp/two.$cc" "$srcdir/two_models.c" "$d1/digits_cnn_main.c" "$d2/mlp_main.c" \
           "$d1/$cc".*.o "$d2/$cc".*.o -lm &&
       "$tmp/two.$cc" --input "$models/digits_cnn.input.npy" --output "$tmp/two.d.0.npy" \
           -- --input "$models/mlp.input.npy" --output "$tmp/two.m.0.npy" &&
       same_all "$tmp/two.d" "$d1/ref" 1 && same_all "$tmp/two.m" "$d2/ref" 1
    then
        echo "PASS two models in one program ($cc)"
        passed=$((passed + 1))
    else
        fail "two models in one program ($cc)"
    fi
done

# ---- --weights bin (a plain model, and one whose Loop body reads weights) ----
cc=$first_cc
for base in mlp loop_scan; do
    if [ "$base" = mlp ]; then folder=$models; else folder=$control; fi
    [ -n "$folder" ] && [ -f "$folder/$base.onnx" ] || continue
    wb="$tmp/bin_$base"
    mkdir -p "$wb"
    ins=$(ref_args "$folder" "$base")
    n_outs=$(count_outs "$folder" "$base")
    # shellcheck disable=SC2086
    if "$kiln" compile "$folder/$base.onnx" --emit c --name mb -o "$wb" --weights bin \
           --with-main >/dev/null &&
       [ ! -f "$wb/mb_weights.c" ] && [ -f "$wb/mb.weights.bin" ] &&
       (cd "$wb" && $cc $CFLAGS -o mb mb.c mb_k_*.c mb_main.c -lm) &&
       "$wb/mb" --weights "$wb/mb.weights.bin" $ins $(out_args "$wb/got" $n_outs) &&
       same_all "$wb/got" "$tmp/$base/O2/ref" $n_outs; then
        echo "PASS --weights bin ($base)"
        passed=$((passed + 1))
    else
        fail "--weights bin ($base)"
    fi
    # without the blob the program must refuse to run
    # shellcheck disable=SC2086
    if "$wb/mb" --weights "$wb/missing.bin" $ins 2>/dev/null; then
        fail "--weights bin ($base): ran without weights"
    fi
done

# ---- -DNAME_THREADS: the same emitted files built with the thread pool, run on 3 threads ----
# KILN_THREADS_SPLIT_ALL makes every op split (these models' ops are below the size where
# threads pay); tiny_resnet with ASan/UBSan too when the first compiler has them
for base in tiny_resnet dw_cnn_hardswish bert_tiny; do
    d="$tmp/$base/O2"
    [ -f "$d/$base.c" ] || continue
    ins=$(ref_args "$models" "$base")
    n_outs=$(count_outs "$models" "$base")
    variants=plain
    [ "$base" = tiny_resnet ] && variants="plain $san" # one sanitized build is enough
    for v in $variants; do
        flags="$CFLAGS -D${base}_THREADS -DKILN_THREADS_SPLIT_ALL -pthread"
        [ "$v" = san ] && flags="$flags $SANFLAGS"
        # shellcheck disable=SC2086
        if (cd "$d" && $first_cc $flags -o "threads_$v" "$base.c" "${base}_weights.c" \
                "$base"_k_*.c "${base}_main.c" -lm) &&
           "$d/threads_$v" --threads 3 $ins $(out_args "$d/threads_$v" $n_outs) --repeat 2 &&
           same_all "$d/threads_$v" "$d/ref" $n_outs; then
            label=""
            [ "$v" = san ] && label=" with ASan/UBSan"
            echo "PASS $base: -D${base}_THREADS$label on 3 threads, bit-identical to kiln run"
            passed=$((passed + 1))
        else
            fail "$base: -D${base}_THREADS ($v) on 3 threads"
        fi
    done
done

# ---- bad names and directories fail and leave nothing ----
bad="$tmp/bad"
mkdir -p "$bad"
for n in 1abc "a-b" int main kiln_x ""; do
    if "$kiln" compile "$models/mlp.onnx" --emit c -o "$bad" --name "$n" >/dev/null 2>&1; then
        fail "name '$n' was accepted"
    fi
done
"$kiln" compile "$models/mlp.onnx" --emit c -o "$tmp/does/not/exist" --name m >/dev/null 2>&1 &&
    fail "missing dir accepted"
[ -z "$(ls -A "$bad")" ] || fail "a failed emit left files: $(ls -A "$bad")"
# a failure at the last step (renaming m.c onto a directory) removes the files renamed before
mkdir "$bad/m.c"
"$kiln" compile "$models/mlp.onnx" --emit c -o "$bad" --name m >/dev/null 2>&1 &&
    fail "emit over a directory succeeded"
[ "$(ls -A "$bad")" = "m.c" ] || fail "a failed emit left files: $(ls -A "$bad")"

echo "$passed passed, $failed failed"
[ $failed = 0 ] && [ $passed -gt 0 ]
