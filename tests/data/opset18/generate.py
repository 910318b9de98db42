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


def mish_bitwise():
    """Mish (alone and after a Conv, where -O2 fuses it), BitwiseAnd/Or/Xor with broadcasting
    and BitwiseNot on int32 and uint8."""
    nodes = [N("Mish", ["x"], ["m"]),
             N("Conv", ["img", "w"], ["conv"]), N("Mish", ["conv"], ["cm"]),
             N("BitwiseAnd", ["i", "j"], ["band"]), N("BitwiseOr", ["i", "j"], ["bor"]),
             N("BitwiseXor", ["i", "j"], ["bxor"]), N("BitwiseNot", ["i"], ["bnot"]),
             N("BitwiseNot", ["u"], ["unot"]), N("BitwiseXor", ["u", "u1"], ["uxor"])]
    x = np.concatenate([randn(20) * 4, np.array([-30, -10, 0, 10, 30, 100], np.float32)])
    return model(nodes, [("x", x), ("img", randn(1, 2, 5, 5)),
                         ("i", rng.integers(-1000, 1000, (3, 4)).astype(np.int32)),
                         ("j", rng.integers(-1000, 1000, (4,)).astype(np.int32)),
                         ("u", rng.integers(0, 256, (5,)).astype(np.uint8))],
                 [("m", F), ("cm", F), ("band", TensorProto.INT32), ("bor", TensorProto.INT32),
                  ("bxor", TensorProto.INT32), ("bnot", TensorProto.INT32),
                  ("unot", TensorProto.UINT8), ("uxor", TensorProto.UINT8)],
                 [const("w", randn(3, 2, 3, 3)), const("u1", [0x5a], np.uint8)])


def group_norm18():
    """GroupNormalization-18: scale and bias per group."""
    nodes = [N("GroupNormalization", ["x", "s", "b"], ["y"], num_groups=3, epsilon=1e-3)]
    return model(nodes, [("x", randn(2, 6, 4, 3) * 2 + 1)], [("y", F)],
                 [const("s", randn(3)), const("b", randn(3))])


def group_norm21():
    """GroupNormalization-21: scale and bias per channel, a 1-d spatial input."""
    nodes = [N("GroupNormalization", ["x", "s", "b"], ["y"], num_groups=2, stash_type=1)]
    return model(nodes, [("x", randn(2, 6, 5) * 3 - 1)], [("y", F)],
                 [const("s", randn(6)), const("b", randn(6))], opset=21)


def scatter_max_min():
    """ScatterElements/ScatterND-18 with reduction max and min, repeated indices included."""
    nodes = [N("ScatterElements", ["x", "ei", "eu"], ["emax"], axis=1, reduction="max"),
             N("ScatterElements", ["x", "ei", "eu"], ["emin"], axis=1, reduction="min"),
             N("ScatterND", ["x", "ni", "nu"], ["nmax"], reduction="max"),
             N("ScatterND", ["x", "ni", "nu"], ["nmin"], reduction="min")]
    return model(nodes, [("x", randn(3, 5)), ("eu", randn(3, 4)), ("nu", randn(3, 5))],
                 [(o, F) for o in ("emax", "emin", "nmax", "nmin")],
                 [const("ei", [[0, 0, 4, 2], [1, 1, 1, 3], [4, 3, 2, 4]], np.int64),
                  const("ni", [[2], [0], [2]], np.int64)])


def resize18():
    """Resize-18: axes with scales, sizes and a roi; keep_aspect_ratio_policy; antialias when
    enlarging (where it changes nothing)."""
    nodes = [N("Resize", ["x", "", "sc"], ["a"], mode="linear", axes=[2, 3]),
             N("Resize", ["x", "", "", "sz"], ["b"], mode="cubic", axes=[2, 3],
               keep_aspect_ratio_policy="not_larger"),
             N("Resize", ["x", "", "", "sz"], ["c"], mode="nearest", axes=[3, 2],
               keep_aspect_ratio_policy="not_smaller"),
             N("Resize", ["x", "", "", "sz1"], ["d"], mode="linear", axes=[3], antialias=1),
             N("Resize", ["x", "roi", "", "sz1"], ["e"], mode="linear", axes=[3],
               coordinate_transformation_mode="tf_crop_and_resize")]
    return model(nodes, [("x", randn(1, 2, 5, 6))], [(o, F) for o in "abcde"],
                 [const("sc", [1.5, 0.7], np.float32), const("sz", [9, 7], np.int64),
                  const("sz1", [11], np.int64), const("roi", [0.2, 0.9], np.float32)])


