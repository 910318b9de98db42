#!/bin/sh
# test_rt.sh - runtimes built with -DKILN_RT_OPS (a registry of a few ops) and -DKILN_RT_TERSE:
# on a bundle of those ops they print the same output hashes as the full runtime; a bundle
# with another op is refused, with the message (or, terse, the check's file and line).
# usage: test_rt.sh KILN FULL_RUN OPS_RUN TERSE_RUN MODELS_DIR
set -u
KILN=$1 FULL=$2 OPS=$3 TERSE=$4 MODELS=$5
T=$(mktemp -d "${TMPDIR:-/tmp}/kiln_rt_XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$KILN" compile "$MODELS/mlp.onnx" -o "$T/mlp.kiln" >/dev/null || fail "compile mlp"
"$KILN" compile "$MODELS/digits_cnn.onnx" -o "$T/cnn.kiln" >/dev/null || fail "compile digits_cnn"
"$FULL" "$T/mlp.kiln" >"$T/full" || fail "the full runtime refuses mlp"
grep -q fnv1a "$T/full" || fail "no output hash"
for rt in "$OPS" "$TERSE"; do
    "$rt" "$T/mlp.kiln" >"$T/got" || fail "$(basename "$rt") refuses mlp"
    cmp -s "$T/full" "$T/got" || fail "$(basename "$rt") computes other outputs than the full runtime"
done
"$FULL" "$T/cnn.kiln" >/dev/null || fail "the full runtime refuses digits_cnn"
"$OPS" "$T/cnn.kiln" >/dev/null 2>"$T/err" && fail "the restricted runtime loads digits_cnn"
grep -q "does not hold this op" "$T/err" || fail "unexpected refusal: $(cat "$T/err")"
"$TERSE" "$T/cnn.kiln" >/dev/null 2>"$T/err" && fail "the terse runtime loads digits_cnn"
grep -q "check at validate.c:[0-9]" "$T/err" || fail "unexpected terse refusal: $(cat "$T/err")"
echo "ok: restricted and terse runtimes agree with the full one on mlp and refuse digits_cnn"
