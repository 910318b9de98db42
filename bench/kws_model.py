"""kws_model.py - writes a keyword-spotting CNN of about 20 k parameters (random weights) as
ONNX, for bench/emitc_report.sh: input [1,1,49,10] MFCC frames, Conv 10x4/2 (32) + Relu, two
Conv 3x3 (32) + Relu, GlobalAveragePool, Flatten, Gemm to 12 keywords, Softmax. Opset 13.
Usage: /usr/bin/python3 bench/kws_model.py OUT.onnx   (needs numpy and onnx)"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(0)


def init(name, *shape):
    return numpy_helper.from_array((rng.standard_normal(shape) * 0.1).astype(np.float32), name)


inits = [init("w1", 32, 1, 10, 4), init("b1", 32), init("w2", 32, 32, 3, 3), init("b2", 32),
         init("w3", 32, 32, 3, 3), init("b3", 32), init("wf", 12, 32), init("bf", 12)]
nodes = [
    helper.make_node("Conv", ["mfcc", "w1", "b1"], ["c1"], name="conv1", strides=[2, 2],
                     pads=[4, 1, 5, 2]),
    helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
    helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
    helper.make_node("Conv", ["r2", "w3", "b3"], ["c3"], name="conv3", pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["c3"], ["r3"], name="relu3"),
    helper.make_node("GlobalAveragePool", ["r3"], ["gap"], name="gap"),
    helper.make_node("Flatten", ["gap"], ["flat"], name="flatten"),
    helper.make_node("Gemm", ["flat", "wf", "bf"], ["logits"], name="fc", transB=1),
    helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=1),
]
graph = helper.make_graph(
    nodes, "kws", [helper.make_tensor_value_info("mfcc", TensorProto.FLOAT, [1, 1, 49, 10])],
    [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 12])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])
print(sum(int(np.prod(t.dims)) for t in inits), "parameters")
