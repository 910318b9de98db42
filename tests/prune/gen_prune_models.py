#!/usr/bin/python3
# gen_prune_models.py - writes the small models tests/prune/test_prune.sh prunes (onnx helper and
# numpy only, seeded): residual Add, SE-style Mul, Concat, depthwise, grouped Conv, ConvTranspose,
# Pad, pooling, Flatten into Gemm. In every channel group kiln can prune, exactly half of the
# channels have all-zero weights (in every layer producing the group) and zero bias, and the
# BatchNormalizations map 0 to 0 on them, so these channels are exactly 0 everywhere: pruning at
# 0.5 must remove exactly them and leave the outputs unchanged.
# Usage: gen_prune_models.py OUT_DIR
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(13)


class Net:
    def __init__(self, name):
        self.name, self.nodes, self.inits, self.k = name, [], [], 0

    def const(self, base, arr):
        self.k += 1
        n = f"{base}_{self.k}"
        self.inits.append(numpy_helper.from_array(np.asarray(arr, np.float32), n))
        return n

    def node(self, op, ins, **attrs):
        self.k += 1
        out = f"{op.lower()}_{self.k}"
        self.nodes.append(helper.make_node(op, ins, [out], name=f"{op}_{self.k}", **attrs))
        return out

    def conv(self, x, cin, cout, k=3, zero=(), group=1, bias=True, pad=1, stride=1):
        w = rng.standard_normal((cout, cin // group, k, k)).astype(np.float32) * 0.3
        b = rng.standard_normal(cout).astype(np.float32) * 0.1
        w[list(zero)] = 0
        b[list(zero)] = 0
        ins = [x, self.const("w", w)] + ([self.const("b", b)] if bias else [])
        return self.node("Conv", ins, kernel_shape=[k, k], pads=[pad] * 4, group=group,
                         strides=[stride, stride])

    def conv_t(self, x, cin, cout, zero=()):
        w = rng.standard_normal((cin, cout, 2, 2)).astype(np.float32) * 0.3
        b = rng.standard_normal(cout).astype(np.float32) * 0.1
        w[:, list(zero)] = 0
        b[list(zero)] = 0
        return self.node("ConvTranspose", [x, self.const("w", w), self.const("b", b)],
                         kernel_shape=[2, 2], strides=[2, 2])

    def bn(self, x, c, zero=()):
        s = rng.uniform(0.5, 1.5, c).astype(np.float32)
        bias = rng.standard_normal(c).astype(np.float32) * 0.1
        mean = rng.standard_normal(c).astype(np.float32) * 0.1
        var = rng.uniform(0.5, 1.5, c).astype(np.float32)
        bias[list(zero)] = 0  # BN(0) = 0 on the zero channels
        mean[list(zero)] = 0
        return self.node("BatchNormalization", [x] + [self.const(n, a) for n, a in
                         (("s", s), ("bias", bias), ("mean", mean), ("var", var))])

    def gemm(self, x, k, n, zero_cols=()):
        w = rng.standard_normal((n, k)).astype(np.float32) * 0.3  # transB = 1
        b = rng.standard_normal(n).astype(np.float32) * 0.1
        w[list(zero_cols)] = 0
        b[list(zero_cols)] = 0
        return self.node("Gemm", [x, self.const("w", w), self.const("b", b)], transB=1)

    def const_i64(self, base, vals):
        self.k += 1
        n = f"{base}_{self.k}"
        self.inits.append(numpy_helper.from_array(np.asarray(vals, np.int64), n))
        return n

    def save(self, out_dir, x_shape, y, y_shape):
        g = helper.make_graph(
            self.nodes, self.name,
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
            [helper.make_tensor_value_info(y, TensorProto.FLOAT, y_shape)], self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="gen_prune_models.py")
        m.ir_version = 7
        onnx.checker.check_model(m)
        onnx.save(m, os.path.join(out_dir, self.name + ".onnx"))
        x = rng.standard_normal(x_shape).astype(np.float32)
        np.save(os.path.join(out_dir, self.name + ".input.npy"), x)


def half(c, offset=0):
    """Every other channel, starting at offset: the zero ones."""
    return list(range(offset, c, 2))


def residual(out_dir):
    """stem -> two residual blocks (Add) -> MaxPool, Pad -> Conv -> GAP -> Flatten -> Gemm."""
    n = Net("prune_residual")
    z8 = half(8)
    x = n.node("Relu", [n.bn(n.conv("x", 3, 8, zero=z8), 8, z8)])
    for _ in range(2):
        za = half(8, 1)
        h = n.node("Relu", [n.bn(n.conv(x, 8, 8, zero=za), 8, za)])
        h = n.bn(n.conv(h, 8, 8, zero=z8), 8, z8)
        x = n.node("Relu", [n.node("Add", [h, x])])
    x = n.node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
    x = n.node("Pad", [x, n.const_i64("pads", [0, 0, 1, 1, 0, 0, 1, 1])])
    z16 = half(16)
    x = n.node("Relu", [n.conv(x, 8, 16, zero=z16, pad=0)])
    x = n.node("Flatten", [n.node("GlobalAveragePool", [x])], axis=1)
    n.save(out_dir, [1, 3, 12, 12], n.gemm(x, 16, 10), [1, 10])


def concat_dw(out_dir):
    """two branches -> Concat -> Conv -> depthwise Conv (bias) -> SE Mul -> Conv ->
    Flatten of [N, C, 3, 3] -> Gemm (channel c is 9 consecutive Gemm rows)."""
    n = Net("prune_concat_dw")
    za, zb = half(8), half(6, 1)
    a = n.node("Relu", [n.conv("x", 3, 8, zero=za)])
    b = n.node("Relu", [n.bn(n.conv("x", 3, 6, zero=zb), 6, zb)])
    x = n.node("Concat", [a, b], axis=1)
    z12 = half(12)
    x = n.node("Clip", [n.conv(x, 14, 12, zero=z12), n.const("lo", 0.0), n.const("hi", 6.0)])
    x = n.node("Relu", [n.conv(x, 12, 12, group=12, zero=z12)])  # depthwise, zero bias there
    s = n.node("GlobalAveragePool", [x])
    s = n.node("Relu", [n.conv(s, 12, 4, k=1, pad=0, zero=half(4))])
    s = n.node("Sigmoid", [n.conv(s, 4, 12, k=1, pad=0, zero=z12)])
    x = n.node("Mul", [x, s])
    z6 = half(6, 1)
    x = n.node("MaxPool", [n.node("Relu", [n.conv(x, 12, 6, zero=z6)])], kernel_shape=[2, 2],
               strides=[2, 2])
    x = n.node("Flatten", [x], axis=1)
    n.save(out_dir, [1, 3, 6, 6], n.gemm(x, 6 * 3 * 3, 10), [1, 10])


def grouped(out_dir):
    """Conv -> grouped Conv (its input and output groups stay whole) -> Conv -> ConvTranspose
    (pruned as a source) -> AveragePool -> Conv -> Concat with the grouped Conv's output."""
    n = Net("prune_grouped")
    x = n.node("Relu", [n.conv("x", 3, 8)])
    gout = n.node("Relu", [n.conv(x, 8, 8, group=2)])
    z8 = half(8)
    x = n.node("Relu", [n.conv(gout, 8, 8, zero=z8)])
    z4 = half(4, 1)
    x = n.node("LeakyRelu", [n.conv_t(x, 8, 4, zero=z4)], alpha=0.1)
    x = n.node("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2])
    x = n.conv(x, 4, 8, zero=z8)
    n.save(out_dir, [1, 3, 8, 8], n.node("Concat", [x, gout], axis=1), [1, 16, 8, 8])


def sparse_mlp(out_dir):
    """Gemm (transB, 90% zeros, bias) -> Relu -> Gemm (85% zeros, alpha 0.5, beta 2): both
    stored sparse by kiln without a flag. 18 rows: one block of 16 on the vector path, 2 on the
    scalar one. The reference output is computed here with numpy (dense)."""
    n = Net("prune_sparse_mlp")
    w1 = rng.standard_normal((128, 64)).astype(np.float32)
    w1[rng.random(w1.shape) < 0.9] = 0
    b1 = rng.standard_normal(128).astype(np.float32)
    w2 = rng.standard_normal((128, 10)).astype(np.float32)
    w2[rng.random(w2.shape) < 0.85] = 0
    b2 = rng.standard_normal(10).astype(np.float32)
    h = n.node("Gemm", ["x", n.const("w", w1), n.const("b", b1)], transB=1)
    h = n.node("Relu", [h])
    y = n.node("Gemm", [h, n.const("w", w2), n.const("b", b2)], alpha=0.5, beta=2.0)
    n.save(out_dir, [18, 64], y, [18, 10])
    x = np.load(os.path.join(out_dir, n.name + ".input.npy"))
    ref = 0.5 * (np.maximum(x @ w1.T + b1, 0) @ w2) + 2.0 * b2
    np.save(os.path.join(out_dir, n.name + ".output.npy"), ref.astype(np.float32))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    os.makedirs(out, exist_ok=True)
    residual(out)
    concat_dw(out)
    grouped(out)
    sparse_mlp(out)


if __name__ == "__main__":
    main()
