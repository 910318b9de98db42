#!/usr/bin/python3
"""check_torchvision.py - compares `kiln run` with PyTorch on torchvision classifiers.

Exports each model with random (seeded) weights and BatchNorm statistics calibrated on random
data to a temporary folder with torch.onnx.export
(defaults, opset 13 unless --opset says otherwise), runs PyTorch and `kiln run` on the same
seeded input via .npy files, and prints the max abs error and PASS/FAIL against --atol (1e-4).
Nothing is written outside the temporary folder (unless --keep DIR). Exit codes: 0 all pass,
1 any failure, 77 when torch/torchvision cannot be imported (ctest marks the test skipped).
Usage: check_torchvision.py KILN_BIN [--models resnet18,mobilenet_v2,squeezenet1_1]
                            [--opset 13[,17]] [--atol 1e-4] [--export-only] [--keep DIR]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

SKIP = 77
DEFAULT_MODELS = "resnet18,mobilenet_v2,squeezenet1_1"

try:
    import numpy as np
    import torch
    import torchvision
except Exception as e:  # ImportError, or a broken install raising something else
    print(f"check_torchvision: skipped: cannot import numpy/torch/torchvision ({e})")
    sys.exit(SKIP)


def build(name):
    ctor = getattr(torchvision.models, name)
    try:
        return ctor(weights=None)          # torchvision >= 0.13
    except TypeError:
        return ctor(pretrained=False)      # older torchvision


def calibrate(model):
    """Sets BatchNorm running statistics from two random batches (seeded): with the default
    mean 0 / var 1 the activations of some networks shrink to nothing (mobilenet_v2's logits are
    ~1e-9) and an absolute tolerance would check nothing. Weights stay random."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batches
    if bns:
        g = torch.Generator().manual_seed(2)
        model.train()
        with torch.no_grad():
            for _ in range(2):
                model(torch.randn(4, 3, 224, 224, generator=g))
    model.eval()  # always: torchvision builds models in training mode (Dropout active)


def tail(text, n=40):
    lines = text.strip().splitlines()
    cut = lines[-n:]
    return "\n".join(("    " + l) for l in ([f"... ({len(lines) - n} lines cut)"] if len(lines) > n
                                             else []) + cut)


def check(kiln, name, opset, tmp, atol, export_only):
    """Returns True on PASS (or on a successful export with export_only)."""
    tag = f"{name} (opset {opset})"
    torch.manual_seed(0)
    model = build(name)
    calibrate(model)
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    path = os.path.join(tmp, f"{name}_op{opset}.onnx")
    t0 = time.time()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (x,), path, opset_version=opset, input_names=["input"],
                              output_names=["output"])
    except Exception as e:
        print(f"FAIL {tag}: torch.onnx.export failed: {e}")
        return False
    with torch.no_grad():
        want = model(x).numpy()
    xin = os.path.join(tmp, f"{name}_op{opset}.input.npy")
    ref = os.path.join(tmp, f"{name}_op{opset}.output.npy")
    got = os.path.join(tmp, f"{name}_op{opset}.kiln.npy")
    np.save(xin, x.numpy())
    np.save(ref, want)
    mb = os.path.getsize(path) / 1e6
    print(f"{tag}: exported {mb:.1f} MB in {time.time() - t0:.1f} s, output {list(want.shape)}, "
          f"max |y| {np.abs(want).max():.3g}")
    if export_only:
        try:
            import onnx
            m = onnx.load(path)
            onnx.checker.check_model(m)
            print(f"  ops: {' '.join(sorted({n.op_type for n in m.graph.node}))}")
        except ImportError:
            pass
        return True

    cmd = [kiln, "run", path, "--input", xin, "--output", got]
    t0 = time.time()
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=900)
    except subprocess.TimeoutExpired:
        print(f"FAIL {tag}: kiln run did not finish in 900 s: {' '.join(cmd)}")
        return False
    except OSError as e:
        print(f"FAIL {tag}: cannot start {kiln}: {e}")
        return False
    secs = time.time() - t0
    if r.returncode != 0:
        print(f"FAIL {tag}: kiln run exited with status {r.returncode}: {' '.join(cmd)}")
        if r.stderr.strip():
            print("  kiln stderr:\n" + tail(r.stderr))
        if r.stdout.strip():
            print("  kiln stdout:\n" + tail(r.stdout, 10))
        return False
    try:
        y = np.load(got)
    except Exception as e:
        print(f"FAIL {tag}: kiln run succeeded but {got} is not readable: {e}")
        return False
    if y.dtype != want.dtype or y.shape != want.shape:
        print(f"FAIL {tag}: kiln gave {y.dtype} {list(y.shape)}, PyTorch {want.dtype} "
              f"{list(want.shape)}")
        return False
    err = float(np.abs(y.astype(np.float64) - want).max()) if y.size else 0.0
    if not np.isfinite(y).all():
        err = float("inf")
    same_top1 = int(y.argmax()) == int(want.argmax())
    ok = err <= atol
    print(f"{'PASS' if ok else 'FAIL'} {tag}: max abs err {err:.3g} (atol {atol:g}), "
          f"top-1 {'agrees' if same_top1 else 'DIFFERS'}, kiln run {secs:.1f} s")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kiln", help="path to the kiln binary")
    ap.add_argument("--models", default=DEFAULT_MODELS,
                    help=f"comma-separated torchvision model names (default {DEFAULT_MODELS})")
    ap.add_argument("--opset", default="13", help="comma-separated opsets (default 13)")
    ap.add_argument("--atol", type=float, default=1e-4)
    ap.add_argument("--export-only", action="store_true",
                    help="only export and run PyTorch (checks this script, not kiln)")
    ap.add_argument("--keep", metavar="DIR", help="write the models and .npy files to DIR")
    a = ap.parse_args()

    kiln = os.path.abspath(a.kiln)
    if not a.export_only and not (os.path.isfile(kiln) and os.access(kiln, os.X_OK)):
        print(f"check_torchvision: error: {a.kiln} is not an executable kiln binary (build it "
              f"first)")
        return 1
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    print(f"check_torchvision: torch {torch.__version__}, torchvision {torchvision.__version__}")
    if a.keep:
        os.makedirs(a.keep, exist_ok=True)
        tmp = a.keep
    else:
        tmp = tempfile.mkdtemp(prefix="kiln-torchvision.")
    fails = []
    try:
        for opset in [int(s) for s in a.opset.split(",") if s]:
            for name in [s for s in a.models.split(",") if s]:
                if not hasattr(torchvision.models, name):
                    print(f"FAIL {name}: torchvision {torchvision.__version__} has no such model")
                    fails.append(name)
                    continue
                if not check(kiln, name, opset, tmp, a.atol, a.export_only):
                    fails.append(f"{name}@{opset}")
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    if fails:
        print(f"check_torchvision: {len(fails)} failed: {' '.join(fails)}")
        return 1
    print("check_torchvision: all passed" + (" (export only)" if a.export_only else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
