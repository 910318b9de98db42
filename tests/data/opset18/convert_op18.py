#!/usr/bin/env python3
"""convert_op18.py - rewrites an opset-13..17 model into the forms of opset 18 (or later) and
checks kiln against ONNX Runtime on it, by hand (the converted models are too large to commit;
docs/conformance.md records the results):
    /usr/bin/python3 tests/data/opset18/convert_op18.py build/kiln MODEL.onnx INPUT.npy [OPSET]
The rewrite: the opset import; Reduce* axes attributes become int64 initializer inputs; Split
with equal constant sizes takes num_outputs instead; Pad with constant pads takes an axes
input naming only the padded axes; Resize with constant scales on a leading run of 1s takes
an axes attribute for the rest. Then the converted model runs in ORT (ort_ref.js) and in
`kiln run`, and the largest difference is printed.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
from onnx import helper, numpy_helper
import onnx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generate  # noqa: E402  (ort_run, the IR versions)

REDUCE = {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
          "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"}


def constant(g, name):
    """The value of an initializer or a Constant node's output; None otherwise."""
    for t in g.initializer:
        if t.name == name:
            return numpy_helper.to_array(t)
    for n in g.node:
        if n.op_type == "Constant" and n.output[0] == name:
            for a in n.attribute:
                if a.name == "value":
                    return numpy_helper.to_array(a.t)
    return None


def add_init(g, name, arr):
    g.initializer.append(numpy_helper.from_array(np.asarray(arr), name))
    return name


def convert(m, opset):
    g = m.graph
    counts = {}
    for n in g.node:
        attrs = {a.name: a for a in n.attribute}
        if n.op_type in REDUCE and "axes" in attrs:
            axes = list(attrs["axes"].ints)
            n.attribute.remove(attrs["axes"])
            del n.input[1:]
            n.input.append(add_init(g, n.name + "_axes18", np.array(axes, np.int64)))
        elif n.op_type == "Split" and len(n.input) > 1 and n.input[1]:
            sizes = constant(g, n.input[1])
            if sizes is None or len(set(sizes.tolist())) != 1:
                continue
            del n.input[1:]
            n.attribute.append(helper.make_attribute("num_outputs", len(n.output)))
        elif n.op_type == "Pad" and len(n.input) > 1:
            pads = constant(g, n.input[1])
            if pads is None or (len(n.input) > 3 and n.input[3]):
                continue
            r = len(pads) // 2
            axes = [i for i in range(r) if pads[i] or pads[r + i]]
            new = [pads[i] for i in axes] + [pads[r + i] for i in axes]
            n.input[1] = add_init(g, n.name + "_pads18", np.array(new, np.int64))
            while len(n.input) < 3:
                n.input.append("")
            n.input.append(add_init(g, n.name + "_axes18", np.array(axes, np.int64)))
        elif n.op_type == "Resize" and len(n.input) > 2 and n.input[2]:
            scales = constant(g, n.input[2])
            if scales is None or not len(scales):
                continue
            lead = 0
            while lead < len(scales) - 1 and scales[lead] == 1:
                lead += 1
            n.input[2] = add_init(g, n.name + "_scales18", scales[lead:].astype(np.float32))
            n.attribute.append(helper.make_attribute("axes", list(range(lead, len(scales)))))
        else:
            continue
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    for o in m.opset_import:
        if o.domain in ("", "ai.onnx"):
            o.version = opset
    m.ir_version = generate.IR[opset]
    return counts


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    kiln, path, inp = argv[:3]
    opset = int(argv[3]) if len(argv) > 3 else 18
    m = onnx.load(path)
    counts = convert(m, opset)
    x = np.load(inp)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "model.onnx")
        onnx.save(m, out)
        ref = generate.ort_run(out, [m.graph.input[0].name], [x])[0]
        subprocess.run([kiln, "run", out, "--input", inp, "--output-dir", tmp], check=True)
        got = np.load(os.path.join(tmp, m.graph.output[0].name + ".npy"))
    diff = float(np.max(np.abs(got.astype(np.float64) - ref)))
    print("%s -> opset %d, rewritten %s: max |kiln - ORT| = %.3g (ORT's largest |y| %.3g)"
          % (os.path.basename(path), opset, counts or "nothing", diff, float(np.max(np.abs(ref)))))
    return 0 if diff <= 1e-3 * max(1.0, float(np.max(np.abs(ref)))) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
