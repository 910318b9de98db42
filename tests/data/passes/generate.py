"""generate.py - tiny ONNX graphs for the optimization-pass unit tests (tests/unit/test_passes.c).
Each graph isolates one rewrite and its negative cases. Run with Debian's interpreter:
/usr/bin/python3 tests/data/passes/generate.py  (writes NAME.onnx next to this file)."""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
F, I64 = TensorProto.FLOAT, TensorProto.INT64


def vi(name, t, shape):
    return helper.make_tensor_value_info(name, t, shape)


def init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def save(name, nodes, inputs, outputs, inits=(), opset=13):
    g = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="kiln-pass-tests")
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(HERE, name + ".onnx"))


def cleanup():
    """Identity chains, a duplicate Relu, an unused branch, an Identity that is a graph output,
    and an exporter-style shape chain feeding a Reshape."""
    nodes = [
        helper.make_node("Identity", ["x"], ["i1"], name="id_in"),
        helper.make_node("Relu", ["i1"], ["r1"], name="relu_a"),
        helper.make_node("Relu", ["i1"], ["r2"], name="relu_b"),
        helper.make_node("Add", ["r1", "r2"], ["s"], name="add"),
        helper.make_node("Sigmoid", ["x"], ["unused"], name="dead_sigmoid"),
        helper.make_node("Shape", ["s"], ["shp"], name="shape"),
        helper.make_node("Gather", ["shp", "zero"], ["n"], axis=0, name="gather"),
        helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"], name="unsqueeze"),
        helper.make_node("Concat", ["n1", "minus1"], ["target"], axis=0, name="concat"),
        helper.make_node("Reshape", ["s", "target"], ["flat"], name="reshape"),
        helper.make_node("Dropout", ["flat"], ["d"], name="dropout"),
        helper.make_node("Identity", ["d"], ["y"], name="id_out"),
    ]
    save("cleanup", nodes, [vi("x", F, [2, 3, 4])], [vi("y", F, [2, 12])],
         [init("zero", np.array(0, np.int64)), init("axes0", np.array([0], np.int64)),
          init("minus1", np.array([-1], np.int64))])


# ---- passes-a: fold_batchnorm, matmul_add_to_gemm, fold_pad, transpose, reshape_chain ----

RNG = np.random.default_rng(7)


def rnd(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def bn_params(prefix, c):
    return [init(prefix + "_s", rnd(c)), init(prefix + "_b", rnd(c)),
            init(prefix + "_m", rnd(c)), init(prefix + "_v", np.abs(rnd(c)) + 0.5)]


def bn(prefix, x, y):
    p = prefix
    return helper.make_node("BatchNormalization", [x, p + "_s", p + "_b", p + "_m", p + "_v"],
                            [y], epsilon=1e-3, name=p)


def fold_bn():
    """Conv (no bias) -> BN -> Mul per channel -> Add per channel; ConvTranspose (groups,
    bias) -> BN; Gemm (transB, C) -> BN; Gemm (no C) -> Mul scalar -> Add [N]. All fold."""
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        bn("bn1", "c1", "b1"),
        helper.make_node("Mul", ["b1", "k1"], ["m1"], name="mul1"),
        helper.make_node("Add", ["a1", "m1"], ["y1"], name="add1"),
        helper.make_node("ConvTranspose", ["x", "wt", "bt"], ["c2"], group=3, strides=[2, 2],
                         name="convt"),
        bn("bn2", "c2", "y2"),
        helper.make_node("Gemm", ["z", "wg", "cg"], ["g3"], transB=1, beta=0.5, name="gemm3"),
        bn("bn3", "g3", "y3"),
        helper.make_node("Gemm", ["z", "wg2"], ["g4"], name="gemm4"),
        helper.make_node("Mul", ["g4", "two"], ["m4"], name="mul4"),
        helper.make_node("Add", ["m4", "a4"], ["y4"], name="add4"),
    ]
    inits = [init("w1", rnd(4, 3, 3, 3)), init("k1", rnd(1, 4, 1, 1)), init("a1", rnd(4, 1, 1)),
             init("wt", rnd(3, 2, 2, 2)), init("bt", rnd(6)),
             init("wg", rnd(6, 5)), init("cg", rnd(6)), init("wg2", rnd(5, 6)),
             init("two", np.array(2.0, np.float32)), init("a4", rnd(6))]
    inits += bn_params("bn1", 4) + bn_params("bn2", 6) + bn_params("bn3", 6)
    save("fold_bn", nodes, [vi("x", F, [1, 3, 5, 5]), vi("z", F, [2, 5])],
         [vi("y1", F, [1, 4, 5, 5]), vi("y2", F, [1, 6, 10, 10]), vi("y3", F, [2, 6]),
          vi("y4", F, [2, 6])], inits)


