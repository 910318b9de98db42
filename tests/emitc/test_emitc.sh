#!/bin/sh
# test_emitc.sh - end-to-end test of the C emitter. For every MODELS_DIR/*.onnx with .npy
# references: emit C (with the .npy driver), build it with gcc and clang (when installed) as
# -std=c99 -Wall -Wextra -pedantic -Werror -O2, run it on the reference input and compare the
# output bit for bit with `kiln run` (same kernels; both builds are IEEE without FMA contraction
# on x86-64, see docs/emit-c.md). Also: the emitted model code has no stdio/malloc and exports
# only NAME_* symbols; two models link into one program; --weights bin; bad names fail and
# leave no files.
# Usage: test_emitc.sh EMITC_TOOL KILN_BIN MODELS_DIR TESTS_EMITC_DIR   Exit 0 pass, 1 fail.
set -u
[ $# -eq 4 ] || { echo "usage: $0 EMITC_TOOL KILN_BIN MODELS_DIR TESTS_EMITC_DIR" >&2; exit 2; }
tool=$1
kiln=$2
models=$3
srcdir=$4
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kiln-emitc.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

CFLAGS="-std=c99 -Wall -Wextra -pedantic -Werror -O2"
compilers=""
for cc in gcc clang; do
    command -v $cc >/dev/null 2>&1 && compilers="$compilers $cc"
done
[ -n "$compilers" ] || compilers=cc
echo "compilers:$compilers"

failed=0
passed=0
fail() {
    echo "FAIL $*"
    failed=$((failed + 1))
}

# inputs of model $1 as "--input F ..."
ref_args() {
    args=""
    if [ -f "$models/$1.input.npy" ]; then
        args="--input $models/$1.input.npy"
    else
        k=0
        while [ -f "$models/$1.input.$k.npy" ]; do
            args="$args --input $models/$1.input.$k.npy"
            k=$((k + 1))
        done
    fi
    echo "$args"
}

count_outs() {
    n=0
    if [ -f "$models/$1.output.npy" ]; then
        n=1
    else
        while [ -f "$models/$1.output.$n.npy" ]; do n=$((n + 1)); done
    fi
    echo $n
}

out_args() { # prefix count
    a=""
    k=0
    while [ $k -lt "$2" ]; do a="$a --output $1.$k.npy"; k=$((k + 1)); done
    echo "$a"
}

same_all() { # got_prefix want_prefix count label
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

for model in "$models"/*.onnx; do
    base=$(basename "$model" .onnx)
    ins=$(ref_args "$base")
    n_outs=$(count_outs "$base")
    [ -n "$ins" ] && [ "$n_outs" -gt 0 ] || { echo "skip $base: no references"; continue; }
    name=$(echo "$base" | tr -c 'A-Za-z0-9_\n' '_')
    dir="$tmp/$base"
    mkdir -p "$dir"
    # shellcheck disable=SC2086
    if ! "$kiln" run -O0 "$model" $ins $(out_args "$dir/ref" $n_outs) >"$dir/kiln.log" 2>&1; then
        fail "$base: kiln run failed"; sed 's/^/    /' "$dir/kiln.log"; continue
    fi
    if ! "$tool" emit "$model" "$dir" "$name" --main; then
        fail "$base: emit failed"; continue
    fi
    if grep -l 'stdio\.h\|[^a-z_]malloc *(\|[^a-z_]printf *(' "$dir/$name.c" "$dir/$name"_k_*.c "$dir/${name}_rt.h" \
            "$dir/${name}_weights.c"; then
        fail "$base: model code uses stdio or malloc"
    fi
    for cc in $compilers; do
        # two compiles at a time (the emitted files are independent translation units)
        ok=1
        objs=""
        for src in "$dir/$name.c" "$dir/${name}_weights.c" "$dir/$name"_k_*.c; do
            objs="$objs $dir/$cc.$(basename "$src" .c).o"
        done
        for src in "$dir/$name.c" "$dir/${name}_weights.c" "$dir/$name"_k_*.c; do
            echo "$src"
        done | CC=$cc CFLAGS=$CFLAGS xargs -P 2 -I{} sh -c \
            'o=$(dirname {})/$CC.$(basename {} .c); $CC $CFLAGS -c {} -o $o.o 2>$o.log ||
             { sed "s/^/    /" $o.log; exit 1; }' || ok=0
        # shellcheck disable=SC2086
        $cc $CFLAGS -o "$dir/$cc.bin" "$dir/${name}_main.c" $objs -lm 2>"$dir/$cc.log" ||
            { ok=0; sed 's/^/    /' "$dir/$cc.log"; }
        if [ $ok = 0 ]; then
            fail "$base: $cc build"; continue
        fi
        # shellcheck disable=SC2086
        check_symbols "$name" $objs || fail "$base: $cc: symbols leak"
        # shellcheck disable=SC2086
        if ! "$dir/$cc.bin" $ins $(out_args "$dir/$cc.got" $n_outs) --repeat 2; then
            fail "$base: $cc: the emitted program failed"; continue
        fi
        if same_all "$dir/$cc.got" "$dir/ref" $n_outs; then
            echo "PASS $base ($cc): bit-identical to kiln run"
            passed=$((passed + 1))
        else
            fail "$base: $cc: output differs from kiln run"
        fi
    done
done

# ---- two models in one program (the objects built above, the drivers renamed) ----
d1="$tmp/digits_cnn"
d2="$tmp/mlp"
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

# ---- --weights bin ----
wb="$tmp/bin"
mkdir -p "$wb"
cc=$(echo $compilers | cut -d' ' -f1)
if "$tool" emit "$models/mlp.onnx" "$wb" mb --weights bin --main &&
   [ ! -f "$wb/mb_weights.c" ] && [ -f "$wb/mb.weights.bin" ] &&
   (cd "$wb" && $cc $CFLAGS -o mb mb.c mb_k_*.c mb_main.c -lm) &&
   "$wb/mb" --weights "$wb/mb.weights.bin" --input "$models/mlp.input.npy" \
       --output "$wb/got.0.npy" && same_all "$wb/got" "$tmp/mlp/ref" 1; then
    echo "PASS --weights bin"
    passed=$((passed + 1))
else
    fail "--weights bin"
fi
# without the blob the program must refuse to run
if "$wb/mb" --weights "$wb/missing.bin" --input "$models/mlp.input.npy" 2>/dev/null; then
    fail "--weights bin: ran without weights"
fi

# ---- bad names and directories fail and leave nothing ----
bad="$tmp/bad"
mkdir -p "$bad"
for n in 1abc "a-b" int main kiln_x ""; do
    if "$tool" emit "$models/mlp.onnx" "$bad" "$n" 2>/dev/null; then
        fail "name '$n' was accepted"
    fi
done
"$tool" emit "$models/mlp.onnx" "$tmp/does/not/exist" m 2>/dev/null && fail "missing dir accepted"
[ -z "$(ls -A "$bad")" ] || fail "a failed emit left files: $(ls -A "$bad")"
# a failure at the last step (renaming m.c onto a directory) removes the files renamed before
mkdir "$bad/m.c"
"$tool" emit "$models/mlp.onnx" "$bad" m 2>/dev/null && fail "emit over a directory succeeded"
[ "$(ls -A "$bad")" = "m.c" ] || fail "a failed emit left files: $(ls -A "$bad")"

echo "$passed passed, $failed failed"
[ $failed = 0 ] && [ $passed -gt 0 ]
