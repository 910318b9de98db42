#!/usr/bin/python3
"""check_torchvision.py - compares `kiln run` with PyTorch on torchvision classifiers and a few
other exported-on-the-fly models (a BERT-style encoder, a small transformer encoder, an LSTM).

Exports each model with random (seeded) weights and BatchNorm statistics calibrated on random
data to a temporary folder with torch.onnx.export
(defaults, opset 13 unless --opset says otherwise), runs PyTorch and `kiln run` on the same
seeded inputs via .npy files, and prints the max abs error and PASS/FAIL against --atol (1e-4).
With --emit-c it also emits each model as C (`kiln compile --emit c --with-main`, C-array or
--weights bin weights), builds it with CC -std=c99 -Wall -Wextra -pedantic -Werror -O2, runs it on
the same inputs and requires its outputs bit-identical to `kiln run` (both at -O2) and within
--atol of PyTorch; it prints the emit, compile and run times.
Nothing is written outside the temporary folder (unless --keep DIR). Exit codes: 0 all pass,
1 any failure, 77 when torch/torchvision cannot be imported (ctest marks the test skipped).
Usage: check_torchvision.py KILN_BIN [--models resnet18,mobilenet_v2,squeezenet1_1,...]
                            [--opset 13[,17]] [--atol 1e-4] [--export-only] [--keep DIR]
                            [--emit-c [--weights c|bin|both] [--cc gcc]]
       --models all: every model in ALL_MODELS (torchvision ones and bert, transformer, lstm)
"""
import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

SKIP = 77
# What ctest runs (at opsets 13 and 17): the first three torchvision classifiers, then models that
# export and run in a few seconds.
DEFAULT_MODELS = "resnet18,mobilenet_v2,squeezenet1_1,bert,transformer,lstm"
# how the emitted C is built (--emit-c): what docs/emit-c.md promises
EMIT_CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-O2"]

try:
    import numpy as np
    import torch
    import torchvision
except Exception as e:  # ImportError, or a broken install raising something else
    print(f"check_torchvision: skipped: cannot import numpy/torch/torchvision ({e})")
    sys.exit(SKIP)


# Not in the ctest default (slow to export or to run, or ops kiln may lack); run them with
# --models all or by name.
EXTRA_TORCHVISION = "efficientnet_b0,googlenet,densenet121,mnasnet0_5,shufflenet_v2_x0_5"
OTHER = "bert,bert2,transformer,lstm"  # built below, not by torchvision
ALL_MODELS = ",".join([DEFAULT_MODELS, EXTRA_TORCHVISION])
CTOR_ARGS = {"googlenet": {"aux_logits": False, "init_weights": True}}


def build_torchvision(name):
    ctor = getattr(torchvision.models, name)
    kwargs = CTOR_ARGS.get(name, {})
    try:
        return ctor(weights=None, **kwargs)          # torchvision >= 0.13
    except TypeError:
        return ctor(pretrained=False, **kwargs)      # older torchvision


def build_bert(layers=4, tokens=32):
    """gen_coverage_models.Bert (the computation of HF BertModel) at BERT-mini-like size:
    vocabulary 30522, hidden 128, 4 heads; by default 4 layers and a 32-token input whose last
    quarter is padding ("bert2": 2 layers, 64 tokens, the encoder bench/vs_ort.sh times)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import gen_coverage_models as gcm
    model = gcm.Bert(vocab=30522, d=128, layers=layers, heads=4)
    gcm.randomize_ln(model)
    real = tokens * 3 // 4
    return (model, gcm.bert_inputs(30522, t=tokens, real=real, first_segment=real // 2),
            ["input_ids", "token_type_ids", "attention_mask"],
            ["last_hidden_state", "pooler_output"])


def build_transformer():
    """gen_coverage_models.TransformerEncoder, the model of models/transformer_encoder.onnx
    (token + positional embeddings, 2 post-norm layers, d_model 32, 4 heads, FF 64, exact GELU)
    with this script's seeded weights; 12 tokens."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import gen_coverage_models as gcm
    model = gcm.TransformerEncoder()
    gcm.randomize_ln(model)
    ids = torch.randint(0, 100, (1, 12), generator=torch.Generator().manual_seed(1))
    return model, [ids], ["input_ids"], ["output"]


class LstmClassifier(torch.nn.Module):
    """2-layer LSTM over 20 steps of 16 features, Linear on the last step's hidden state."""

    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(16, 32, num_layers=2, batch_first=True)
        self.fc = torch.nn.Linear(32, 10)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.fc(y[:, -1])


def build(name):
    """Returns (model, [inputs], input names, output names), weights seeded by the caller."""
    if name == "bert":
        return build_bert()
    if name == "bert2":
        return build_bert(layers=2, tokens=64)
    if name == "transformer":
        return build_transformer()
    if name == "lstm":
        return (LstmClassifier(), [torch.randn(1, 20, 16, generator=torch.Generator()
                                               .manual_seed(1))], ["input"], ["output"])
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    return build_torchvision(name), [x], ["input"], ["output"]


