#!/usr/bin/python3
"""gen_hostile.py - writes the hostile-input corpus of tests/hostile/ (small ONNX files, their
external-data companions and a corrupt bundle) that run_hostile.sh feeds to `kiln`; each case's
expected error is in cases.txt. Needs onnx (not torch). The two big cases (a graph of 10^6 nodes,
subgraphs nested 1000 deep) are not committed: `--big DIR` writes them at test time.
Run: /usr/bin/python3 tests/hostile/gen_hostile.py [--big DIR]"""
import os
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "cases")


def vi(name, dtype=TensorProto.FLOAT, shape=(1, 4)):
    return helper.make_tensor_value_info(name, dtype, None if shape is None else list(shape))


def model(nodes, inputs, outputs, inits=(), opset=13, check=True):
    g = helper.make_graph(nodes, "hostile", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="kiln-hostile")
    m.ir_version = 7
    if check:
        onnx.checker.check_model(m)
    return m


def save(name, m):
    with open(os.path.join(CASES, name + ".onnx"), "wb") as f:
        f.write(m.SerializeToString())


def raw_tensor(name, dtype, dims, raw):
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(dims)
    t.raw_data = raw
    return t


def external_tensor(name, dims, location):
    t = TensorProto()
    t.name = name
    t.data_type = TensorProto.FLOAT
    t.dims.extend(dims)
    t.data_location = TensorProto.EXTERNAL
    e = t.external_data.add()
    e.key, e.value = "location", location
    return t


def add_with(init):
    """y = x + w, w an initializer: the cases below put hostile data into w."""
    return model([helper.make_node("Add", ["x", "w"], ["y"], name="add")], [vi("x")], [vi("y")],
                 [init], check=False)


def conv(**attrs):
    w = numpy_helper.from_array(np.ones((2, 1, 3, 3), np.float32), "w")
    n = helper.make_node("Conv", ["x", "w"], ["y"], name="conv", **attrs)
    return model([n], [vi("x", shape=(1, 1, 5, 5))], [vi("y", shape=None)], [w], check=False)


