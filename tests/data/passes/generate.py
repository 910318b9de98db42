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


if __name__ == "__main__":
    cleanup()
