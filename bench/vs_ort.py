#!/usr/bin/python3
"""vs_ort.py - kiln against ONNX Runtime 1.30 (CPU, its C API, one thread) on the same models and
inputs, timed interleaved on one machine; run through bench/vs_ort.sh, which builds the ORT timer.

For every model: `kiln compile -O2` to a bundle (timed with `kiln run BUNDLE --repeat`), the same
graph as emitted C (`--emit c --weights bin --with-main`, built with CC -O3 -march=native, timed
with its --repeat), and ORT's timer (shared/ort-bench). Each round runs the three once, in an
order that rotates from round to round, each for --repeat timed runs after warm-up; a tool's
figure is the median over rounds of its per-round median. The ratio column is kiln / ORT (below
1: kiln is faster). Outputs are checked too: the max abs difference of the first output between
the bundle run and ORT.

Models: models/*.onnx with their reference inputs, then (when torch and torchvision import)
exports made on the fly by models/check_torchvision.py (random weights, BatchNorm statistics
calibrated on random data): the torchvision classifiers, a 2-layer BERT-like encoder with 64
tokens and a 2-layer LSTM. --write FILE replaces the section of FILE between the markers
<!-- vs_ort:begin --> and <!-- vs_ort:end --> (appending them if absent) with the table and the
command that made it.
"""
import argparse
import glob
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TORCH_MODELS = ("resnet18,googlenet,densenet121,squeezenet1_1,mobilenet_v2,mnasnet0_5,"
                "efficientnet_b0,shufflenet_v2_x0_5,bert2,lstm")
BEGIN, END = "<!-- vs_ort:begin -->", "<!-- vs_ort:end -->"
KILN_LINE = re.compile(r"median ([0-9.]+) ms")


def run(cmd, cwd=None, timeout=1800, stdout_only=False):
    """Runs cmd; returns its stdout (and stderr after it unless stdout_only)."""
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} failed ({r.returncode}):\n{r.stderr[-2000:]}"
                           f"{r.stdout[-1000:]}")
    return r.stdout if stdout_only else r.stdout + r.stderr


def example_models(only):
    """(name, model path, [input .npy in graph order]) for models/*.onnx with inputs."""
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, "models", "*.onnx"))):
        name = os.path.basename(path)[:-5]
        if only and name not in only:
            continue
        base = path[:-5]
        ins = [base + ".input.npy"] if os.path.exists(base + ".input.npy") else \
            sorted(glob.glob(base + ".input.[0-9]*.npy"),
                   key=lambda f: int(f.rsplit(".", 2)[-2]))
        if ins:
            out.append((name, path, ins))
    return out


def torch_models(kiln, names, workdir, opset):
    """Exports names with check_torchvision.py; returns the same triples ([] without torch)."""
    sys.path.insert(0, os.path.join(ROOT, "models"))
    try:
        import check_torchvision as ct
    except SystemExit:
        print("vs_ort: torch/torchvision not importable: only models/*.onnx are timed",
              file=sys.stderr)
        return []
    out = []
    for name in names:
        base = os.path.join(workdir, f"{name}_op{opset}")
        if not os.path.exists(base + ".onnx"):
            if not ct.check(kiln, name, opset, workdir, 1e-4, True):
                print(f"vs_ort: {name}: export failed, left out", file=sys.stderr)
                continue
        ins = [base + ".input.npy"] if os.path.exists(base + ".input.npy") else \
            sorted(glob.glob(base + ".input.[0-9]*.npy"))
        out.append((name, base + ".onnx", ins))
    return out


def macs_of(kiln, model):
    try:
        return json.loads(run([kiln, "inspect", model, "--json"])).get("macs")
    except (RuntimeError, ValueError):
        return None


