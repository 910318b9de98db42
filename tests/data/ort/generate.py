"""generate.py - small ONNX models whose references come from ONNX Runtime 1.30 (ort_refs.js,
onnxruntime-node): nodes with many inputs and If branches capturing many outer values
(../control), run-time operands and lazily checked If branches (../control for static shapes,
../dyn for run-time extents). Run by hand with Debian's interpreter:
  /usr/bin/python3 tests/data/ort/generate.py [ORT_PACKAGE_DIR]
(default /root/.cache/kiln-ort/node_modules/onnxruntime-node); the tests read the committed
.onnx and .npy files and need neither ONNX Runtime nor this script."""
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
CONTROL = os.path.join(HERE, "..", "control")
DYN = os.path.join(HERE, "..", "dyn")
F, I64, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL
ORT = sys.argv[1] if len(sys.argv) > 1 else \
    "/root/.cache/kiln-ort/node_modules/onnxruntime-node"
written = []


def vi(name, t, shape):
    return helper.make_tensor_value_info(name, t, shape)


def const(name, arr):
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(arr, name))


def save(folder, name, graph, opset, inputs):
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="kiln-ort-tests")
    m.ir_version = 8
    onnx.checker.check_model(m)
    path = os.path.join(folder, name + ".onnx")
    onnx.save(m, path)
    for k, a in enumerate(inputs):
        np.save(os.path.join(folder, "%s.input.%d.npy" % (name, k)), a)
    written.append(path)


def fanout(n, src):
    """n outer values v0..v{n-1} = src * c_k + k: distinct, computed at run time."""
    nodes = []
    for k in range(n):
        nodes += [const("c%d" % k, np.array(1.0 + 0.01 * k, np.float32)),
                  const("d%d" % k, np.array(float(k), np.float32)),
                  helper.make_node("Mul", [src, "c%d" % k], ["m%d" % k]),
                  helper.make_node("Add", ["m%d" % k, "d%d" % k], ["v%d" % k])]
    return nodes, ["v%d" % k for k in range(n)]


def if_capture100(name, cond):
    """An If whose branches read 100 values of the outer graph (a voice-activity model's If
    captures 72): Sum of all 100 in one branch, Max of all 100 in the other."""
    nodes, vs = fanout(100, "x")
    then_g = helper.make_graph([helper.make_node("Sum", vs, ["t"])], "then", [],
                               [vi("t", F, [4])])
    else_g = helper.make_graph([helper.make_node("Max", vs, ["e"])], "else", [],
                               [vi("e", F, [4])])
    g = helper.make_graph(
        nodes + [helper.make_node("If", ["cond"], ["y"], then_branch=then_g,
                                  else_branch=else_g)],
        name, [vi("cond", B, []), vi("x", F, [4])], [vi("y", F, [4])])
    x = np.array([0.5, -1.25, 2, 3.5], np.float32)
    save(CONTROL, name, g, 13, [np.array(cond), x])


def concat100():
    """Concat of 100 run-time inputs (a node of 101 tensors), then Sum of 100 of them."""
    nodes, vs = fanout(100, "x")
    g = helper.make_graph(
        nodes + [helper.make_node("Concat", vs, ["y"], axis=0),
                 helper.make_node("Sum", vs, ["s"])],
        "concat100", [vi("x", F, [2, 3])], [vi("y", F, [200, 3]), vi("s", F, [2, 3])])
    x = np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5
    save(CONTROL, "concat100", g, 13, [x])