def fold_bn_neg():
    """(Distinct weights everywhere: cleanup would merge identical nodes first.)
    Nothing folds: the Conv output has a second reader; BN scale is not constant; Mul by a
    constant that varies along the width (not the channel axis); Gemm -> Mul by a constant
    varying along M (the BN-like map is over the other axis)."""
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c1"], name="conv_shared"),
        bn("bn_shared", "c1", "y1"),
        helper.make_node("Relu", ["c1"], ["y2"], name="relu_shared"),
        helper.make_node("Conv", ["x", "w_b"], ["c3"], name="conv_var"),
        helper.make_node("BatchNormalization", ["c3", "scale_in", "bnv_b", "bnv_m", "bnv_v"],
                         ["y3"], name="bn_var"),
        helper.make_node("Conv", ["x", "w_c"], ["c4"], name="conv_axis"),
        helper.make_node("Mul", ["c4", "kw"], ["y4"], name="mul_axis"),
        helper.make_node("Gemm", ["z", "wg"], ["g5"], name="gemm_axis"),
        helper.make_node("Mul", ["g5", "km"], ["y5"], name="mul_rows"),
    ]
    inits = [init("w", rnd(4, 3, 1, 1)), init("w_b", rnd(4, 3, 1, 1)),
             init("w_c", rnd(4, 3, 1, 1)), init("kw", rnd(5)), init("wg", rnd(5, 6)),
             init("km", rnd(2, 1)), init("bnv_b", rnd(4)), init("bnv_m", rnd(4)),
             init("bnv_v", np.abs(rnd(4)) + 0.5)] + bn_params("bn_shared", 4)
    save("fold_bn_neg", nodes,
         [vi("x", F, [1, 3, 5, 5]), vi("z", F, [2, 5]), vi("scale_in", F, [4])],
         [vi("y1", F, [1, 4, 5, 5]), vi("y2", F, [1, 4, 5, 5]), vi("y3", F, [1, 4, 5, 5]),
          vi("y4", F, [1, 4, 5, 5]), vi("y5", F, [2, 6])], inits)


def matmul_gemm():
    """Rewritten: 2-D MatMul + Add [5]; 3-D MatMul + Add [1, 1, 5] (flattened).
    Left alone: a non-constant weight; a bias varying along M ([4, 1])."""
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["m1"], name="mm2d"),
        helper.make_node("Add", ["m1", "b"], ["y1"], name="add2d"),
        helper.make_node("MatMul", ["x3", "w"], ["m2"], name="mm3d"),
        helper.make_node("Add", ["b3", "m2"], ["y2"], name="add3d"),
        helper.make_node("MatMul", ["x", "w_in"], ["m3"], name="mm_var"),
        helper.make_node("Add", ["m3", "b"], ["y3"], name="add_var"),
        helper.make_node("MatMul", ["x", "w_r"], ["m4"], name="mm_rows"),
        helper.make_node("Add", ["m4", "brows"], ["y4"], name="add_rows"),
    ]
    inits = [init("w", rnd(8, 5)), init("w_r", rnd(8, 5)), init("b", rnd(5)),
             init("b3", rnd(1, 1, 5)),
             init("brows", rnd(4, 1))]
    save("matmul_gemm", nodes,
         [vi("x", F, [4, 8]), vi("x3", F, [2, 3, 8]), vi("w_in", F, [8, 5])],
         [vi("y1", F, [4, 5]), vi("y2", F, [2, 3, 5]), vi("y3", F, [4, 5]), vi("y4", F, [4, 5])],
         inits)


