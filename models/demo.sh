#!/bin/sh
# demo.sh - what `make demo` runs: inspects the bundled digits CNN, runs it with `kiln run` on one
# held-out 8x8 digit, prints the digit, kiln's prediction and PyTorch's, and checks kiln's logits
# against PyTorch's with npycmp. Needs only sh and od besides the build (no Python).
# Usage: sh models/demo.sh BUILD_DIR   (from the repository root or anywhere else)
set -u

build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
model="$here/digits_cnn.onnx"
input="$here/digits_cnn.input.npy"
ref="$here/digits_cnn.output.npy"
labels="$here/digits_test_labels.npy"
kiln="$build/kiln"
npycmp=""
for p in "$build/tests/npycmp" "$build/npycmp"; do
    [ -x "$p" ] && { npycmp=$p; break; }
done

if [ ! -x "$kiln" ]; then
    echo "demo: $kiln is missing: build first with 'make' (or pass the build folder)" >&2
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kiln-demo.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
out="$tmp/logits.npy"

# Prints the float32 values of a version 1-3 little-endian .npy file, one per line.
npy_f32() {
    major=$(od -A n -t u1 -j 6 -N 1 "$1" | tr -d ' ')
    if [ "$major" = 1 ]; then
        hlen=$(od -A n -t u1 -j 8 -N 2 "$1" | awk '{print $1 + 256 * $2}')
        start=$((10 + hlen))
    else
        hlen=$(od -A n -t u1 -j 8 -N 4 "$1" | awk '{print $1 + 256 * ($2 + 256 * ($3 + 256 * $4))}')
        start=$((12 + hlen))
    fi
    od -A n -v -t f4 -j "$start" "$1" | tr -s ' ' '\n' | grep -v '^$'
}

# Index of the largest value on stdin.
argmax() {
    awk 'NR == 1 || $1 > best { best = $1; i = NR - 1 } END { print i }'
}

echo "kiln demo: a small CNN trained on scikit-learn's 8x8 handwritten digits"
echo "(models/gen_models.py made it with PyTorch and exported it to ONNX)."
echo
echo "\$ kiln inspect models/digits_cnn.onnx"
if ! "$kiln" inspect "$model"; then
    echo "demo: kiln inspect failed" >&2
    exit 1
fi
echo

echo "The input, one digit from the held-out test set:"
npy_f32 "$input" | awk '{
    s = s substr(" .:-=+*#%@", int($1 * 9.99) + 1, 1) substr(" .:-=+*#%@", int($1 * 9.99) + 1, 1)
    if (NR % 8 == 0) { print "    |" s "|"; s = "" } }'
echo

echo "\$ kiln run models/digits_cnn.onnx --input image=models/digits_cnn.input.npy --output $out"
if ! "$kiln" run "$model" --input "image=$input" --output "$out"; then
    echo "demo: kiln run failed" >&2
    exit 1
fi
got=$(npy_f32 "$out" | argmax)
want=$(npy_f32 "$ref" | argmax)
# The labels are int64: the first one is the true digit of the first test image.
truth=$(od -A n -t u1 -j "$(($(od -A n -t u1 -j 8 -N 2 "$labels" | awk '{print $1 + 256 * $2}') + 10))" \
        -N 1 "$labels" | tr -d ' ')
echo "kiln predicts: $got   PyTorch predicted: $want   true label: $truth"
echo

if [ -z "$npycmp" ]; then
    echo "demo: npycmp was not built (tests disabled?): skipping the comparison of the logits"
    [ "$got" = "$want" ] || exit 1
    exit 0
fi
echo "Comparing kiln's logits with PyTorch's (models/digits_cnn.output.npy):"
if ! "$npycmp" "$out" "$ref"; then
    echo "demo: kiln's output differs from PyTorch's" >&2
    exit 1
fi
echo
echo "Done. The models and how they were made: models/README.md."
