#!/usr/bin/env python3
"""generate.py - models in the forms of ONNX opsets 18-21 (built with onnx.helper; Debian's onnx
1.12 predates them, so opset_import and ir_version are set by hand and onnx.checker is not run)
with references computed by ONNX Runtime (onnxruntime-node through ort_ref.js). Writes NAME.onnx,
NAME.input.K.npy and NAME.output.K.npy here; tests/models/run_model_tests.sh compares kiln with
them (ctest opset18_models). Run by hand when a model changes:
    /usr/bin/python3 tests/data/opset18/generate.py [--ort DIR] [NAME...]
"""
import base64
import glob
import json
import os
import subprocess
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ORT = "/root/.cache/kiln-ort/node_modules/onnxruntime-node"
IR = {18: 8, 19: 9, 20: 9, 21: 10}  # the IR version that came with each opset
NP = {TensorProto.FLOAT: np.float32, TensorProto.INT64: np.int64, TensorProto.INT32: np.int32,
      TensorProto.INT8: np.int8, TensorProto.UINT8: np.uint8, TensorProto.BOOL: np.bool_,
      TensorProto.INT16: np.int16, TensorProto.UINT16: np.uint16, TensorProto.DOUBLE: np.float64}
ORT_TYPES = {np.float32: "float32", np.int64: "int64", np.int32: "int32", np.int8: "int8",
             np.uint8: "uint8", np.bool_: "bool", np.int16: "int16", np.uint16: "uint16",
             np.float64: "float64"}
rng = np.random.default_rng(18)


def const(name, arr, dtype=None):
    """An initializer from a numpy array."""
    return numpy_helper.from_array(np.asarray(arr, dtype=dtype), name)