def fold_pad():
    """(Each Pad reads its own pads constant: cleanup would merge identical Pads first.)
    Folded: zero Pad -> Conv; Pad -> AveragePool without own pads. Kept: Pad value 1,
    reflect Pad, Pad -> MaxPool, a Pad output read twice, a Pad of the channel axis."""
    def pad(name, x, y, pads, value=None, mode="constant"):
        ins = [x, pads] + ([value] if value else [])
        return helper.make_node("Pad", ins, [y], mode=mode, name=name)
    nodes = [
        pad("pad_conv", "x", "p1", "sp"),
        helper.make_node("Conv", ["p1", "w"], ["y1"], pads=[0, 1, 0, 1], name="conv1"),
        pad("pad_avg", "x", "p2", "sp_asym", "zero"),
        helper.make_node("AveragePool", ["p2"], ["y2"], kernel_shape=[3, 3], name="avg"),
        pad("pad_one", "x", "p3", "sp2", "one"),
        helper.make_node("Conv", ["p3", "w"], ["y3"], name="conv_one"),
        pad("pad_reflect", "x", "p4", "sp3", mode="reflect"),
        helper.make_node("Conv", ["p4", "w"], ["y4"], name="conv_reflect"),
        pad("pad_max", "x", "p5", "sp4"),
        helper.make_node("MaxPool", ["p5"], ["y5"], kernel_shape=[3, 3], name="maxpool"),
        pad("pad_shared", "x", "p6", "sp5"),
        helper.make_node("Conv", ["p6", "w"], ["y6"], name="conv_shared"),
        helper.make_node("Relu", ["p6"], ["y7"], name="relu_shared"),
        pad("pad_chan", "x", "p8", "chan"),
        helper.make_node("Conv", ["p8", "w3"], ["y8"], name="conv_chan"),
    ]
    inits = [init(n, np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64))
             for n in ("sp", "sp2", "sp3", "sp4", "sp5")]
    inits += [init("sp_asym", np.array([0, 0, 1, 2, 0, 0, 2, 0], np.int64)),
              init("chan", np.array([0, 1, 0, 0, 0, 0, 0, 0], np.int64)),
              init("zero", np.array(0.0, np.float32)), init("one", np.array(1.0, np.float32)),
              init("w", rnd(3, 2, 3, 3)), init("w3", rnd(3, 3, 3, 3))]
    save("fold_pad", nodes, [vi("x", F, [1, 2, 6, 6])],
         [vi("y1", F, [1, 3, 6, 8]), vi("y2", F, [1, 2, 7, 6]), vi("y3", F, [1, 3, 6, 6]),
          vi("y4", F, [1, 3, 6, 6]), vi("y5", F, [1, 2, 6, 6]), vi("y6", F, [1, 3, 6, 6]),
          vi("y7", F, [1, 2, 8, 8]), vi("y8", F, [1, 3, 4, 4])], inits)