def known(name):
    return name in OTHER.split(",") or hasattr(torchvision.models, name)


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


def run_timed(cmd, timeout=900, cwd=None):
    """(CompletedProcess or None, seconds, error text)."""
    t0 = time.time()
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired:
        return None, time.time() - t0, f"did not finish in {timeout} s: {' '.join(cmd)}"
    except OSError as e:
        return None, time.time() - t0, f"cannot start {cmd[0]}: {e}"
    err = "" if r.returncode == 0 else (f"exited with status {r.returncode}: {' '.join(cmd)}\n"
                                        + tail(r.stderr + r.stdout))
    return r, time.time() - t0, err


def check_emitted_c(kiln, tag, path, xins, kiln_outs, wants, weights, cc, atol):
    """Emits the model as C with `weights` (c or bin), builds it with cc (two files at a time),
    runs it on xins; True when every output is bit-identical to kiln run's (kiln_outs) and
    within atol of PyTorch (wants)."""
    base = path[:-len(".onnx")]
    name = re.sub(r"[^A-Za-z0-9_]", "_", os.path.basename(base))
    out = f"{base}.c_{weights}"
    what = f"{tag} emitted C ({weights} weights)"
    cmd = [kiln, "compile", path, "--emit", "c", "--name", name, "-o", out, "--with-main"]
    if weights == "bin":
        cmd += ["--weights", "bin"]
    r, t_emit, err = run_timed(cmd)
    if err:
        print(f"FAIL {what}: kiln compile {err}")
        return False
    srcs = sorted(f for f in os.listdir(out) if f.endswith(".c") and f != f"{name}_main.c")

    def compile_one(src):
        return src, run_timed([cc] + EMIT_CFLAGS + ["-c", src, "-o", src[:-2] + ".o"], cwd=out)

    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(compile_one, srcs))
    t_cc = time.time() - t0
    for src, (r, secs, err) in results:
        if err:
            print(f"FAIL {what}: {cc} {src} {err}")
            return False
    t_weights = sum(secs for src, (r, secs, err) in results if src == f"{name}_weights.c")
    objs = [s[:-2] + ".o" for s in srcs]
    r, _, err = run_timed([cc] + EMIT_CFLAGS + ["-o", name, f"{name}_main.c"] + objs + ["-lm"],
                          cwd=out)
    if err:
        print(f"FAIL {what}: linking {err}")
        return False
    gots = [os.path.join(out, f"got.{k}.npy") for k in range(len(wants))]
    cmd = [os.path.join(out, name)]
    for f in xins:
        cmd += ["--input", f]
    for f in gots:
        cmd += ["--output", f]
    if weights == "bin":
        cmd += ["--weights", os.path.join(out, f"{name}.weights.bin")]
    r, t_run, err = run_timed(cmd)
    if err:
        print(f"FAIL {what}: the emitted program {err}")
        return False
    err = 0.0
    for got, ref, want in zip(gots, kiln_outs, wants):
        y, k = np.load(got), np.load(ref)
        if y.dtype != k.dtype or y.shape != k.shape or y.tobytes() != k.tobytes():
            bad = int((y != k).sum()) if y.shape == k.shape else -1
            print(f"FAIL {what}: {os.path.basename(got)} is not bit-identical to kiln run's "
                  f"({bad} elements differ, dtype {y.dtype}/{k.dtype}, shape "
                  f"{list(y.shape)}/{list(k.shape)})")
            return False
        e = float(np.abs(y.astype(np.float64) - want).max()) if y.size else 0.0
        err = max(err, e if np.isfinite(y).all() else float("inf"))
    ok = err <= atol
    size = sum(os.path.getsize(os.path.join(out, f)) for f in srcs if f.endswith("_weights.c"))
    print(f"{'PASS' if ok else 'FAIL'} {what}: bit-identical to kiln run, max abs err vs PyTorch "
          f"{err:.3g} (atol {atol:g}); emit {t_emit:.1f} s, {cc} -O2 {len(srcs)} files "
          f"{t_cc:.1f} s wall (2 at a time; {name}_weights.c "
          + (f"{size / 1e6:.1f} MB, {t_weights:.1f} s" if weights == "c" else "none")
          + f"), run {t_run:.2f} s")
    return ok