def resize19():
    """Resize-19 half_pixel_symmetric, linear and nearest, scales with a fractional output (no
    nearest tie: where the exact coordinate is .5, float rounding decides it)."""
    nodes = [N("Resize", ["x", "", "sc"], ["a"], mode="linear",
               coordinate_transformation_mode="half_pixel_symmetric"),
             N("Resize", ["x", "", "sc"], ["b"], mode="nearest",
               coordinate_transformation_mode="half_pixel_symmetric")]
    return model(nodes, [("x", randn(1, 1, 5, 7))], [("a", F), ("b", F)],
                 [const("sc", [1, 1, 1.7, 0.65], np.float32)], opset=19)


def int4(name, values, signed=True):
    """An int4/uint4 initializer: two elements a byte, element 2k in the low nibble."""
    flat = np.asarray(values, np.int64).ravel()
    nib = (flat & 0xf).astype(np.uint8)
    if len(nib) % 2:
        nib = np.append(nib, np.uint8(0))
    t = TensorProto()
    t.name = name
    t.data_type = 22 if signed else 21  # INT4, UINT4 (ONNX 1.16; unknown to onnx 1.12)
    t.dims.extend(np.shape(values))
    t.raw_data = (nib[0::2] | (nib[1::2] << 4)).astype(np.uint8).tobytes()
    return t


def dq_int4_blocked():
    """DequantizeLinear-21: an int4 weight in blocks of 3 along axis 1 (the last block shorter)
    with int4 zero points, feeding a MatMul; a uint4 weight per axis; QuantizeLinear to int4
    in blocks and back; Cast between int4 and float; 16-bit quantization."""
    w = rng.integers(-8, 8, (8, 7))
    ws = (rng.random((8, 3)) * 0.1 + 0.01).astype(np.float32)
    wz = rng.integers(-2, 3, (8, 3))
    u = rng.integers(0, 16, (4, 3))
    nodes = [N("DequantizeLinear", ["w", "ws", "wz"], ["wf"], axis=1, block_size=3),
             N("MatMul", ["x", "wf"], ["y"]),
             N("DequantizeLinear", ["u", "us", "uz"], ["uf"], axis=0),
             N("QuantizeLinear", ["x", "xs", "xz"], ["xq"], axis=0, block_size=2),
             N("DequantizeLinear", ["xq", "xs", "xz"], ["xr"], axis=0, block_size=2),
             N("Cast", ["w"], ["wc"], to=TensorProto.FLOAT),
             N("Cast", ["x10"], ["x4"], to=22), N("Cast", ["x4"], ["x4f"], to=TensorProto.FLOAT),
             N("Mul", ["x", "ten"], ["x10"]),
             N("QuantizeLinear", ["x", "s16", "z16"], ["x16"]),
             N("DequantizeLinear", ["x16", "s16", "z16"], ["x16f"])]
    return model(nodes, [("x", randn(5, 8))],
                 [(o, F) for o in ("y", "uf", "xr", "wc", "x4f", "x16f")],
                 [int4("w", w), const("ws", ws), int4("wz", wz), int4("u", u, signed=False),
                  const("us", [0.5, 0.25, 0.125, 1.0], np.float32),
                  int4("uz", [8, 7, 0, 15], signed=False),
                  const("xs", (rng.random((3, 8)) * 0.3 + 0.1).astype(np.float32)),
                  int4("xz", rng.integers(-3, 4, (3, 8))), const("ten", [10], np.float32),
                  const("s16", [1e-3], np.float32), const("z16", [-7], np.int16)], opset=21)


def center_crop_pad():
    """CenterCropPad: crop one axis and pad another (odd differences), all axes and int64."""
    nodes = [N("CenterCropPad", ["x", "s2"], ["a"], axes=[1, 2]),
             N("CenterCropPad", ["x", "s3"], ["b"]),
             N("CenterCropPad", ["i", "s1"], ["c"], axes=[-1])]
    return model(nodes, [("x", randn(2, 7, 4)), ("i", np.arange(10, dtype=np.int64).reshape(2, 5))],
                 [("a", F), ("b", F), ("c", TensorProto.INT64)],
                 [const("s2", [4, 7], np.int64), const("s3", [3, 2, 5], np.int64),
                  const("s1", [8], np.int64)])


