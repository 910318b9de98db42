#!/bin/sh
# test_install.sh - installs the build into a temporary prefix (and once more through DESTDIR)
# and uses it as a user would: every installed header compiles on its own against the prefix
# alone, run_bundle.c is built through pkg-config (static and shared) and through
# find_package(kilnrt) (both targets), and each build's outputs on two compiled models equal
# the installed `kiln run`'s bytes. No network, no root; the temporary folder is removed.
# usage: test_install.sh CMAKE BUILD_DIR SOURCE_DIR CC   (KILN_INSTALL_CFLAGS: extra C flags,
# the sanitizer flags when the build has them)
set -u
CMAKE=$1 BUILD=$2 SRC=$3 CC=$4
CFLAGS="-std=c11 -Wall -Wextra -Werror ${KILN_INSTALL_CFLAGS:-}"
T=$(mktemp -d "${TMPDIR:-/tmp}/kiln_install_XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
fail() { echo "FAIL: $*"; exit 1; }
P=$T/prefix

"$CMAKE" --install "$BUILD" --prefix "$P" >"$T/log" 2>&1 ||
    { cat "$T/log"; fail "cmake --install"; }
pc=$(find "$P" -name kilnrt.pc) && [ -n "$pc" ] || fail "no kilnrt.pc under the prefix"
export PKG_CONFIG_PATH="${pc%/*}"
libdir=$(pkg-config --variable=libdir kilnrt) || fail "pkg-config does not know kilnrt"
[ "$(pkg-config --variable=prefix kilnrt)" = "$P" ] || fail "kilnrt.pc names another prefix"
cm=$libdir/cmake/kilnrt
for f in "$P/bin/kiln" "$libdir/libkilnrt.a" "$libdir/libkilnrt.so" "$P/include/kiln/kiln.h" \
         "$cm/kilnrtConfig.cmake" "$cm/kilnrtConfigVersion.cmake" "$cm/kilnrtTargets.cmake"; do
    [ -e "$f" ] || fail "not installed: ${f#"$P"/}"
done
version=$(pkg-config --modversion kilnrt)
[ "$("$P/bin/kiln" --version)" = "kiln $version" ] ||
    fail "kiln --version says '$("$P/bin/kiln" --version)', kilnrt.pc says $version"
soname=$(readelf -d "$libdir/libkilnrt.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ -n "$soname" ] && [ -e "$libdir/$soname" ] || fail "libkilnrt.so has no SONAME or no $soname"

# DESTDIR: the files go under it, the .pc names the prefix without it
DESTDIR="$T/stage" "$CMAKE" --install "$BUILD" --prefix "$T/final" >/dev/null 2>&1 ||
    fail "cmake --install with DESTDIR"
[ ! -e "$T/final" ] || fail "DESTDIR install wrote outside DESTDIR"
grep -qx "prefix=$T/final" "$T/stage$T/final/${libdir#"$P"/}/pkgconfig/kilnrt.pc" ||
    fail "DESTDIR install: kilnrt.pc missing or naming another prefix"

# every header on its own, with nothing but the prefix on the include path
cd "$T" || exit 1
for h in "$P"/include/kiln/*.h; do
    printf '#include <kiln/%s>\n' "${h##*/}" >"$T/h.c"
    $CC $CFLAGS -pedantic -fsyntax-only -I"$P/include" "$T/h.c" 2>"$T/err" ||
        fail "installed ${h##*/} does not compile alone: $(cat "$T/err")"
done

# run_bundle through pkg-config: shared (-lkilnrt finds the .so), static (the archive by name;
# Libs.private brings -lm)
prog=$SRC/tests/install/run_bundle.c
# shellcheck disable=SC2046 # pkg-config's flags are meant to be split
$CC $CFLAGS $(pkg-config --cflags kilnrt) "$prog" -o "$T/run_pc_shared" \
    $(pkg-config --libs kilnrt) 2>"$T/err" || fail "pkg-config shared build: $(cat "$T/err")"
# shellcheck disable=SC2046
$CC $CFLAGS $(pkg-config --cflags kilnrt) "$prog" -o "$T/run_pc_static" \
    $(pkg-config --static --libs kilnrt | sed 's/-lkilnrt\b/-l:libkilnrt.a/') 2>"$T/err" ||
    fail "pkg-config static build: $(cat "$T/err")"

# run_bundle through find_package(kilnrt): kilnrt::kilnrt and kilnrt::kilnrt_static
"$CMAKE" -S "$SRC/tests/install/consumer" -B "$T/consumer" -DCMAKE_PREFIX_PATH="$P" \
    -DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="${KILN_INSTALL_CFLAGS:-}" \
    -DKILNRT_WANT_VERSION="$version" >"$T/log" 2>&1 &&
    "$CMAKE" --build "$T/consumer" >>"$T/log" 2>&1 || { cat "$T/log"; fail "find_package build"; }
grep -qx "kilnrt_DIR:PATH=$libdir/cmake/kilnrt" "$T/consumer/CMakeCache.txt" ||
    fail "find_package found another kilnrt: $(grep kilnrt_DIR "$T/consumer/CMakeCache.txt")"
# the version file refuses what this version does not provide
"$CMAKE" -S "$SRC/tests/install/consumer" -B "$T/consumer99" -DCMAKE_PREFIX_PATH="$P" \
    -DCMAKE_C_COMPILER="$CC" -DKILNRT_WANT_VERSION=99.0 >"$T/log" 2>&1 &&
    fail "find_package(kilnrt 99.0) succeeded against $version"

runs="$T/run_pc_shared $T/run_pc_static $T/consumer/run_cmake_shared $T/consumer/run_cmake_static"
for r in $runs; do
    needed=$(readelf -d "$r" | grep -c "NEEDED.*\[$soname\]")
    case "$r" in
    *shared) [ "$needed" = 1 ] || fail "${r##*/} does not load $soname" ;;
    *static) [ "$needed" = 0 ] || fail "${r##*/} loads $soname" ;;
    esac
