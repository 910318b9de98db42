#!/bin/sh
# bundle_report.sh - what a .kiln bundle costs: per model (models/*.onnx, plus torchvision
# classifiers when /usr/bin/python3 has torch + torchvision, exported to a temporary folder
# with models/check_torchvision.py) the ONNX and bundle sizes and the time kiln_model_load
# takes on an mmapped bundle (checksum + validation); then the size of the runtime at gcc -Os
# on this host: the core every runtime links (interp.c, dims.c, bundle.c, core.c, registry.c, the
# generic validate.c, each compiled alone), the per-op load-time checks (runtime/checks/), and
# per example model a runtime holding only that model's ops (registry.c built with
# -DKILN_RT_OPS, linked with --gc-sections: core + those ops' checks + their kernels).
# usage: bench/bundle_report.sh [BUILD_DIR]     (default: build; needs kiln, kiln-bundle-load)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$ROOT/build}
KILN=$B/kiln
LOAD=$B/kiln-bundle-load
[ -x "$KILN" ] && [ -x "$LOAD" ] || { echo "bundle_report: build kiln and kiln-bundle-load first" >&2; exit 2; }
bench_root=$ROOT
. "$ROOT/bench/lib.sh"
bench_tmp bundle
T=$tmp

report() { # report NAME MODEL.onnx RUNS
    if "$KILN" compile "$2" -o "$T/$1.kiln" >/dev/null 2>"$T/err"; then
        line=$("$LOAD" "$T/$1.kiln" "$3") || line=""
        us=$(echo "$line" | sed -n 's/.*load median \([0-9.]*\) us, min \([0-9.]*\) us.*/\1 \2/p')
        printf "%-22s %12s %12s %10s %10s\n" "$1" "$(wc -c <"$2")" "$(wc -c <"$T/$1.kiln")" $us
    else
        printf "%-22s %12s  compile failed: %s\n" "$1" "$(wc -c <"$2")" "$(head -c 120 "$T/err")"
    fi
}

printf "%-22s %12s %12s %10s %10s\n" model onnx_bytes bundle_bytes load_us min_us
for m in "$ROOT"/models/*.onnx; do
    report "$(basename "$m" .onnx)" "$m" 200
done
for m in $(bench_tv "$KILN" "$T/tv" --opset 13); do
    report "$(basename "$m" .onnx)" "$m" 5
done

CC=${CC:-gcc}
CFLAGS="-std=c11 -Os -D_XOPEN_SOURCE=700 -I$ROOT/include -I$ROOT/runtime"
text_of() { size "$@" | awk 'NR > 1 {t += $1; d += $2} END {print t + 0, d + 0}'; }

echo
echo "runtime size at -Os ($($CC --version | head -1), $(uname -m)); text = 'size' text (code +"
echo "read-only data + unwind tables), data = 'size' data (tables of pointers, relocated in PIE)"
echo
echo "core: what every runtime links, each file compiled alone (no kernels, no per-op checks);"
echo "no-unwind = -fno-asynchronous-unwind-tables -fno-unwind-tables"
NOUNW="-fno-asynchronous-unwind-tables -fno-unwind-tables"
printf "  %-22s %7s %7s %7s %7s %8s %8s %7s %6s\n" "gcc -Os" interp dims bundle core registry \
    validate text data
for v in "-" "no-unwind" "TERSE" "TERSE no-unwind"; do
    flags=""
    case $v in *TERSE*) flags="-DKILN_RT_TERSE" ;; esac
    case $v in *no-unwind*) flags="$flags $NOUNW" ;; esac
    line="" total=0 data=0
    for f in interp dims bundle core registry validate; do
        $CC $CFLAGS $flags -c "$ROOT/runtime/$f.c" -o "$T/$f.o" || exit 1
        set -- $(text_of "$T/$f.o")
        line="$line $(printf "%7d" "$1")"
        total=$((total + $1)) data=$((data + $2))
    done
    printf "  %-22s%s %7d %6d\n" "$v" "$line" "$total" "$data"
done

echo
echo "per-op load-time checks (runtime/checks/*.c, all ops; a runtime links only its ops')"
for v in "-" "TERSE"; do
    flags=""
    [ "$v" = TERSE ] && flags="-DKILN_RT_TERSE"
    total=0 line=""
    for f in "$ROOT"/runtime/checks/*.c; do
        $CC $CFLAGS $flags -c "$f" -o "$T/check.o" || exit 1
        set -- $(text_of "$T/check.o")
        total=$((total + $1))
        line="$line $(basename "$f" .c) $1,"
    done
    printf "  %-6s %6d text:%s\n" "$v" "$total" "${line%,}"
done

# Per model: every runtime source compiled once with function sections; per model a registry
# of its ops; `ld -r --gc-sections` rooted at every global function of the core files gives
# the runtime's text, and its link map splits it into core, checks and kernels. The same
# objects linked into kiln-rt-run's driver (tests/rt/rt_run.c) must load and run the bundle.
echo
echo "a runtime holding only a model's ops (gcc -Os -ffunction-sections -fdata-sections,"
echo "ld -r --gc-sections from the core's global functions; core + checks + kernels = text)"
mkdir -p "$T/obj"
OFLAGS="$CFLAGS -ffunction-sections -fdata-sections"
for f in "$ROOT"/runtime/*.c "$ROOT"/runtime/checks/*.c "$ROOT"/runtime/kernels/*.c; do
    rel=${f#"$ROOT"/runtime/}
    echo "$CC $OFLAGS -c $f -o $T/obj/$(echo "${rel%.c}" | tr / _).o"
done | xargs -P 2 -I{} sh -c "{} || exit 255" || exit 1
$CC $OFLAGS -I"$ROOT/include" -c "$ROOT/tests/rt/rt_run.c" -o "$T/rt_run.o" || exit 1
OBJS=$(ls "$T"/obj/*.o | grep -v '/obj/registry\.o$')
ROOTS=$(nm -g --defined-only "$T"/obj/interp.o "$T"/obj/dims.o "$T"/obj/bundle.o "$T"/obj/core.o \
    "$T"/obj/registry.o "$T"/obj/validate.o | awk '$2 == "T" {printf "-Wl,-u,%s ", $3}')
LNAME=$(sed -n 's/^KILN_OP([A-Z_0-9]*, "\([^"]*\)", \([a-z_0-9]*\)[,)].*/\1 \2/p' \
    "$ROOT/include/kiln/ops.def")