def affine_grid_sample():
    """AffineGrid (2-D and 3-D, align_corners both ways) feeding GridSample-20 (mode linear)."""
    nodes = [N("AffineGrid", ["theta", "size"], ["grid"], align_corners=0),
             N("GridSample", ["img", "grid"], ["y"], mode="linear", padding_mode="border"),
             N("AffineGrid", ["theta", "size"], ["grid_ac"], align_corners=1),
             N("GridSample", ["img", "grid_ac"], ["yc"], mode="cubic", align_corners=1),
             N("AffineGrid", ["theta3", "size3"], ["grid3"])]
    theta = np.array([[[0.9, 0.2, 0.1], [-0.1, 1.1, 0.05]],
                      [[1.2, -0.3, -0.2], [0.25, 0.8, 0.1]]], np.float32)
    return model(nodes, [("img", randn(2, 3, 6, 5)), ("theta", theta),
                         ("theta3", randn(1, 3, 4))],
                 [(o, F) for o in ("grid", "y", "grid_ac", "yc", "grid3")],
                 [const("size", [2, 3, 4, 7], np.int64), const("size3", [1, 1, 2, 3, 4], np.int64)],
                 opset=20)


def col2im():
    """Col2Im: 2-D with dilations, pads and strides; 1-D; overlapping blocks sum."""
    nodes = [N("Col2Im", ["x", "img", "blk"], ["y"], dilations=[1, 2], pads=[1, 0, 0, 1],
               strides=[2, 1]),
             N("Col2Im", ["x1", "img1", "blk1"], ["y1"], strides=[2])]
    # image 5x6, block 2x2, dilation (1, 2): blocks (5+1-2)/2+1 = 3 by (6+1-3)/1+1 = 5
    return model(nodes, [("x", randn(2, 3 * 4, 15)), ("x1", randn(1, 2 * 3, 4))],
                 [("y", F), ("y1", F)],
                 [const("img", [5, 6], np.int64), const("blk", [2, 2], np.int64),
                  const("img1", [9], np.int64), const("blk1", [3], np.int64)])


def dft20():
    """DFT-20: axis as an input (constant), dft_length, onesided, inverse."""
    nodes = [N("DFT", ["x", "", "ax"], ["a"]),
             N("DFT", ["x", "len", "ax1"], ["b"], onesided=1),
             N("DFT", ["c", "", "ax1"], ["d"], inverse=1)]
    return model(nodes, [("x", randn(2, 6, 5, 1)), ("c", randn(1, 4, 3, 2))],
                 [(o, F) for o in "abd"],
                 [const("ax", 2, np.int64), const("ax1", 1, np.int64), const("len", 8, np.int64)],
                 opset=20)


def layer_norm(nodes, x, name, dim):
    """LayerNormalization written out with opset-18 ReduceMeans (axes as an input), the form
    exporters emit below opset 17; kiln's layernorm_pattern pass folds it at -O2."""
    nodes += [N("ReduceMean", [x, "last"], [name + "_mu"]),
              N("Sub", [x, name + "_mu"], [name + "_d"]),
              N("Mul", [name + "_d", name + "_d"], [name + "_sq"]),
              N("ReduceMean", [name + "_sq", "last"], [name + "_var"]),
              N("Add", [name + "_var", "eps"], [name + "_ve"]),
              N("Sqrt", [name + "_ve"], [name + "_sd"]),
              N("Div", [name + "_d", name + "_sd"], [name + "_n"]),
              N("Mul", [name + "_n", name + "_g"], [name + "_s"]),
              N("Add", [name + "_s", name + "_b"], [name])]
    return [const(name + "_g", 1 + 0.1 * randn(dim)), const(name + "_b", 0.1 * randn(dim))]