done

# two models: one input and output (float32), three int64 inputs and two outputs
M=$SRC/models
for model in digits_cnn bert_tiny; do
    "$P/bin/kiln" compile "$M/$model.onnx" -o "$T/$model.kiln" >/dev/null ||
        fail "installed kiln cannot compile $model"
    if [ -f "$M/$model.input.npy" ]; then
        inputs=$M/$model.input.npy
    else
        inputs=$(ls "$M/$model".input.[0-9]*.npy)
    fi
    outs=""
    k=0
    while [ -f "$M/$model.output.$k.npy" ] || { [ $k = 0 ] && [ -f "$M/$model.output.npy" ]; }; do
        outs="$outs --output $T/$model.ref.$k.npy"
        k=$((k + 1))
    done
    # shellcheck disable=SC2086,SC2046 # the lists are paths under folders without spaces
    "$P/bin/kiln" run "$T/$model.kiln" $(printf -- '--input %s ' $inputs) $outs >/dev/null ||
        fail "installed kiln cannot run $model"
    for r in $runs; do
        rm -rf "$T/out" && mkdir "$T/out"
        # shellcheck disable=SC2086
        LD_LIBRARY_PATH=$libdir "$r" "$T/$model.kiln" "$T/out" $inputs >"$T/$model.${r##*/}.txt" \
            2>"$T/err" || fail "${r##*/} $model: $(cat "$T/err")"
        for i in $(seq 0 $((k - 1))); do
            got=$T/out/output.$i.bin
            [ -s "$got" ] || fail "${r##*/} $model wrote no output $i"
            tail -c "$(wc -c <"$got")" "$T/$model.ref.$i.npy" | cmp -s - "$got" ||
                fail "${r##*/} $model: output $i differs from kiln run"
        done
        cmp -s "$T/$model.run_pc_shared.txt" "$T/$model.${r##*/}.txt" ||
            fail "${r##*/} $model prints other than run_pc_shared"
    done
done
echo "ok: installed into a prefix and a DESTDIR; headers self-contained; run_bundle via"
echo "    pkg-config and find_package(kilnrt) $version, static and shared, equals kiln run:"
sed -e "s|$T/||" -e "s/^/    /" "$T/bert_tiny.run_pc_shared.txt"
