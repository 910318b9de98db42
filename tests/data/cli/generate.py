#!/usr/bin/python3
"""generate.py - writes the tiny models and .npy files that tests/cli/test_cli.sh uses.
Run with /usr/bin/python3 (needs the onnx and numpy packages) from any folder; the files are
committed, so the tests themselves need neither."""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def save_model(name, nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    m = helper.make_model(g, producer_name="kiln-tests",
                          opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, os.path.join(HERE, name + ".onnx"))


# x[N,6] -> Reshape(x, [-1, 3]) -> "y";  Identity(x) -> "out/z" (a name that needs sanitising)
save_model(
    "reshape",
    [helper.make_node("Reshape", ["x", "shape"], ["y"], name="reshape"),
     helper.make_node("Identity", ["x"], ["out/z"], name="copy")],
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 6])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, None),
     helper.make_tensor_value_info("out/z", TensorProto.FLOAT, None)],
    [numpy_helper.from_array(np.array([-1, 3], np.int64), "shape")])

# a: float32[2,3], b: int64[2] -> Identity each
save_model(
    "two_inputs",
    [helper.make_node("Identity", ["a"], ["a_out"], name="ia"),
     helper.make_node("Identity", ["b"], ["b_out"], name="ib")],
    [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3]),
     helper.make_tensor_value_info("b", TensorProto.INT64, [2])],
    [helper.make_tensor_value_info("a_out", TensorProto.FLOAT, None),
     helper.make_tensor_value_info("b_out", TensorProto.INT64, None)])

# an op kiln does not have, in a custom domain
g = helper.make_graph(
    [helper.make_node("Identity", ["x"], ["t"], name="first"),
     helper.make_node("Warp", ["t"], ["y"], name="warp_1", domain="com.example")],
    "unsupported",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
m = helper.make_model(g, producer_name="kiln-tests",
                      opset_imports=[helper.make_opsetid("", 13),
                                     helper.make_opsetid("com.example", 1)])
m.ir_version = 8
onnx.save(m, os.path.join(HERE, "unsupported.onnx"))

# x[2,6] -> Reshape(x, shape) where the target is a graph input: it must be fixed at compile
# time (--input-value shape=shape_4x3.npy)
save_model(
    "reshape_input",
    [helper.make_node("Reshape", ["x", "shape"], ["y"], name="reshape")],
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 6]),
     helper.make_tensor_value_info("shape", TensorProto.INT64, [2])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
np.save(os.path.join(HERE, "shape_4x3.npy"), np.array([4, 3], np.int64))

x = np.arange(12, dtype=np.float32).reshape(2, 6)
np.save(os.path.join(HERE, "x_2x6.npy"), x)
np.save(os.path.join(HERE, "y_expected.npy"), x.reshape(-1, 3))
np.save(os.path.join(HERE, "y_4x3.npy"), x.reshape(4, 3))
np.save(os.path.join(HERE, "x_2x6_i64.npy"), x.astype(np.int64))
np.save(os.path.join(HERE, "x_12.npy"), x.reshape(12))
np.save(os.path.join(HERE, "x_1x4.npy"), np.ones((1, 4), np.float32))
np.save(os.path.join(HERE, "x_fortran.npy"), np.asfortranarray(x))
np.save(os.path.join(HERE, "a.npy"), np.ones((2, 3), np.float32))
np.save(os.path.join(HERE, "b.npy"), np.array([7, -8], np.int64))