def check(kiln, name, opset, tmp, atol, export_only, emit_c=None):
    """Returns True on PASS (or on a successful export with export_only). emit_c: None, or
    (weights modes, C compiler) to check the emitted C as well."""
    tag = f"{name} (opset {opset})"
    torch.manual_seed(0)
    model, xs, in_names, out_names = build(name)
    calibrate(model)
    base = os.path.join(tmp, f"{name}_op{opset}")
    path = base + ".onnx"
    t0 = time.time()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, tuple(xs), path, opset_version=opset, input_names=in_names,
                              output_names=out_names)
    except Exception as e:
        print(f"FAIL {tag}: torch.onnx.export failed: {e}")
        return False
    with torch.no_grad():
        ys = model(*xs)
    wants = [y.numpy() for y in (ys if isinstance(ys, tuple) else (ys,))]
    multi = len(wants) > 1
    xins = [f"{base}.input{f'.{k}' if len(xs) > 1 else ''}.npy" for k in range(len(xs))]
    refs = [f"{base}.output{f'.{k}' if multi else ''}.npy" for k in range(len(wants))]
    gots = [f"{base}.kiln{f'.{k}' if multi else ''}.npy" for k in range(len(wants))]
    for f, x in zip(xins, xs):
        np.save(f, x.numpy())
    for f, y in zip(refs, wants):
        np.save(f, y)
    mb = os.path.getsize(path) / 1e6
    print(f"{tag}: exported {mb:.1f} MB in {time.time() - t0:.1f} s, output "
          f"{', '.join(str(list(w.shape)) for w in wants)}, "
          f"max |y| {max(float(np.abs(w).max()) for w in wants):.3g}")
    if export_only:
        try:
            import onnx
            m = onnx.load(path)
            onnx.checker.check_model(m)
            print(f"  ops: {' '.join(sorted({n.op_type for n in m.graph.node}))}")
        except ImportError:
            pass
        return True

    cmd = [kiln, "run", path]
    for f in xins:
        cmd += ["--input", f]
    for f in gots:
        cmd += ["--output", f]
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
    err = 0.0
    top = ""
    for got, want in zip(gots, wants):
        try:
            y = np.load(got)
        except Exception as e:
            print(f"FAIL {tag}: kiln run succeeded but {got} is not readable: {e}")
            return False
        if y.dtype != want.dtype or y.shape != want.shape:
            print(f"FAIL {tag}: kiln gave {y.dtype} {list(y.shape)}, PyTorch {want.dtype} "
                  f"{list(want.shape)}")
            return False
        e = float(np.abs(y.astype(np.float64) - want).max()) if y.size else 0.0
        err = max(err, e if np.isfinite(y).all() else float("inf"))
        if not multi and want.ndim == 2 and want.shape[0] == 1:  # classifier logits
            top = f", top-1 {'agrees' if int(y.argmax()) == int(want.argmax()) else 'DIFFERS'}"
    ok = err <= atol
    print(f"{'PASS' if ok else 'FAIL'} {tag}: max abs err {err:.3g} (atol {atol:g}){top}, "
          f"kiln run {secs:.1f} s")
    if emit_c:
        for weights in emit_c[0]:
            ok = check_emitted_c(kiln, tag, path, xins, gots, wants, weights, emit_c[1],
                                 atol) and ok
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kiln", help="path to the kiln binary")
    ap.add_argument("--models", default=DEFAULT_MODELS,
                    help=f"comma-separated model names: torchvision classifiers, bert, lstm, or "
                         f"'all' ({ALL_MODELS}); default {DEFAULT_MODELS}")
    ap.add_argument("--opset", default="13", help="comma-separated opsets (default 13)")
    ap.add_argument("--atol", type=float, default=1e-4)
    ap.add_argument("--export-only", action="store_true",
                    help="only export and run PyTorch (checks this script, not kiln)")
    ap.add_argument("--keep", metavar="DIR", help="write the models and .npy files to DIR")
    ap.add_argument("--emit-c", action="store_true",
                    help="also check each model's emitted C (built with --cc): bit-identical to "
                         "kiln run and within --atol of PyTorch")
    ap.add_argument("--weights", choices=["c", "bin", "both"], default="c",
                    help="--emit-c weights as C arrays (default), NAME.weights.bin, or both (to "
                         "compare their compile times)")
    ap.add_argument("--cc", default="gcc", help="C compiler for --emit-c (default gcc)")
    a = ap.parse_args()
    emit_c = None
    if a.emit_c:
        if not shutil.which(a.cc):
            print(f"check_torchvision: error: --emit-c needs a C compiler, and {a.cc} is not "
                  f"on PATH")
            return 1
        emit_c = (["c", "bin"] if a.weights == "both" else [a.weights], a.cc)

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
            for name in [s for s in (ALL_MODELS if a.models == "all" else a.models).split(",")
                         if s]:
                if not known(name):
                    print(f"FAIL {name}: torchvision {torchvision.__version__} has no such "
                          f"model, and it is not one of {OTHER}")
                    fails.append(name)
                    continue
                if not check(kiln, name, opset, tmp, a.atol, a.export_only, emit_c):
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