def transpose():
    """Cancelling pair; composed pair; Transpose -> 2-D MatMul (becomes Gemm transA);
    Transpose of the input b -> Gemm operand B (transB toggled; a constant b would be folded). Kept: a Transpose that is also a graph
    output; a 3-D Transpose feeding MatMul."""
    nodes = [
        helper.make_node("Transpose", ["x"], ["t1"], perm=[1, 0, 2], name="t_cancel_a"),
        helper.make_node("Transpose", ["t1"], ["t2"], perm=[1, 0, 2], name="t_cancel_b"),
        helper.make_node("Relu", ["t2"], ["y1"], name="relu1"),
        helper.make_node("Transpose", ["x"], ["t3"], perm=[0, 2, 1], name="t_comp_a"),
        helper.make_node("Transpose", ["t3"], ["t4"], perm=[2, 1, 0], name="t_comp_b"),
        helper.make_node("Relu", ["t4"], ["y2"], name="relu2"),
        helper.make_node("Transpose", ["a"], ["ta"], name="t_mm"),
        helper.make_node("MatMul", ["ta", "wm"], ["y3"], name="mm"),
        helper.make_node("Transpose", ["b"], ["tb"], perm=[1, 0], name="t_gemm"),
        helper.make_node("Gemm", ["a2", "tb", "c"], ["y4"], name="gemm"),
        helper.make_node("Transpose", ["a"], ["y5"], name="t_out"),
        helper.make_node("MatMul", ["y5", "wm"], ["y6"], name="mm_out"),
        helper.make_node("Transpose", ["x7"], ["t7"], perm=[0, 2, 1], name="t_3d"),
        helper.make_node("MatMul", ["t7", "w3"], ["y7"], name="mm_3d"),
    ]
    inits = [init("wm", rnd(4, 5)), init("c", rnd(5)),
             init("w3", rnd(3, 2))]
    save("transpose", nodes,
         [vi("x", F, [2, 3, 4]), vi("a", F, [4, 3]), vi("a2", F, [3, 4]),
          vi("x7", F, [2, 3, 4]), vi("b", F, [5, 4])],
         [vi("y1", F, [2, 3, 4]), vi("y2", F, [3, 4, 2]), vi("y3", F, [3, 5]),
          vi("y4", F, [3, 5]), vi("y5", F, [3, 4]), vi("y6", F, [3, 5]), vi("y7", F, [2, 4, 2])],
         inits)


def reshape_chain():
    """Flatten -> Unsqueeze -> Reshape collapse into one Reshape; a Reshape to the same shape
    goes. Kept: a chain whose middle value has another reader."""
    nodes = [
        helper.make_node("Flatten", ["x"], ["f"], axis=1, name="flatten"),
        helper.make_node("Unsqueeze", ["f", "ax0"], ["u"], name="unsqueeze"),
        helper.make_node("Reshape", ["u", "s46"], ["r"], name="reshape"),
        helper.make_node("Relu", ["r"], ["y1"], name="relu1"),
        helper.make_node("Relu", ["x"], ["rx"], name="relu2"),
        helper.make_node("Reshape", ["rx", "s234"], ["same"], name="reshape_same"),
        helper.make_node("Sigmoid", ["same"], ["y2"], name="sigmoid"),
        helper.make_node("Reshape", ["x", "s64"], ["mid"], name="reshape_mid"),
        helper.make_node("Unsqueeze", ["mid", "ax0"], ["y3"], name="unsqueeze_mid"),
        helper.make_node("Relu", ["mid"], ["y4"], name="relu_mid"),
    ]
    inits = [init("ax0", np.array([0], np.int64)), init("s46", np.array([4, 6], np.int64)),
             init("s234", np.array([2, 3, 4], np.int64)), init("s64", np.array([6, 4], np.int64))]
    save("reshape_chain", nodes, [vi("x", F, [2, 3, 4])],
         [vi("y1", F, [4, 6]), vi("y2", F, [2, 3, 4]), vi("y3", F, [1, 6, 4]),
          vi("y4", F, [6, 4])], inits)


def passes_a():
    fold_bn()
    fold_bn_neg()
    matmul_gemm()
    fold_pad()
    transpose()
    reshape_chain()
# ---- passes-b: fusion and pattern passes ----

RNG = np.random.default_rng(7)
D = TensorProto.DOUBLE


def rnd(*shape):
    return (RNG.standard_normal(shape) * 0.5).astype(np.float32)