def transformer_encoder18():
    """One pre-norm transformer encoder layer (2 heads, width 16) in opset-18 forms: LayerNorm
    from ReduceMean with axes inputs, the fused QKV projection cut by Split(num_outputs=3), an
    Erf GELU; then the sequence padded by Pad with an axes input, stretched by Resize over
    axis 1 (axes attribute) and mean-pooled by ReduceMean."""
    d, h, f, t = 16, 2, 32, 6
    nodes, inits = [], []
    inits += layer_norm(nodes, "x", "ln1", d)
    nodes += [N("MatMul", ["ln1", "wqkv"], ["qkv0"]), N("Add", ["qkv0", "bqkv"], ["qkv"]),
              N("Split", ["qkv"], ["q", "k", "v"], axis=-1, num_outputs=3)]
    for name in "qkv":
        nodes += [N("Reshape", [name, "heads"], [name + "_r"]),
                  N("Transpose", [name + "_r"], [name + "_h"], perm=[0, 2, 1, 3])]
    nodes += [N("Transpose", ["k_h"], ["k_t"], perm=[0, 1, 3, 2]),
              N("MatMul", ["q_h", "k_t"], ["sc0"]), N("Div", ["sc0", "sqrt_dk"], ["sc"]),
              N("Softmax", ["sc"], ["att"], axis=-1), N("MatMul", ["att", "v_h"], ["ctx_h"]),
              N("Transpose", ["ctx_h"], ["ctx_t"], perm=[0, 2, 1, 3]),
              N("Reshape", ["ctx_t", "flat"], ["ctx"]),
              N("MatMul", ["ctx", "wo"], ["o0"]), N("Add", ["o0", "bo"], ["o"]),
              N("Add", ["x", "o"], ["r1"])]
    inits += layer_norm(nodes, "r1", "ln2", d)
    nodes += [N("MatMul", ["ln2", "w1"], ["f0"]), N("Add", ["f0", "b1"], ["f1"]),
              N("Div", ["f1", "sqrt2"], ["g0"]), N("Erf", ["g0"], ["g1"]),
              N("Add", ["g1", "one"], ["g2"]), N("Mul", ["f1", "g2"], ["g3"]),
              N("Mul", ["g3", "half"], ["gelu"]),
              N("MatMul", ["gelu", "w2"], ["f2"]), N("Add", ["f2", "b2"], ["f3"]),
              N("Add", ["r1", "f3"], ["enc"]),
              N("Pad", ["enc", "seq_pads", "", "seq_axis"], ["padded"], mode="edge"),
              N("Resize", ["padded", "", "", "seq_size"], ["stretched"], mode="linear",
                axes=[1]),
              N("ReduceMean", ["stretched", "seq_axis"], ["pooled"], keepdims=0)]
    inits += [const("last", [-1], np.int64), const("eps", [1e-5], np.float32),
              const("wqkv", randn(d, 3 * d) / 4), const("bqkv", 0.1 * randn(3 * d)),
              const("heads", [1, t, h, d // h], np.int64), const("flat", [1, t, d], np.int64),
              const("sqrt_dk", [np.sqrt(d // h)], np.float32),
              const("wo", randn(d, d) / 4), const("bo", 0.1 * randn(d)),
              const("w1", randn(d, f) / 4), const("b1", 0.1 * randn(f)),
              const("w2", randn(f, d) / 6), const("b2", 0.1 * randn(d)),
              const("sqrt2", [np.sqrt(2)], np.float32), const("one", [1], np.float32),
              const("half", [0.5], np.float32), const("seq_pads", [1, 2], np.int64),
              const("seq_axis", [1], np.int64), const("seq_size", [13], np.int64)]
    return model(nodes, [("x", randn(1, t, d))], [("enc", F), ("stretched", F), ("pooled", F)],
                 inits)


def float8_in():
    """Every code of the four float8 types (opset 19) through Cast to float and through
    DequantizeLinear with a float8 zero point, scaled by an input."""
    nodes, inits, outs = [], [], []
    for code, name in ((17, "e4m3fn"), (18, "e4m3fnuz"), (19, "e5m2"), (20, "e5m2fnuz")):
        t = TensorProto()
        t.name, t.data_type = "c_" + name, code
        t.dims.append(256)
        t.raw_data = bytes(range(256))
        z = TensorProto()
        z.name, z.data_type, z.raw_data = "z_" + name, code, bytes([0])  # ORT: float8 zp 0
        inits += [t, z]
        nodes += [N("Cast", ["c_" + name], ["f_" + name], to=TensorProto.FLOAT),
                  N("Mul", ["f_" + name, "x"], ["cast_" + name]),
                  N("DequantizeLinear", ["c_" + name, "s", "z_" + name], ["dq_" + name])]
        outs += [("cast_" + name, F), ("dq_" + name, F)]
    return model(nodes, [("x", randn(256))], outs, inits + [const("s", 0.5, np.float32)],
                 opset=19)


MODELS = {f.__name__: f for f in (split_reduce_pad, split_sizes_op18, pools, cast19, gelu20,
                                  mish_bitwise, group_norm18, group_norm21, scatter_max_min,
                                  resize18, resize19, dq_int4_blocked, center_crop_pad,
                                  affine_grid_sample, col2im, dft20, transformer_encoder18,
                                  float8_in)}


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