class Model:
    def __init__(self, name, path, ins, work, a):
        self.name, self.path, self.ins = name, path, ins
        self.dir = os.path.join(work, name)
        os.makedirs(os.path.join(self.dir, "out"), exist_ok=True)
        self.bundle = os.path.join(self.dir, name + ".kiln")
        run([a.kiln, "compile", path, "-O2", "-o", self.bundle])
        self.cbin = None
        if not a.no_emit_c:
            cname = "m_" + re.sub(r"[^A-Za-z0-9_]", "_", name)
            cdir = os.path.join(self.dir, "c")
            try:
                run([a.kiln, "compile", path, "-O2", "--emit", "c", "--weights", "bin",
                     "--with-main", "--name", cname, "-o", cdir])
                srcs = sorted(glob.glob(os.path.join(cdir, "*.c")))
                self.cbin = os.path.join(cdir, cname)
                run([a.cc, "-std=c99", "-O3", "-march=native", "-o", self.cbin] + srcs + ["-lm"])
                self.cweights = os.path.join(cdir, cname + ".weights.bin")
            except RuntimeError as e:
                print(f"vs_ort: {name}: emitted C left out: {str(e).splitlines()[0]}",
                      file=sys.stderr)
                self.cbin = None
        self.macs = macs_of(a.kiln, path)
        self.times = {"bundle": [], "c": [], "ort": []}
        self.diff = None

    def time_bundle(self, a, repeat):
        out = run([a.kiln, "run", self.bundle] + sum((["--input", x] for x in self.ins), []) +
                  ["--output-dir", os.path.join(self.dir, "out"), "--repeat", str(repeat), "--warmup",
                   str(a.warmup)])
        return float(KILN_LINE.search(out).group(1)) * 1e3

    def time_c(self, a, repeat):
        args = [self.cbin] + sum((["--input", x] for x in self.ins), []) + \
            ["--weights", self.cweights, "--repeat", str(repeat + a.warmup)]
        out = run(args)
        return float(KILN_LINE.search(out).group(1)) * 1e3

    def time_ort(self, a, repeat):
        out = run([a.ort_bench, self.path] + self.ins +
                  ["--threads", "1", "--runs", str(repeat), "--out",
                   os.path.join(self.dir, "ort.npy")], stdout_only=True)
        return float(json.loads(out.strip().splitlines()[-1])["median_us"])

    def check_outputs(self):
        mine = sorted(glob.glob(os.path.join(self.dir, "out", "*.npy")))
        ort = os.path.join(self.dir, "ort.npy")
        if not mine or not os.path.exists(ort):
            return
        # kiln run --output-dir names outputs after the graph; ORT's timer saves the first
        first = self.first_output_file(mine)
        try:
            x, y = np.load(first).astype(np.float64), np.load(ort).astype(np.float64)
            self.diff = float(np.abs(x - y).max()) if x.shape == y.shape else None
        except (ValueError, OSError):
            self.diff = None

    def first_output_file(self, files):
        try:
            import onnx
            m = onnx.load(self.path, load_external_data=False)
            want = m.graph.output[0].name
            for f in files:
                if os.path.basename(f)[:-4] == re.sub(r"[^A-Za-z0-9_.-]", "_", want):
                    return f
        except Exception:
            pass
        return files[0]


def fmt_us(us):
    return f"{us / 1e3:.2f} ms" if us >= 1e4 else f"{us:.1f} us"