def clip_runtime_bounds():
    """A mel-spectrogram front end's range limit, Clip(x, ReduceMax(x) - 80) (log-power in dB),
    and a MatMul whose result is clipped to bounds given as inputs (not a fusable epilogue)."""
    g = helper.make_graph(
        [helper.make_node("ReduceMax", ["x"], ["mx"], keepdims=0),
         const("range", np.array(80, np.float32)),
         helper.make_node("Sub", ["mx", "range"], ["floor"]),
         helper.make_node("Clip", ["x", "floor"], ["y"]),
         helper.make_node("MatMul", ["x", "w"], ["p"]),
         helper.make_node("Clip", ["p", "lo", "hi"], ["z"]),
         helper.make_node("Clip", ["p", "", "hi"], ["u"])],
        "clip_runtime_bounds",
        [vi("x", F, [1, 8, 16]), vi("w", F, [16, 4]), vi("lo", F, []), vi("hi", F, [])],
        [vi("y", F, [1, 8, 16]), vi("z", F, [1, 8, 4]), vi("u", F, [1, 8, 4])])
    rng = np.random.default_rng(3)
    x = rng.uniform(-150, 10, size=(1, 8, 16)).astype(np.float32)
    w = rng.uniform(-0.1, 0.1, size=(16, 4)).astype(np.float32)
    save(CONTROL, "clip_runtime_bounds", g, 13,
         [x, w, np.array(-1.5, np.float32), np.array(2.0, np.float32)])


def topk_runtime_k():
    """TopK with k given at run time (values and indices of run-time extent along the axis),
    the values then through Relu and the indices through Gather."""
    g = helper.make_graph(
        [helper.make_node("TopK", ["x", "k"], ["v", "i"], axis=1),
         helper.make_node("Relu", ["v"], ["r"]),
         helper.make_node("Gather", ["w", "i"], ["g"], axis=0)],
        "topk_runtime_k", [vi("x", F, [2, 7]), vi("k", I64, [1]), vi("w", F, [7])],
        [vi("r", F, [2, None]), vi("i", I64, [2, None]), vi("g", F, [2, None])])
    x = np.array([[0.5, -1, 3, 2, 2, -4, 1], [6, -2, 0, 5, 1, 1, -3]], np.float32)
    w = np.arange(7, dtype=np.float32) * 10 - 20
    save(DYN, "topk_runtime_k", g, 13, [x, np.array([3], np.int64), w])


def if_untaken_invalid(name, cond, folder, cond_as_input):
    """An If whose else branch cannot run for the given input (a sample-rate switch: the other
    rate's Reshape does not fit x's 512 samples): only the then branch is ever taken."""
    then_g = helper.make_graph(
        [const("s1", np.array([4, 128], np.int64)),
         helper.make_node("Reshape", ["x", "s1"], ["t"]),
         helper.make_node("ReduceMean", ["t"], ["a"], axes=[1], keepdims=0)],
        "then", [], [vi("a", F, [4])])
    else_g = helper.make_graph(
        [const("s2", np.array([3, 256], np.int64)),
         helper.make_node("Reshape", ["x", "s2"], ["e"]),
         helper.make_node("ReduceMean", ["e"], ["b"], axes=[1], keepdims=0)],
        "else", [], [vi("b", F, [3])])
    nodes = [helper.make_node("If", ["cond"], ["y"], name="rate_switch", then_branch=then_g,
                              else_branch=else_g)]
    inputs = [vi("x", F, [512])]
    x = np.linspace(-1, 1, 512, dtype=np.float32)
    feeds = [x]
    if cond_as_input:
        inputs = [vi("cond", B, [])] + inputs
        feeds = [np.array(cond)] + feeds
        # the other condition, for the test that the run taking the refused branch fails
        np.save(os.path.join(folder, name + ".cond_other.npy"), np.array(not cond))
    else:
        nodes = [const("cond", np.array(cond))] + nodes
    g = helper.make_graph(nodes, name, inputs, [vi("y", F, [None])])
    save(folder, name, g, 13, feeds)


def main():
    topk_runtime_k()
    if_untaken_invalid("if_untaken_invalid_const", True, CONTROL, False)
    if_untaken_invalid("if_untaken_invalid_runtime", True, CONTROL, True)
    clip_runtime_bounds()
    if_capture100("if_capture100", True)
    if_capture100("if_capture100_else", False)
    concat100()
    subprocess.run(["node", os.path.join(HERE, "ort_refs.js"), ORT] + written, check=True)


if __name__ == "__main__":
    main()
