"""generate.py - small ONNX models exercising If, Loop and Scan lowering (blocks, outer-scope
values, nested control flow, run-time trip counts, early exit), with expected outputs computed
here with numpy. Run with Debian's interpreter: /usr/bin/python3 tests/data/control/generate.py
Writes NAME.onnx, NAME.input.K.npy and NAME.output.K.npy next to this file."""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
F, I64, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def vi(name, t, shape):
    return helper.make_tensor_value_info(name, t, shape)


def const(name, arr):
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(arr, name))


def save(name, graph, opset, inputs, outputs):
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="kiln-control-tests")
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(HERE, name + ".onnx"))
    for k, a in enumerate(inputs):
        np.save(os.path.join(HERE, "%s.input.%d.npy" % (name, k)), a)
    for k, a in enumerate(outputs):
        np.save(os.path.join(HERE, "%s.output.%d.npy" % (name, k)), a)


def loop_scan():
    """Loop with a constant trip count: y += x (x from the outer scope), scan out y * 2."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("Add", ["y_in", "x"], ["y_out"]),
         const("two", np.array([2.0], np.float32)),
         helper.make_node("Mul", ["y_out", "two"], ["s"])],
        "body",
        [vi("i", I64, []), vi("cond_in", B, []), vi("y_in", F, [3])],
        [vi("cond_out", B, []), vi("y_out", F, [3]), vi("s", F, [3])])
    g = helper.make_graph(
        [const("M", np.array(4, np.int64)),
         helper.make_node("Loop", ["M", "", "y0"], ["y", "scan"], body=body)],
        "loop_scan", [vi("x", F, [3]), vi("y0", F, [3])],
        [vi("y", F, [3]), vi("scan", F, [4, 3])])
    x = np.array([1, 2, 3], np.float32)
    y0 = np.array([0.5, -1, 2], np.float32)
    ys, y = [], y0.copy()
    for _ in range(4):
        y = y + x
        ys.append(y * 2)
    save("loop_scan", g, 13, [x, y0], [y, np.stack(ys)])


def loop_early_exit():
    """Run-time trip count and a condition computed in the body: y = y * 2 while i < 2."""
    body = helper.make_graph(
        [const("lim", np.array(2, np.int64)),
         helper.make_node("Less", ["i", "lim"], ["cond_out"]),
         helper.make_node("Add", ["y_in", "y_in"], ["y_out"])],
        "body",
        [vi("i", I64, []), vi("cond_in", B, []), vi("y_in", F, [2, 2])],
        [vi("cond_out", B, []), vi("y_out", F, [2, 2])])
    g = helper.make_graph(
        [helper.make_node("Loop", ["M", "c", "y0"], ["y"], body=body)],
        "loop_early_exit", [vi("M", I64, []), vi("c", B, []), vi("y0", F, [2, 2])],
        [vi("y", F, [2, 2])])
    y0 = np.arange(4, dtype=np.float32).reshape(2, 2) - 1
    # iterations i = 0, 1, 2 run (the condition is checked after each); M = 10 bounds it
    save("loop_early_exit", g, 13, [np.array(10, np.int64), np.array(True), y0], [y0 * 8])


def if_runtime_nested():
    """If on a run-time condition; the then branch holds a nested If on a second condition."""
    inner_then = helper.make_graph([helper.make_node("Add", ["a", "b"], ["r1"])], "inner_then",
                                   [], [vi("r1", F, [2])])
    inner_else = helper.make_graph([helper.make_node("Sub", ["a", "b"], ["r2"])], "inner_else",
                                   [], [vi("r2", F, [2])])
    then_b = helper.make_graph(
        [helper.make_node("If", ["c2"], ["t"], then_branch=inner_then, else_branch=inner_else),
         helper.make_node("Relu", ["t"], ["tr"])],
        "then_b", [], [vi("tr", F, [2])])
    else_b = helper.make_graph([helper.make_node("Mul", ["a", "b"], ["e"])], "else_b", [],
                               [vi("e", F, [2])])
    g = helper.make_graph(
        [helper.make_node("If", ["c1"], ["out"], then_branch=then_b, else_branch=else_b)],
        "if_runtime_nested",
        [vi("c1", B, []), vi("c2", B, []), vi("a", F, [2]), vi("b", F, [2])],
        [vi("out", F, [2])])
    a = np.array([1.5, -2], np.float32)
    b = np.array([0.5, 3], np.float32)
    for name, c1, c2, want in [("if_then_then", True, True, np.maximum(a + b, 0)),
                               ("if_then_else", True, False, np.maximum(a - b, 0)),
                               ("if_else", False, True, a * b)]:
        save(name, g, 13, [np.array(c1), np.array(c2), a, b], [want])


def scan_reverse_axis():
    """Scan (opset 11) over axis 1 in reverse, with a running sum state and a scan output."""
    body = helper.make_graph(
        [helper.make_node("Add", ["s_in", "x_t"], ["s_out"]),
         helper.make_node("Neg", ["s_out"], ["o_t"])],
        "body", [vi("s_in", F, [2]), vi("x_t", F, [2])],
        [vi("s_out", F, [2]), vi("o_t", F, [2])])
    g = helper.make_graph(
        [helper.make_node("Scan", ["s0", "x"], ["s", "o"], body=body, num_scan_inputs=1,
                          scan_input_axes=[1], scan_input_directions=[1])],
        "scan_reverse_axis", [vi("s0", F, [2]), vi("x", F, [2, 3])],
        [vi("s", F, [2]), vi("o", F, [3, 2])])
    s0 = np.array([1, -1], np.float32)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    s, outs = s0.copy(), []
    for t in range(3):
        s = s + x[:, 2 - t]
        outs.append(-s)
    save("scan_reverse_axis", g, 11, [s0, x], [s, np.stack(outs)])


def loop_in_loop():
    """A Loop whose body holds another Loop: y += 1 three times, done twice."""
    inner = helper.make_graph(
        [helper.make_node("Identity", ["ic"], ["ico"]),
         const("one", np.array([1.0], np.float32)),
         helper.make_node("Add", ["z_in", "one"], ["z_out"])],
        "inner", [vi("j", I64, []), vi("ic", B, []), vi("z_in", F, [1])],
        [vi("ico", B, []), vi("z_out", F, [1])])
    outer = helper.make_graph(
        [helper.make_node("Identity", ["oc"], ["oco"]),
         const("three", np.array(3, np.int64)),
         helper.make_node("Loop", ["three", "", "y_in"], ["y_out"], body=inner)],
        "outer", [vi("i", I64, []), vi("oc", B, []), vi("y_in", F, [1])],
        [vi("oco", B, []), vi("y_out", F, [1])])
    g = helper.make_graph(
        [const("two", np.array(2, np.int64)),
         helper.make_node("Loop", ["two", "", "y0"], ["y"], body=outer)],
        "loop_in_loop", [vi("y0", F, [1])], [vi("y", F, [1])])
    save("loop_in_loop", g, 13, [np.array([0.25], np.float32)],
         [np.array([6.25], np.float32)])


def refused():
    """Models kiln must refuse with a clear error (tests/cli/test_cli.sh): a loop-carried value
    that grows every iteration, and If branches of different shapes on a run-time condition.
    No references: they never run; they live in tests/data/refused."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("Concat", ["y_in", "y_in"], ["y_out"], axis=0)],
        "body", [vi("i", I64, []), vi("cond_in", B, []), vi("y_in", F, [None])],
        [vi("cond_out", B, []), vi("y_out", F, [None])])
    g = helper.make_graph(
        [const("M", np.array(3, np.int64)),
         helper.make_node("Loop", ["M", "", "y0"], ["y"], body=body, name="grow")],
        "refused_loop_grows", [vi("y0", F, [2])], [vi("y", F, [None])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, os.path.join(HERE, "..", "refused", "refused_loop_grows.onnx"))
    then_b = helper.make_graph([const("t", np.zeros(2, np.float32))], "then_b", [],
                               [vi("t", F, [2])])
    else_b = helper.make_graph([const("e", np.zeros(3, np.float32))], "else_b", [],
                               [vi("e", F, [3])])
    g = helper.make_graph(
        [helper.make_node("If", ["c"], ["out"], then_branch=then_b, else_branch=else_b,
                          name="pick")],
        "refused_if_shapes", [vi("c", B, [])], [vi("out", F, [None])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, os.path.join(HERE, "..", "refused", "refused_if_shapes.onnx"))


if __name__ == "__main__":
    refused()
    loop_scan()
    loop_early_exit()
    if_runtime_nested()
    scan_reverse_axis()
    loop_in_loop()