def table(models):
    rows = ["| model | MMACs | kiln bundle | emitted C | ORT | bundle / ORT | C / ORT | "
            "max abs diff |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for m in models:
        med = {k: (statistics.median(v) if v else None) for k, v in m.times.items()}
        cells = [m.name, f"{m.macs / 1e6:.2f}" if m.macs is not None else "-"]
        cells += [fmt_us(med[k]) if med[k] else "-" for k in ("bundle", "c", "ort")]
        cells += [f"{med[k] / med['ort']:.2f}x" if med[k] and med["ort"] else "-"
                  for k in ("bundle", "c")]
        cells.append(f"{m.diff:.2g}" if m.diff is not None else "-")
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def pick_repeat(t_us, a):
    """Timed runs per tool and round: about a.budget_ms of work, within [5, a.repeat]."""
    return int(max(5, min(a.repeat, a.budget_ms * 1e3 / max(t_us, 1.0))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kiln", default=os.path.join(ROOT, "build", "kiln"))
    ap.add_argument("--ort-bench", required=True, help="shared/ort-bench's ort_bench binary")
    ap.add_argument("--cc", default="gcc")
    ap.add_argument("--models", default="", help="comma-separated names to time (default all)")
    ap.add_argument("--torch-models", default=TORCH_MODELS,
                    help=f"exports to add (default {TORCH_MODELS}; '' for none)")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=200, help="most timed runs per tool and round")
    ap.add_argument("--budget-ms", type=float, default=300,
                    help="aimed time per tool and round (fewer runs for slow models)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--no-emit-c", action="store_true")
    ap.add_argument("--work", help="keep exports and builds here (default: a temporary folder)")
    ap.add_argument("--write", metavar="FILE", help="put the table into FILE's vs_ort section")
    a = ap.parse_args()
    only = set(s for s in a.models.split(",") if s)
    work = a.work or tempfile.mkdtemp(prefix="kiln_vs_ort_")
    os.makedirs(work, exist_ok=True)

    specs = example_models(only)
    tnames = [n for n in a.torch_models.split(",") if n and (not only or n in only)]
    if tnames:
        specs += torch_models(a.kiln, tnames, os.path.join(work, "exports"), a.opset)
    models = []
    for name, path, ins in specs:
        print(f"vs_ort: preparing {name}", file=sys.stderr)
        try:
            models.append(Model(name, path, ins, work, a))
        except RuntimeError as e:
            print(f"vs_ort: {name}: left out: {e}", file=sys.stderr)

    tools = ["bundle", "c", "ort"]
    for m in models:
        t0 = m.time_ort(a, 5)
        rep = pick_repeat(t0, a)
        for r in range(a.rounds):
            order = tools[r % 3:] + tools[:r % 3]
            for t in order:
                if t == "c" and not m.cbin:
                    continue
                f = {"bundle": m.time_bundle, "c": m.time_c, "ort": m.time_ort}[t]
                m.times[t].append(f(a, rep))
        m.check_outputs()
        med = {k: statistics.median(v) for k, v in m.times.items() if v}
        print(f"vs_ort: {m.name}: " + ", ".join(f"{k} {fmt_us(v)}" for k, v in med.items()) +
              f", bundle/ORT {med['bundle'] / med['ort']:.2f}x", file=sys.stderr)

    cmd = "bench/vs_ort.sh " + " ".join(shlex.quote(x) for x in sys.argv[1:]
                                         if not x.startswith("--ort-bench")
                                         and x != a.ort_bench)
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    cc = run([a.cc, "--version"]).splitlines()[0]
    text = "\n".join([
        BEGIN, "", "```", cmd.strip(), "```", "",
        f"{cpu}, {os.cpu_count()} cores (shared with other jobs), {time.strftime('%Y-%m-%d')};"
        f" kiln -O2, one thread; emitted C built with `{cc}` -O3 -march=native; ONNX Runtime "
        f"1.30 through its C API (`shared/ort-bench`), one intra-op thread, all graph "
        f"optimizations. {a.rounds} rounds per model, the three rotating; each figure is the "
        "median over rounds of a round's median; ratios below 1.00x mean kiln is faster. "
        "max abs diff: first output, kiln bundle against ORT.", "",
        table(models), "", END])
    print(text)
    if a.write:
        doc = open(a.write).read() if os.path.exists(a.write) else ""
        if BEGIN in doc and END in doc:
            doc = doc[:doc.index(BEGIN)] + text + doc[doc.index(END) + len(END):]
        else:
            doc = doc.rstrip("\n") + "\n\n" + text + "\n"
        tmp = a.write + ".tmp"
        with open(tmp, "w") as f:
            f.write(doc)
        os.replace(tmp, a.write)


if __name__ == "__main__":
    main()
