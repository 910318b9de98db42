"""generate.py - small ONNX models whose tensor extents depend on the input data (NonZero,
Compress, Unique, NonMaxSuppression, a Loop that stops early) and flow on through the ops that
take run-time extents, with expected outputs computed here with numpy. Also writes the refusal
cases under ../refused. Run with Debian's interpreter:
    /usr/bin/python3 tests/data/dyn/generate.py
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


def model(graph, opset=13):
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="kiln-dyn-tests")
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def save(name, graph, inputs, outputs, opset=13):
    onnx.save(model(graph, opset), os.path.join(HERE, name + ".onnx"))
    for k, a in enumerate(inputs):
        np.save(os.path.join(HERE, "%s.input.%d.npy" % (name, k)), a)
    for k, a in enumerate(outputs):
        np.save(os.path.join(HERE, "%s.output.%d.npy" % (name, k)), np.ascontiguousarray(a))


def nonzero_chain():
    """torch.nonzero's export (NonZero -> Transpose) feeding Cast, a chain of elementwise ops
    (which -O2 must not fuse: FusedElementwise cannot take run-time extents), ReduceMax."""
    g = helper.make_graph(
        [helper.make_node("NonZero", ["x"], ["nz"]),
         helper.make_node("Transpose", ["nz"], ["idx"], perm=[1, 0]),
         helper.make_node("Cast", ["idx"], ["f"], to=F),
         const("two", np.array(2.0, np.float32)),
         helper.make_node("Mul", ["f", "two"], ["f2"]),
         helper.make_node("Add", ["f2", "two"], ["f3"]),
         helper.make_node("Sub", ["f3", "two"], ["y"]),
         helper.make_node("ReduceMax", ["f"], ["m"], axes=[0], keepdims=1)],
        "nonzero_chain", [vi("x", F, [3, 4])],
        [vi("y", F, [None, 2]), vi("m", F, [1, 2])])
    x = np.array([[0, 1.5, 0, 0], [2, 0, 0, -1], [0, 0, 0, 3]], np.float32)
    idx = np.transpose(np.array(np.nonzero(x), np.int64)).astype(np.float32)
    save("nonzero_chain", g, [x], [idx * 2 + 2 - 2, idx.max(axis=0, keepdims=True)])


def mask_select():
    """PyTorch's boolean-mask indexing x[x > t] as exported: Greater, NonZero, Transpose,
    GatherND."""
    g = helper.make_graph(
        [helper.make_node("Greater", ["x", "t"], ["m"]),
         helper.make_node("NonZero", ["m"], ["nz"]),
         helper.make_node("Transpose", ["nz"], ["idx"], perm=[1, 0]),
         helper.make_node("GatherND", ["x", "idx"], ["y"])],
        "mask_select", [vi("x", F, [3, 5]), vi("t", F, [])], [vi("y", F, [None])])
    x = np.array([[0.5, -1, 2, 0, 3], [1, 1, -2, 4, 0], [-1, -1, -1, 6, 0.25]], np.float32)
    t = np.array(0.75, np.float32)
    save("mask_select", g, [x, t], [x[x > t]])


def compress_runtime():
    """Compress along axis 0 with a run-time condition, then Relu."""
    g = helper.make_graph(
        [helper.make_node("Compress", ["x", "c"], ["k"], axis=0),
         helper.make_node("Relu", ["k"], ["y"])],
        "compress_runtime", [vi("x", F, [5, 3]), vi("c", B, [4])], [vi("y", F, [None, 3])])
    x = (np.arange(15, dtype=np.float32).reshape(5, 3) - 6)
    c = np.array([True, False, True, True])
    save("compress_runtime", g, [x, c], [np.maximum(np.compress(c, x, axis=0), 0)])


def unique_runtime():
    """Unique (sorted, flattened) of a run-time input: all four outputs."""
    g = helper.make_graph(
        [helper.make_node("Unique", ["x"], ["y", "ind", "inv", "cnt"], sorted=1)],
        "unique_runtime", [vi("x", I64, [9])],
        [vi("y", I64, [None]), vi("ind", I64, [None]), vi("inv", I64, [9]),
         vi("cnt", I64, [None])])
    x = np.array([4, 1, 4, 7, 1, 1, 9, 7, 0], np.int64)
    y, ind, inv, cnt = np.unique(x, return_index=True, return_inverse=True, return_counts=True)
    save("unique_runtime", g, [x], [y, ind.astype(np.int64), inv.astype(np.int64),
                                    cnt.astype(np.int64)])


def nms_reference(boxes, scores, max_per_class, iou_thr, score_thr):
    """Greedy NMS on corner boxes [B, N, 4] and scores [B, C, N]: [batch, class, box]."""
    def iou(a, b):
        y1, x1 = max(min(a[0], a[2]), min(b[0], b[2])), max(min(a[1], a[3]), min(b[1], b[3]))
        y2, x2 = min(max(a[0], a[2]), max(b[0], b[2])), min(max(a[1], a[3]), max(b[1], b[3]))
        inter = max(0.0, y2 - y1) * max(0.0, x2 - x1)
        area = lambda r: abs(r[2] - r[0]) * abs(r[3] - r[1])
        union = area(a) + area(b) - inter
        return inter / union if union > 0 else 0.0
    out = []
    for b in range(boxes.shape[0]):
        for c in range(scores.shape[1]):
            s = scores[b, c]
            order = sorted([i for i in range(len(s)) if s[i] > score_thr],
                           key=lambda i: (-s[i], i))
            kept = []
            for i in order:
                if len(kept) >= max_per_class:
                    break
                if all(iou(boxes[b, i], boxes[b, k]) <= iou_thr for k in kept):
                    kept.append(i)
                    out.append([b, c, i])
    return np.array(out, np.int64).reshape(-1, 3)


def nms_gather():
    """A detector's tail: NonMaxSuppression on run-time boxes and scores, then the selected
    box indices gather the boxes (Gather on the data-dependent indices)."""
    g = helper.make_graph(
        [const("max_out", np.array([3], np.int64)),
         const("iou", np.array([0.5], np.float32)),
         const("thr", np.array([0.1], np.float32)),
         helper.make_node("NonMaxSuppression", ["boxes", "scores", "max_out", "iou", "thr"],
                          ["sel"]),
         const("two", np.array(2, np.int64)),
         helper.make_node("Gather", ["sel", "two"], ["box_idx"], axis=1),
         const("zero", np.array(0, np.int64)),
         helper.make_node("Gather", ["boxes", "zero"], ["boxes0"], axis=0),
         helper.make_node("Gather", ["boxes0", "box_idx"], ["picked"], axis=0)],
        "nms_gather", [vi("boxes", F, [1, 6, 4]), vi("scores", F, [1, 2, 6])],
        [vi("sel", I64, [None, 3]), vi("picked", F, [None, 4])])
    rng = np.random.default_rng(7)
    corners = rng.uniform(0, 10, size=(6, 2)).astype(np.float32)
    boxes = np.concatenate([corners, corners + rng.uniform(1, 4, size=(6, 2))], axis=1)
    boxes[1] = boxes[0] + 0.1  # overlaps box 0
    boxes = boxes[None].astype(np.float32)
    scores = rng.uniform(0, 1, size=(1, 2, 6)).astype(np.float32)
    scores[0, 1, :3] = 0.05  # below the threshold
    sel = nms_reference(boxes, scores, 3, 0.5, 0.1)
    save("nms_gather", g, [boxes, scores], [sel, boxes[0][sel[:, 2]]])


def nms_postprocess():
    """A detector's post-processing as exporters write it: NMS, then the selected boxes with
    their class as [k, 5] through Gather, Cast, Unsqueeze and Concat, and the class ids back
    through Squeeze."""
    boxes = np.array([[[0, 0, 1, 1], [0, 0.1, 1, 1.1], [2, 2, 3, 3], [2, 2.05, 3, 3],
                       [5, 5, 6, 7]]], np.float32)
    scores = np.array([[[0.9, 0.8, 0.3, 0.7, 0.05], [0.1, 0.2, 0.95, 0.4, 0.6]]], np.float32)
    g = helper.make_graph(
        [const("max_out", np.array([4], np.int64)),
         const("iou", np.array([0.5], np.float32)),
         helper.make_node("NonMaxSuppression", ["boxes", "scores", "max_out", "iou"], ["sel"]),
         const("one", np.array(1, np.int64)),
         const("two", np.array(2, np.int64)),
         const("zero", np.array(0, np.int64)),
         const("axis1", np.array([1], np.int64)),
         helper.make_node("Gather", ["sel", "two"], ["box_idx"], axis=1),
         helper.make_node("Gather", ["sel", "one"], ["cls"], axis=1),
         helper.make_node("Gather", ["boxes", "zero"], ["boxes0"], axis=0),
         helper.make_node("Gather", ["boxes0", "box_idx"], ["picked"], axis=0),
         helper.make_node("Cast", ["cls"], ["cls_f"], to=F),
         helper.make_node("Unsqueeze", ["cls_f", "axis1"], ["cls_col"]),
         helper.make_node("Concat", ["picked", "cls_col"], ["dets"], axis=1),
         helper.make_node("Squeeze", ["cls_col", "axis1"], ["cls_back"])],
        "nms_postprocess", [vi("boxes", F, [1, 5, 4]), vi("scores", F, [1, 2, 5])],
        [vi("dets", F, [None, 5]), vi("cls_back", F, [None])])
    sel = nms_reference(boxes, scores, 4, 0.5, -np.inf)
    cls = sel[:, 1].astype(np.float32)
    dets = np.concatenate([boxes[0][sel[:, 2]], cls[:, None]], axis=1)
    save("nms_postprocess", g, [boxes, scores], [dets, cls])


def loop_scan_early():
    """A Loop whose condition stops it before its trip count: the scan output holds the
    iterations that ran (bounded by M = 6)."""
    body = helper.make_graph(
        [helper.make_node("Add", ["y_in", "x"], ["y_out"]),
         helper.make_node("ReduceSum", ["y_out"], ["y_out_sum"], keepdims=0),
         helper.make_node("Less", ["y_out_sum", "lim"], ["cond_out"]),
         helper.make_node("Identity", ["y_out"], ["s"])],
        "body",
        [vi("i", I64, []), vi("cond_in", B, []), vi("y_in", F, [2])],
        [vi("cond_out", B, []), vi("y_out", F, [2]), vi("s", F, [2])])
    g = helper.make_graph(
        [const("M", np.array(6, np.int64)),
         helper.make_node("Loop", ["M", "", "y0"], ["y", "scan"], body=body)],
        "loop_scan_early", [vi("x", F, [2]), vi("y0", F, [2]), vi("lim", F, [])],
        [vi("y", F, [2]), vi("scan", F, [None, 2])])
    x = np.array([1, 2], np.float32)
    y0 = np.array([0, 0.5], np.float32)
    lim = np.array(10, np.float32)
    y, scans = y0.copy(), []
    for _ in range(6):
        y = y + x
        scans.append(y.copy())
        if not y.sum() < lim:
            break
    save("loop_scan_early", g, [x, y0, lim], [y, np.stack(scans)])


def conv_relu_nonzero():
    """A static head (Conv + Relu, which -O2 fuses) before a data-dependent tail: the passes
    still optimize the static part."""
    w = np.array([[[[1, -1], [0.5, 2]]]], np.float32)
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
         helper.make_node("Relu", ["c"], ["r"], name="relu"),
         helper.make_node("NonZero", ["r"], ["nz"], name="find")],
        "conv_relu_nonzero", [vi("x", F, [1, 1, 4, 4])],
        [vi("r", F, [1, 1, 3, 3]), vi("nz", I64, [4, None])],
        [numpy_helper.from_array(w, "w")])
    x = np.array([[[[1, -2, 0, 3], [0, 1, -1, 2], [2, 0, 0, -3], [1, 1, -1, 0]]]], np.float32)
    c = np.zeros((1, 1, 3, 3), np.float32)
    for i in range(3):
        for j in range(3):
            c[0, 0, i, j] = (x[0, 0, i:i + 2, j:j + 2] * w[0, 0]).sum()
    r = np.maximum(c, 0)
    save("conv_relu_nonzero", g, [x], [r, np.array(np.nonzero(r), np.int64)])


def refused():
    """A run-time-shaped tensor into an op that cannot take one (Conv)."""
    g = helper.make_graph(
        [helper.make_node("NonZero", ["x"], ["nz"], name="find"),
         helper.make_node("Cast", ["nz"], ["f"], to=F, name="to_float"),
         helper.make_node("Unsqueeze", ["f", "axes"], ["f4"], name="expand_dims"),
         helper.make_node("Conv", ["f4", "w"], ["y"], name="conv")],
        "refused_nonzero_conv", [vi("x", F, [4, 4])], [vi("y", F, [None, None, None, None])],
        [numpy_helper.from_array(np.array([0, 1], np.int64), "axes"),
         numpy_helper.from_array(np.ones((1, 1, 1, 1), np.float32), "w")])
    onnx.save(model(g), os.path.join(HERE, "..", "refused", "refused_nonzero_conv.onnx"))
    # run-time extents that do not broadcast: the non-zero positions of x and of z added, which
    # runs when both have as many (or one has 1) and fails naming the Add otherwise
    g = helper.make_graph(
        [helper.make_node("NonZero", ["x"], ["nx"], name="find_x"),
         helper.make_node("NonZero", ["z"], ["nz"], name="find_z"),
         helper.make_node("Add", ["nx", "nz"], ["y"], name="add_c")],
        "runtime_mismatch", [vi("x", F, [6]), vi("z", F, [6])], [vi("y", I64, [1, None])])
    refused_dir = os.path.join(HERE, "..", "refused")
    onnx.save(model(g), os.path.join(refused_dir, "runtime_mismatch.onnx"))
    np.save(os.path.join(refused_dir, "runtime_mismatch.x.npy"),
            np.array([0, 1, 0, 2, 3, 0], np.float32))
    np.save(os.path.join(refused_dir, "runtime_mismatch.z_fits.npy"),
            np.array([4, 0, 5, 0, 0, 6], np.float32))
    np.save(os.path.join(refused_dir, "runtime_mismatch.z_bad.npy"),
            np.array([4, 0, 5, 0, 0, 0], np.float32))


if __name__ == "__main__":
    nonzero_chain()
    mask_select()
    compress_runtime()
    unique_runtime()
    nms_gather()
    nms_postprocess()
    loop_scan_early()
    conv_relu_nonzero()
    refused()