def small_cases():
    os.makedirs(CASES, exist_ok=True)
    # dims whose product overflows 64 bits
    save("overflow_dims", add_with(raw_tensor("w", TensorProto.FLOAT, [1 << 40, 1 << 40], b"")))
    # a 2 GB tensor claimed by a file of a few hundred bytes
    save("claims_2gb", add_with(raw_tensor("w", TensorProto.FLOAT, [1 << 29], b"\0" * 4)))
    typed = TensorProto()
    typed.name, typed.data_type = "w", TensorProto.FLOAT
    typed.dims.append(1 << 29)
    typed.float_data.append(1.0)
    save("claims_2gb_typed", add_with(typed))
    # negative and zero dims
    save("negative_dim", add_with(raw_tensor("w", TensorProto.FLOAT, [-4], b"")))
    save("negative_input_dim", model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                                     [vi("x", shape=(1, -3))], [vi("y", shape=None)],
                                     check=False))
    w0 = numpy_helper.from_array(np.ones((2, 1, 0, 3), np.float32), "w")
    save("zero_kernel", model([helper.make_node("Conv", ["x", "w"], ["y"], name="conv")],
                              [vi("x", shape=(1, 1, 5, 5))], [vi("y", shape=None)], [w0],
                              check=False))
    # cycles and self-loops
    save("cycle", model([helper.make_node("Relu", ["b"], ["a"], name="first"),
                         helper.make_node("Add", ["x", "a"], ["b"], name="second"),
                         helper.make_node("Relu", ["b"], ["y"], name="out")],
                        [vi("x")], [vi("y")], check=False))
    save("self_loop", model([helper.make_node("Add", ["x", "a"], ["a"], name="selfish"),
                             helper.make_node("Relu", ["a"], ["y"], name="out")],
                            [vi("x")], [vi("y")], check=False))
    # dangling and duplicate names
    save("dangling_input", model([helper.make_node("Add", ["x", "nowhere"], ["y"], name="add")],
                                 [vi("x")], [vi("y")], check=False))
    save("dangling_output", model([helper.make_node("Relu", ["x"], ["a"], name="relu")],
                                  [vi("x")], [vi("y")], check=False))
    save("duplicate_output", model([helper.make_node("Relu", ["x"], ["a"], name="one"),
                                    helper.make_node("Neg", ["x"], ["a"], name="two"),
                                    helper.make_node("Relu", ["a"], ["y"], name="out")],
                                   [vi("x")], [vi("y")], check=False))
    save("duplicate_input", model([helper.make_node("Add", ["x", "x"], ["y"], name="add")],
                                  [vi("x"), vi("x")], [vi("y")], check=False))
    # external data leaving the model's folder: "..", an absolute path, a symlink
    save("external_dotdot", add_with(external_tensor("w", [1, 4], "../outside.bin")))
    save("external_absolute", add_with(external_tensor("w", [1, 4], "/etc/passwd")))
    save("external_symlink", add_with(external_tensor("w", [1, 4], "hostile_link.bin")))
    link = os.path.join(CASES, "hostile_link.bin")
    if os.path.lexists(link):
        os.remove(link)
    os.symlink("../gen_hostile.py", link)
    save("external_short", add_with(external_tensor("w", [1 << 28], "external_short.bin")))
    with open(os.path.join(CASES, "external_short.bin"), "wb") as f:
        f.write(b"\0" * 16)
    # wrong attribute types
    n = helper.make_node("Conv", ["x", "w"], ["y"], name="conv")
    n.attribute.append(helper.make_attribute("kernel_shape", 3.5))
    w = numpy_helper.from_array(np.ones((2, 1, 3, 3), np.float32), "w")
    save("attr_wrong_type", model([n], [vi("x", shape=(1, 1, 5, 5))], [vi("y", shape=None)], [w],
                                  check=False))
    n = helper.make_node("Concat", ["x", "x"], ["y"], name="concat")
    n.attribute.append(helper.make_attribute("axis", "one"))
    save("attr_string_for_int", model([n], [vi("x")], [vi("y", shape=None)], check=False))
    # attributes out of range
    save("negative_kernel", conv(kernel_shape=[-3, 3]))
    save("zero_stride", conv(strides=[0, 1]))
    save("negative_pads", conv(pads=[-20, 0, -20, 0]))
    pads = numpy_helper.from_array(np.array([0, -10, 0, 0], np.int64), "pads")
    save("pad_crops_past_input", model([helper.make_node("Pad", ["x", "pads"], ["y"],
                                                         name="crop")],
                                       [vi("x")], [vi("y", shape=None)], [pads], check=False))
    x = vi("x", shape=(1, 1, 5, 5))
    save("pool_pads_past_kernel", model([helper.make_node("MaxPool", ["x"], ["y"], name="pool",
                                                          kernel_shape=[2, 2],
                                                          pads=[20, 20, 20, 20])],
                                        [x], [vi("y", shape=None)], check=False))
    save("huge_dilation", conv(dilations=[1 << 40, 1]))
    save("concat_axis_out_of_range", model([helper.make_node("Concat", ["x", "x"], ["y"],
                                                             name="concat", axis=7)],
                                           [vi("x")], [vi("y", shape=None)], check=False))
    # opset 0 and from the future
    relu = [helper.make_node("Relu", ["x"], ["y"], name="relu")]
    save("opset_0", model(relu, [vi("x")], [vi("y")], opset=0, check=False))
    save("opset_future", model(relu, [vi("x")], [vi("y")], opset=99, check=False))
    # a Loop with a trip count of 2^63 - 1 and a scan output: its output cannot exist
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"], name="keep"),
         helper.make_node("Relu", ["x"], ["scan"], name="scan_relu")],
        "body", [vi("i", TensorProto.INT64, ()), vi("cond_in", TensorProto.BOOL, ())],
        [vi("cond_out", TensorProto.BOOL, ()), vi("scan")])
    trip = numpy_helper.from_array(np.array(2**63 - 1, np.int64), "trip")
    cond = numpy_helper.from_array(np.array(True), "cond")
    save("loop_trip_2_63", model([helper.make_node("Loop", ["trip", "cond"], ["y"], name="loop",
                                                   body=body)],
                                 [vi("x")], [vi("y", shape=None)], [trip, cond], check=False))
    # a ConstantOfShape whose shape is huge (shapes.onnx with one byte changed is the real-world
    # form; this is the self-contained one) feeding a run-time node
    shape = numpy_helper.from_array(np.array([2667577348], np.int64), "shape")
    save("constant_of_shape_huge", model(
        [helper.make_node("ConstantOfShape", ["shape"], ["big"], name="fill"),
         helper.make_node("ReduceSum", ["big"], ["s"], name="sum", keepdims=0),
         helper.make_node("Add", ["x", "s"], ["y"], name="add")],
        [vi("x")], [vi("y", shape=None)], [shape], check=False))
    # not protobuf at all, and truncated
    with open(os.path.join(CASES, "not_protobuf.onnx"), "wb") as f:
        f.write(b"\xff" * 64)
    good = model(relu, [vi("x")], [vi("y")]).SerializeToString()
    with open(os.path.join(CASES, "truncated.onnx"), "wb") as f:
        f.write(good[:len(good) // 2])
    # an input file claiming a huge shape
    with open(os.path.join(CASES, "huge_input.npy"), "wb") as f:
        hdr = b"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4000000000000), }"
        hdr += b" " * (118 - len(hdr)) + b"\n"
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr + b"\0" * 16)
    save("relu", model(relu, [vi("x")], [vi("y")]))
    np.save(os.path.join(CASES, "x_1x4.npy"), np.ones((1, 4), np.float32))
    # the case: models/shapes.onnx with one byte changed, so that its ConstantOfShape
    # makes [2667577348] (the file still passes onnx.checker)
    src = open(os.path.join(HERE, "..", "..", "models", "shapes.onnx"), "rb").read()
    first = onnx.load_from_string(src).graph.node[0].attribute[0].t.raw_data
    at = src.index(first) + 3
    with open(os.path.join(CASES, "shapes_one_byte.onnx"), "wb") as f:
        f.write(src[:at] + b"\x9f" + src[at + 1:])
    onnx.checker.check_model(onnx.load(os.path.join(CASES, "shapes_one_byte.onnx")))


def write_varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(num, payload):
    return write_varint(num << 3 | 2) + write_varint(len(payload)) + payload


def many_nodes(path, n):
    """A chain of n Relu nodes, encoded directly (the onnx helper takes minutes for 10^6)."""
    nodes = bytearray()
    prev = b"x"
    for i in range(n):
        out = b"y" if i == n - 1 else b"t%d" % i
        nodes += field(1, field(1, prev) + field(2, out) + field(3, b"n%d" % i) +
                       field(4, b"Relu"))
        prev = out
    g = model([helper.make_node("Relu", ["x"], ["y"])], [vi("x")], [vi("y")])
    g.graph.ClearField("node")
    head = g.SerializeToString()
    # the graph is field 7 of ModelProto: re-encode it with the nodes prepended
    gbytes = g.graph.SerializeToString()
    rest = head.replace(field(7, gbytes), b"")
    with open(path, "wb") as f:
        f.write(rest + field(7, bytes(nodes) + gbytes))


def nested(path, depth):
    """If inside If, depth deep (then-branches nest, else-branches are one Identity), encoded
    directly: building it with the onnx helper copies every level into the next (minutes)."""
    def varint_field(num, v):
        return write_varint(num << 3) + write_varint(v)

    def graph(node, name, out):
        return field(1, node) + field(2, name.encode()) + field(12, vi(out).SerializeToString())

    def node(op, inputs, out, name, attrs=b""):
        return (b"".join(field(1, i.encode()) for i in inputs) + field(2, out.encode()) +
                field(3, name.encode()) + field(4, op.encode()) + attrs)

    def graph_attr(name, g):
        return field(5, field(1, name.encode()) + field(6, g) + varint_field(20, 5))

    def leaf(tag):
        return graph(node("Identity", ["x"], "o" + tag, "id" + tag), "g" + tag, "o" + tag)

    sub = leaf("t0")
    for level in range(1, depth + 1):
        name = "y" if level == depth else "o%d" % level
        attrs = graph_attr("then_branch", sub) + graph_attr("else_branch", leaf("e%d" % level))
        ifn = node("If", ["c"], name, "if%d" % level, attrs)
        if level == depth:
            top = ifn
        else:
            sub = graph(ifn, "b%d" % level, name)
    m = model([helper.make_node("Identity", ["x"], ["y"])],
              [vi("x"), vi("c", TensorProto.BOOL, ())], [vi("y")], check=False)
    m.graph.ClearField("node")
    gbytes = m.graph.SerializeToString()
    head = m.SerializeToString().replace(field(7, gbytes), b"")
    with open(path, "wb") as f:
        f.write(head + field(7, field(1, top) + gbytes))


def bundle_outside(src, dst):
    """A bundle whose first section points past its end, with the checksum made valid again
    (docs/bundle-format.md: section table offset at byte 40, entries of 32 bytes holding the
    section's offset at +8; CRC-32 of bytes [0, 24) and [28, end) at byte 24)."""
    import zlib
    b = bytearray(open(src, "rb").read())
    table = struct.unpack_from("<Q", b, 40)[0]
    struct.pack_into("<Q", b, table + 8, len(b) + 4096)
    struct.pack_into("<I", b, 24, zlib.crc32(bytes(b[28:]), zlib.crc32(bytes(b[:24]))))
    with open(dst, "wb") as f:
        f.write(b)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--bundle":
        bundle_outside(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "--big":
        sys.setrecursionlimit(10000)
        many_nodes(os.path.join(sys.argv[2], "nodes_1e6.onnx"), 10**6)
        nested(os.path.join(sys.argv[2], "nested_1000.onnx"), 1000)
    else:
        small_cases()