def scalar(name, v):
    return init(name, np.array(v, np.float32))


def fuse_act():
    """An activation after each producer kind; SiLU as x * Sigmoid(x); GELU as torch writes it
    after a MatMul (gelu_pattern makes the Gelu that fuse_activation then moves)."""
    mk = helper.make_node
    nodes = [
        mk("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv_relu"),
        mk("Relu", ["c1"], ["y1"], name="relu"),
        mk("Conv", ["x", "w2"], ["c2"], name="conv_clip"),
        mk("Clip", ["c2", "zero", "six"], ["y2"], name="relu6"),
        mk("Conv", ["x", "w3", "b3"], ["c3"], name="conv_silu"),
        mk("Sigmoid", ["c3"], ["s3"], name="silu_sigmoid"),
        mk("Mul", ["c3", "s3"], ["y3"], name="silu_mul"),
        mk("Conv", ["x", "w4"], ["c4"], name="conv_hswish"),
        mk("HardSwish", ["c4"], ["y4"], name="hswish"),
        mk("ConvTranspose", ["x", "wt"], ["c5"], strides=[2, 2], name="convt_leaky"),
        mk("LeakyRelu", ["c5"], ["y5"], alpha=0.1, name="leaky"),
        mk("Gemm", ["g", "gw", "gc"], ["c6"], transB=1, name="gemm_hsig"),
        mk("HardSigmoid", ["c6"], ["y6"], alpha=0.3, beta=0.4, name="hsig"),
        mk("MatMul", ["g", "mw"], ["c7"], name="matmul_tanh"),
        mk("Tanh", ["c7"], ["y7"], name="tanh"),
        mk("MatMul", ["g", "mw2"], ["c8"], name="matmul_gelu"),
        mk("Div", ["c8", "sqrt2"], ["g1"], name="gelu_div"),
        mk("Erf", ["g1"], ["g2"], name="gelu_erf"),
        mk("Add", ["g2", "one"], ["g3"], name="gelu_add"),
        mk("Mul", ["c8", "g3"], ["g4"], name="gelu_mul"),
        mk("Mul", ["g4", "half"], ["y8"], name="gelu_half"),
        mk("Gemm", ["g", "gw"], ["c9"], transB=1, name="gemm_sigmoid"),
        mk("Sigmoid", ["c9"], ["y9"], name="sigmoid"),
    ]
    save("fuse_act", nodes, [vi("x", F, [1, 3, 6, 6]), vi("g", F, [2, 6])],
         [vi("y1", F, [1, 4, 6, 6]), vi("y2", F, [1, 4, 4, 4]), vi("y3", F, [1, 4, 6, 6]),
          vi("y4", F, [1, 4, 6, 6]), vi("y5", F, [1, 2, 13, 13]), vi("y6", F, [2, 5]),
          vi("y7", F, [2, 5]), vi("y8", F, [2, 5]), vi("y9", F, [2, 5])],
         [init("w1", rnd(4, 3, 3, 3)), init("b1", rnd(4)), init("w2", rnd(4, 3, 3, 3) * 4),
          init("w3", rnd(4, 3, 1, 1)), init("b3", rnd(4)), init("w4", rnd(4, 3, 1, 1) * 4),
          init("wt", rnd(3, 2, 3, 3)), init("gw", rnd(5, 6)), init("gc", rnd(5)),
          init("mw", rnd(6, 5)), init("mw2", rnd(6, 5)), scalar("zero", 0.0),
          scalar("six", 6.0), scalar("sqrt2", 1.4142135), scalar("one", 1.0),
          scalar("half", 0.5)], opset=14)


