# lib.sh - what the report scripts under bench/ share (sourced, not run): a temporary folder
# removed on exit, and the torchvision classifiers exported with random weights by
# models/check_torchvision.py when /usr/bin/python3 has torch and torchvision.
# The sourcing script sets bench_root to the repository root first.

# bench_tmp NAME: sets tmp to a new temporary folder, removed on exit or interrupt.
bench_tmp() {
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/kiln-$1.XXXXXX") || exit 1
    trap 'rm -rf "$tmp"' EXIT
    trap 'exit 1' INT TERM
}

# bench_tv KILN DIR [check_torchvision.py options]: exports the classifiers into DIR and prints
# their paths, one per line; prints none, and says why on stderr, without torch or when the
# export fails.
bench_tv() {
    local kiln=$1 dir=$2
    shift 2
    mkdir -p "$dir"
    if /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null &&
        /usr/bin/python3 "$bench_root/models/check_torchvision.py" "$kiln" --export-only \
            --keep "$dir" "$@" >"$dir/export.log" 2>&1; then
        ls "$dir"/*.onnx
    else
        echo "(torchvision models skipped: /usr/bin/python3 has no torch and torchvision," \
             "or the export failed)" >&2
        tail -n 3 "$dir/export.log" >&2 2>/dev/null || true
    fi
}