# link "KILN_RT_OP(...) ...": builds T/reg.o for those ops and links the runtime; prints its
# text and data ('size') and the text of its core, checks and kernels (from the link map)
link() {
    $CC $OFLAGS "-DKILN_RT_OPS=$1" -c "$ROOT/runtime/registry.c" -o "$T/reg.o" || return 1
    # shellcheck disable=SC2086
    $CC -r -nostdlib -Wl,--gc-sections $ROOTS -Wl,-Map="$T/rt.map" "$T/reg.o" $OBJS \
        -o "$T/rt.o" || return 1
    set -- $(text_of "$T/rt.o") $(awk -f "$T/mapsum.awk" "$T/rt.map")
    printf "%7d %6d %6d %7d %8d" "$1" "$2" "$3" "$4" "$5"
}
cat >"$T/mapsum.awk" <<'AWK'
# kept input sections of a GNU ld map that 'size' counts as text, by the kind of object
function hex(s,   i, n) {
    n = 0; s = tolower(substr(s, 3))
    for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
    return n
}
/^Linker script and memory map/ { on = 1; next }
!on { next }
/^ \.[^ ]+$/ { sec = $1; next }
/^ \.[^ ]+ +0x/ { sec = $1; $0 = substr($0, length(sec) + 2) }
sec != "" && $1 ~ /^0x/ && $2 ~ /^0x/ && NF >= 3 {
    if (sec ~ /^\.(text|rodata|eh_frame)/)
        sum[$NF ~ /\/obj\/checks_/ ? 2 : $NF ~ /\/obj\/kernels_/ ? 3 : 1] += hex($2)
    sec = ""
}
END { printf "%d %d %d\n", sum[1], sum[2], sum[3] }
AWK
printf "  %-24s %7s %6s %6s %7s %8s  %s\n" runtime text data core checks kernels "ops / run"
printf "  %-24s %s  none *\n" "(no op)" "$(link "")"
for m in "$ROOT"/models/*.onnx; do
    name=$(basename "$m" .onnx)
    "$KILN" compile "$m" -o "$T/$name.kiln" >/dev/null 2>&1 || continue
    onnx_ops=$("$KILN" inspect "$T/$name.kiln" |
        awk '/^ops \(/ {on = 1; next} on && /^  / {print $1; next} on {exit}')
    list="" names=""
    for o in $onnx_ops; do
        l=$(echo "$LNAME" | awk -v o="$o" '$1 == o {print $2}')
        list="$list KILN_RT_OP($l)" names="$names $o"
    done
    sizes=$(link "$list") || { echo "  $name: link failed"; continue; }
    # shellcheck disable=SC2086
    if $CC -Wl,--gc-sections "$T/rt_run.o" "$T/reg.o" $OBJS -lm -o "$T/rt_run" &&
        "$T/rt_run" "$T/$name.kiln" >/dev/null 2>"$T/err"; then
        run=runs
    else
        run="FAILS: $(head -c 100 "$T/err")"
    fi
    printf "  %-24s %s  %s; %s\n" "$name" "$sizes" "${names# }" "$run"
done
echo "  * the core alone, with the kiln_dtype_size it calls in kernels/dtype.c; its kernel table"
echo "    holds only NULLs, so it is read-only data (1288 bytes counted as text), not data"