def fuse_act_neg():
    """No fusion: the Conv output is also a graph output; it has a second reader; float64."""
    mk = helper.make_node
    nodes = [
        mk("Conv", ["x", "w"], ["c1"], name="conv_out"),
        mk("Relu", ["c1"], ["y1"], name="relu_out"),
        mk("Conv", ["x", "w"], ["c2"], pads=[1, 1, 1, 1], name="conv_two"),
        mk("Relu", ["c2"], ["r2"], name="relu_two"),
        mk("Add", ["c2", "r2"], ["y2"], name="add_two"),
        mk("MatMul", ["d", "dw"], ["c3"], name="matmul_f64"),
        mk("Relu", ["c3"], ["y3"], name="relu_f64"),
    ]
    save("fuse_act_neg", nodes, [vi("x", F, [1, 3, 5, 5]), vi("d", D, [2, 3])],
         [vi("c1", F, [1, 4, 3, 3]), vi("y1", F, [1, 4, 3, 3]), vi("y2", F, [1, 4, 5, 5]),
          vi("y3", D, [2, 3])],
         [init("w", rnd(4, 3, 3, 3)), init("dw", rnd(3, 3).astype(np.float64))])


def fuse_residual():
    """Conv + Add(identity) + Relu, Gemm + Add (residual first), MatMul + Add; and a Conv + Add
    of a per-channel constant (broadcasting: not a residual)."""
    mk = helper.make_node
    nodes = [
        mk("Conv", ["x", "w", "b"], ["c1"], pads=[1, 1, 1, 1], name="conv_res"),
        mk("Add", ["c1", "x"], ["a1"], name="add_res"),
        mk("Relu", ["a1"], ["y1"], name="relu_res"),
        mk("Gemm", ["g", "gw", "gc"], ["c2"], transB=1, name="gemm_res"),
        mk("Add", ["other", "c2"], ["y2"], name="add_gemm"),
        mk("MatMul", ["m", "mw"], ["c3"], name="matmul_res"),
        mk("Add", ["c3", "m"], ["y3"], name="add_matmul"),
        mk("Conv", ["x", "w"], ["c4"], pads=[1, 1, 1, 1], name="conv_bcast"),
        mk("Add", ["c4", "chan"], ["y4"], name="add_bcast"),
    ]
    save("fuse_residual", nodes,
         [vi("x", F, [1, 4, 5, 5]), vi("g", F, [3, 6]), vi("other", F, [3, 5]),
          vi("m", F, [2, 3, 5])],
         [vi("y1", F, [1, 4, 5, 5]), vi("y2", F, [3, 5]), vi("y3", F, [2, 3, 5]),
          vi("y4", F, [1, 4, 5, 5])],
         [init("w", rnd(4, 4, 3, 3)), init("b", rnd(4)), init("gw", rnd(5, 6)),
          init("gc", rnd(5)), init("mw", rnd(5, 5)), init("chan", rnd(1, 4, 1, 1))])


def layernorm():
    """The torch decomposition over the last axis (Pow, gamma, beta); a Mul-self variant over the
    last two axes with gamma only; and the same pattern over axis 1 (not the last: no match)."""
    mk = helper.make_node

    def ln(p, x, axes, square, gamma, beta, out):
        ns = [mk("ReduceMean", [x], [p + "m"], axes=axes, name=p + "mean"),
              mk("Sub", [x, p + "m"], [p + "d"], name=p + "sub")]
        if square == "pow":
            ns.append(mk("Pow", [p + "d", "two"], [p + "q"], name=p + "pow"))
        else:
            ns.append(mk("Mul", [p + "d", p + "d"], [p + "q"], name=p + "sq"))
        ns += [mk("ReduceMean", [p + "q"], [p + "v"], axes=axes, name=p + "var"),
               mk("Add", [p + "v", "eps"], [p + "ve"], name=p + "addeps"),
               mk("Sqrt", [p + "ve"], [p + "s"], name=p + "sqrt"),
               mk("Div", [p + "d", p + "s"], [p + "n" if gamma else out], name=p + "div")]
        if gamma:
            ns.append(mk("Mul", [p + "n", gamma], [p + "g" if beta else out], name=p + "gamma"))
        if beta:
            ns.append(mk("Add", [p + "g", beta], [out], name=p + "beta"))
        return ns

    nodes = (ln("a_", "x", [-1], "pow", "ga", "ba", "y1") +
             ln("b_", "x", [1, 2], "mul", "gb", None, "y2") +
             ln("c_", "x", [1], "pow", "gc", "bc", "y3"))
    save("layernorm", nodes, [vi("x", F, [2, 3, 8])],
         [vi("y1", F, [2, 3, 8]), vi("y2", F, [2, 3, 8]), vi("y3", F, [2, 3, 8])],
         [scalar("two", 2.0), scalar("eps", 1e-5), init("ga", rnd(8)), init("ba", rnd(8)),
          init("gb", rnd(3, 8)), init("gc", rnd(3, 1)), init("bc", rnd(3, 1))])


