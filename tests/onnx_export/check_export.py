#!/usr/bin/env python3
"""check_export.py - the ONNX writer's output against the onnx package's checker.

Writes every MODELS_DIR/*.onnx at -O1 (plain ONNX, --standard), at -O2, and at -O2 with a
node forced into the kiln domain (--mark-kiln) with export_tool, then
runs onnx.checker.check_model: the full check (with strict shape inference) on -O1 files and on
any file without kiln-domain nodes, the structural check on files that import the "kiln" domain
(ONNX knows no schema for it). Exits 77 (skipped) when the onnx package is missing.
Usage: check_export.py EXPORT_TOOL MODELS_DIR [MODELS_DIR...]
"""
import glob
import os
import subprocess
import sys
import tempfile

try:
    import onnx
    import onnx.checker
except ImportError:
    print("skip: the onnx Python package is not installed")
    sys.exit(77)


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    tool, dirs = sys.argv[1], sys.argv[2:]
    models = sorted(m for d in dirs for m in glob.glob(os.path.join(d, "*.onnx")))
    if not models:
        print("check_export: no models in %s" % " ".join(dirs))
        return 1
    failed = []
    with tempfile.TemporaryDirectory(prefix="kiln-export-check.") as tmp:
        for model in models:
            name = os.path.basename(model)[:-5]
            for level, opt in ((1, "--standard"), (2, None), (2, "--mark-kiln")):
                what = "%s -O%d%s" % (name, level, " " + opt if opt == "--mark-kiln" else "")
                out = os.path.join(tmp, what.replace(" ", "_") + ".onnx")
                cmd = [tool, model, str(level), out] + ([opt] if opt else [])
                r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   universal_newlines=True)
                if r.returncode != 0:
                    print("FAIL %s: export_tool failed:\n    %s" % (what, r.stdout.strip()))
                    failed.append(what)
                    continue
                m = onnx.load(out)
                kiln = any(o.domain == "kiln" for o in m.opset_import)
                if kiln != (opt == "--mark-kiln") and (level == 1 or opt):
                    print("FAIL %s: the file %s the kiln domain" %
                          (what, "imports" if kiln else "does not import"))
                    failed.append(what)
                    continue
                try:
                    onnx.checker.check_model(m, full_check=not kiln)
                except Exception as e:  # checker and shape-inference errors alike
                    print("FAIL %s: %s" % (what, str(e).strip().splitlines()[0]))
                    failed.append(what)
                    continue
                print("PASS %s (%s check%s)" % (what, "structural" if kiln else "full",
                                                ", kiln domain" if kiln else ""))
    print("%d checked, %d failed" % (3 * len(models), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