def model(nodes, inputs, outputs, inits=(), opset=18):
    """inputs: [(name, numpy array)], outputs: [(name, TensorProto type)]."""
    g = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info(n, {v: k for k, v in NP.items()}[a.dtype.type], a.shape)
         for n, a in inputs],
        [helper.make_tensor_value_info(n, t, None) for n, t in outputs], list(inits))
    m = helper.make_model(g, producer_name="kiln-opset18-tests",
                          opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = IR[opset]
    return m, [a for _, a in inputs]


def ort_run(path, names, arrays):
    req = {"ort": ORT, "model": path, "inputs": [
        {"name": n, "type": ORT_TYPES[a.dtype.type], "dims": list(a.shape),
         "b64": base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()}
        for n, a in zip(names, arrays)]}
    p = subprocess.run(["node", os.path.join(HERE, "ort_ref.js")], input=json.dumps(req),
                       capture_output=True, text=True)
    if p.returncode:
        raise SystemExit("%s: ONNX Runtime failed: %s" % (path, p.stderr.strip()))
    out = p.stdout
    res = []
    for o in json.loads(out)["outputs"]:
        dt = {v: k for k, v in ORT_TYPES.items()}[o["type"]]
        res.append(np.frombuffer(base64.b64decode(o["b64"]), dtype=dt).reshape(o["dims"]))
    return res


def write(name, built):
    m, arrays = built
    path = os.path.join(HERE, name + ".onnx")
    with open(path, "wb") as f:
        f.write(m.SerializeToString())
    for old in glob.glob(os.path.join(HERE, name + ".*.npy")):
        os.remove(old)
    outs = ort_run(path, [i.name for i in m.graph.input], arrays)
    for kind, arrs in (("input", arrays), ("output", outs)):
        for k, a in enumerate(arrs):
            suffix = "" if len(arrs) == 1 else ".%d" % k
            np.save(os.path.join(HERE, "%s.%s%s.npy" % (name, kind, suffix)), a)
    print("%s: %d inputs, outputs %s" % (name, len(arrays), [o.shape for o in outs]))


def randn(*shape):
    return rng.standard_normal(shape).astype(np.float32)


N = helper.make_node
F = TensorProto.FLOAT

# ---- opset 18: Split num_outputs, Reduce* axes input, Pad axes --------------------------------


def split_reduce_pad():
    """Split(num_outputs, uneven), ReduceMean/ReduceMax with axes as initializer and Constant,
    Pad with an axes input (reflect), ReduceSumSquare of all axes, noop_with_empty_axes."""
    nodes = [
        N("Split", ["x"], ["a", "b", "c"], axis=1, num_outputs=3),  # 7 -> 3, 3, 1
        N("ReduceMean", ["a", "ax2"], ["mean"], keepdims=1),
        N("Constant", [], ["ax12"], value=numpy_helper.from_array(np.array([1, -1], np.int64))),
        N("ReduceMax", ["b", "ax12"], ["max"], keepdims=0),
        N("Pad", ["c", "pads", "", "padax"], ["padded"], mode="reflect"),
        N("ReduceSumSquare", ["x"], ["ssq"], keepdims=0),
        N("ReduceL2", ["a", "empty"], ["same"], noop_with_empty_axes=1),
        N("ReduceProd", ["b", "ax2"], ["prod"], keepdims=0),
        N("ReduceLogSumExp", ["a", "ax2"], ["lse"]),
        N("ReduceL1", ["c", "ax2"], ["l1"]),
        N("ReduceMin", ["x"], ["min"]),
        N("ReduceLogSum", ["b", "ax2"], ["ls"]),
    ]
    x = np.abs(randn(2, 7, 4)) + 0.5
    return model(nodes, [("x", x)],
                 [(o, F) for o in ("mean", "max", "padded", "ssq", "same", "prod", "lse", "l1",
                                   "min", "ls")],
                 [const("ax2", [2], np.int64), const("pads", [2, 1], np.int64),
                  const("padax", [-1], np.int64), const("empty", [], np.int64)])


def split_sizes_op18():
    """Split-18 with a split input still works; num_outputs splits an axis evenly."""
    nodes = [N("Split", ["x", "sizes"], ["a", "b"], axis=0),
             N("Split", ["x"], ["c", "d", "e"], axis=-1, num_outputs=3)]
    return model(nodes, [("x", randn(5, 6))], [(o, F) for o in "abcde"],
                 [const("sizes", [1, 4], np.int64)])


def pools():
    """LpPool-18 ceil_mode and dilations; AveragePool-19 dilations and ceil_mode."""
    nodes = [N("LpPool", ["x"], ["lp"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1, p=2),
             N("LpPool", ["x"], ["lpd"], kernel_shape=[2, 2], dilations=[2, 2], p=3),
             N("AveragePool", ["x"], ["avg"], kernel_shape=[2, 3], dilations=[2, 1],
               strides=[1, 2], ceil_mode=1, pads=[1, 0, 0, 1]),
             N("AveragePool", ["x"], ["avgc"], kernel_shape=[3, 3], dilations=[2, 2],
               count_include_pad=1, pads=[1, 1, 1, 1])]
    return model(nodes, [("x", randn(1, 2, 8, 9))], [(o, F) for o in ("lp", "lpd", "avg", "avgc")],
                 opset=19)


def cast19():
    """Cast/CastLike-19 (saturate only matters for float8 targets; ONNX Runtime refuses it on
    others)."""
    nodes = [N("Cast", ["x"], ["i"], to=TensorProto.INT32),
             N("CastLike", ["x", "like"], ["h"])]
    return model(nodes, [("x", randn(3, 4) * 100)],
                 [("i", TensorProto.INT32), ("h", TensorProto.DOUBLE)],
                 [const("like", [0], np.float64)], opset=19)


def gelu20():
    nodes = [N("Gelu", ["x"], ["y"]), N("Gelu", ["x"], ["t"], approximate="tanh")]
    return model(nodes, [("x", randn(4, 5) * 3)], [("y", F), ("t", F)], opset=20)


MODELS = {f.__name__: f for f in (split_reduce_pad, split_sizes_op18, pools, cast19, gelu20)}


def main(argv):
    global ORT
    args = list(argv)
    if args[:1] == ["--ort"]:
        ORT = args[1]
        args = args[2:]
    for name in args or MODELS:
        write(name, MODELS[name]())


if __name__ == "__main__":
    main(sys.argv[1:])