def gelu():
    """GELU in the orders exporters write: (x * (1 + erf)) * 0.5, (x * 0.5) * (1 + erf(x * c)),
    x * ((1 + erf) * 0.5), the tanh form with Pow and with x * x * x; a wrong constant. Each
    chain reads its own input so that cleanup's CSE does not merge their common prefixes."""
    mk = helper.make_node
    nodes = [
        mk("Div", ["xa", "sqrt2"], ["a1"], name="a_div"),
        mk("Erf", ["a1"], ["a2"], name="a_erf"),
        mk("Add", ["a2", "one"], ["a3"], name="a_add"),
        mk("Mul", ["xa", "a3"], ["a4"], name="a_mul"),
        mk("Mul", ["a4", "half"], ["y1"], name="a_half"),

        mk("Mul", ["xb", "rsqrt2"], ["b1"], name="b_scale"),
        mk("Erf", ["b1"], ["b2"], name="b_erf"),
        mk("Add", ["one", "b2"], ["b3"], name="b_add"),
        mk("Mul", ["xb", "half"], ["b4"], name="b_half"),
        mk("Mul", ["b4", "b3"], ["y2"], name="b_mul"),

        mk("Div", ["xc", "sqrt2"], ["c1"], name="c_div"),
        mk("Erf", ["c1"], ["c2"], name="c_erf"),
        mk("Add", ["c2", "one"], ["c3"], name="c_add"),
        mk("Mul", ["c3", "half"], ["c4"], name="c_half"),
        mk("Mul", ["xc", "c4"], ["y3"], name="c_mul"),

        mk("Pow", ["xd", "three"], ["d1"], name="d_pow"),
        mk("Mul", ["d1", "k044"], ["d2"], name="d_k"),
        mk("Add", ["xd", "d2"], ["d3"], name="d_add"),
        mk("Mul", ["d3", "k079"], ["d4"], name="d_scale"),
        mk("Tanh", ["d4"], ["d5"], name="d_tanh"),
        mk("Add", ["d5", "one"], ["d6"], name="d_add1"),
        mk("Mul", ["xd", "half"], ["d7"], name="d_half"),
        mk("Mul", ["d7", "d6"], ["y4"], name="d_mul"),

        mk("Mul", ["xe", "xe"], ["e0"], name="e_sq"),
        mk("Mul", ["e0", "xe"], ["e1"], name="e_cube"),
        mk("Mul", ["k044", "e1"], ["e2"], name="e_k"),
        mk("Add", ["e2", "xe"], ["e3"], name="e_add"),
        mk("Mul", ["k079", "e3"], ["e4"], name="e_scale"),
        mk("Tanh", ["e4"], ["e5"], name="e_tanh"),
        mk("Add", ["one", "e5"], ["e6"], name="e_add1"),
        mk("Mul", ["xe", "e6"], ["e7"], name="e_mul"),
        mk("Mul", ["e7", "half"], ["y5"], name="e_half"),

        mk("Div", ["xf", "wrong"], ["f1"], name="f_div"),
        mk("Erf", ["f1"], ["f2"], name="f_erf"),
        mk("Add", ["f2", "one"], ["f3"], name="f_add"),
        mk("Mul", ["xf", "f3"], ["f4"], name="f_mul"),
        mk("Mul", ["f4", "half"], ["y6"], name="f_half"),
    ]
    save("gelu", nodes, [vi("x" + c, F, [2, 16]) for c in "abcdef"],
         [vi("y%d" % i, F, [2, 16]) for i in range(1, 7)],
         [scalar("sqrt2", 1.4142135), scalar("rsqrt2", 0.70710677), scalar("one", 1.0),
          scalar("half", 0.5), scalar("three", 3.0), scalar("k044", 0.044715),
          scalar("k079", 0.7978846), scalar("wrong", 1.5)])


def fuse_ew():
    """A five-op chain over two inputs with scalar constants (one FusedElementwise); a chain
    broken by a graph output, one broken by a value with two readers, and a broadcasting Add."""
    mk = helper.make_node
    nodes = [
        mk("Mul", ["x", "two"], ["t"], name="ew_mul"),
        mk("Add", ["t", "y"], ["u"], name="ew_add"),
        mk("Tanh", ["u"], ["v"], name="ew_tanh"),
        mk("Sub", ["v", "one"], ["w"], name="ew_sub"),
        mk("Clip", ["w", "lo", "hi"], ["out1"], name="ew_clip"),
        mk("Exp", ["x"], ["out2"], name="ex_exp"),
        mk("Neg", ["out2"], ["out3"], name="ex_neg"),
        mk("Sigmoid", ["y"], ["p"], name="two_sig"),
        mk("Mul", ["p", "three"], ["out4"], name="two_mul"),
        mk("Add", ["p", "one"], ["out5"], name="two_add"),
        mk("Add", ["x", "bias"], ["q"], name="bc_add"),
        mk("Relu", ["q"], ["out6"], name="bc_relu"),
    ]
    save("fuse_ew", nodes, [vi("x", F, [2, 3, 4]), vi("y", F, [2, 3, 4])],
         [vi("out%d" % i, F, [2, 3, 4]) for i in range(1, 7)],
         [scalar("two", 2.0), scalar("one", 1.0), scalar("three", 3.0), scalar("lo", -1.5),
          scalar("hi", -0.25), init("bias", rnd(4))])


def passes_b():
    fuse_act()
    fuse_act_neg()
    fuse_residual()
    layernorm()
    gelu()
    fuse_ew()


def global_pool():
    """Become global pools: an AveragePool and a MaxPool whose window is the whole 5x7 input.
    Kept: a window one column short, a padded whole-input window, MaxPool with Indices."""
    nodes = [
        helper.make_node("AveragePool", ["x"], ["y1"], kernel_shape=[5, 7], name="avg_all"),
        helper.make_node("MaxPool", ["x"], ["y2"], kernel_shape=[5, 7], strides=[5, 7],
                         name="max_all"),
        helper.make_node("AveragePool", ["x"], ["y3"], kernel_shape=[5, 6], name="avg_part"),
        helper.make_node("AveragePool", ["x"], ["y4"], kernel_shape=[5, 7], pads=[0, 1, 0, 1],
                         count_include_pad=1, name="avg_pad"),
        helper.make_node("MaxPool", ["x"], ["y5", "i5"], kernel_shape=[5, 7], name="max_ind"),
    ]
    save("global_pool", nodes, [vi("x", F, [2, 3, 5, 7])],
         [vi("y1", F, [2, 3, 1, 1]), vi("y2", F, [2, 3, 1, 1]), vi("y3", F, [2, 3, 1, 2]),
          vi("y4", F, [2, 3, 1, 3]), vi("y5", F, [2, 3, 1, 1]), vi("i5", I64, [2, 3, 1, 1])])


if __name__ == "__main__":
    cleanup()
    passes_a()
    passes_b()
    global_pool()
