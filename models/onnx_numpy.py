"""onnx_numpy.py - a deliberately naive NumPy evaluator for the ONNX ops of the example models.

gen_models.py runs every exported model through it and checks the result against PyTorch, so
the committed references are known to agree with the ONNX semantics of the exported graph, not
only with PyTorch (no onnxruntime here). Covers just the ops and attributes those models use;
anything else raises NotImplementedError.
"""
import numpy as np
from onnx import helper, numpy_helper

DTYPES = {1: np.float32, 6: np.int32, 7: np.int64, 9: np.bool_, 11: np.float64}


def _windows(x, kh, kw, sh, sw):
    """[N,C,H,W] -> [N,C,OH,OW,kh,kw] views of every pooling / convolution window."""
    n, c, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    s = x.strides
    return np.lib.stride_tricks.as_strided(
        x, (n, c, oh, ow, kh, kw), (s[0], s[1], s[2] * sh, s[3] * sw, s[2], s[3]))


def _pad2d(x, pads, value):
    t, l, b, r = pads[0], pads[1], pads[2], pads[3]
    return np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)), constant_values=value)


def _conv(x, w, b, a):
    if a.get("group", 1) != 1 or any(d != 1 for d in a.get("dilations", [1, 1])):
        raise NotImplementedError("Conv with groups or dilations")
    sh, sw = a.get("strides", [1, 1])
    xp = _pad2d(x.astype(np.float64), a.get("pads", [0] * 4), 0)
    win = _windows(xp, w.shape[2], w.shape[3], sh, sw)
    y = np.einsum("ncijkl,mckl->nmij", win, w.astype(np.float64))
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y.astype(x.dtype)


def _pool(x, a, kind):
    if a.get("ceil_mode", 0) or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise NotImplementedError("pooling with ceil_mode/auto_pad")
    kh, kw = a["kernel_shape"]
    sh, sw = a.get("strides", [1, 1])
    pads = a.get("pads", [0] * 4)
    if kind == "max":
        return _windows(_pad2d(x, pads, -np.inf), kh, kw, sh, sw).max(axis=(4, 5))
    if any(pads) and not a.get("count_include_pad", 0):
        raise NotImplementedError("AveragePool excluding padding")
    return _windows(_pad2d(x, pads, 0), kh, kw, sh, sw).mean(axis=(4, 5), dtype=np.float64) \
        .astype(x.dtype)


def _slice(x, starts, ends, axes=None, steps=None):
    axes = range(len(starts)) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    idx = [slice(None)] * x.ndim
    for s, e, ax, st in zip(starts, ends, axes, steps):
        dim = x.shape[ax]
        # ONNX clamps like Python slicing does, except that huge sentinels must stay in range.
        s, e = int(max(min(s, dim), -dim - 1)), int(max(min(e, dim), -dim - 1))
        if st < 0 and e < -dim:
            e = None
        idx[ax] = slice(s, e, int(st))
    return x[tuple(idx)]


def _reshape(x, shape):
    shape = [x.shape[i] if d == 0 else int(d) for i, d in enumerate(shape)]
    return x.reshape(shape)


def _pad(x, pads, value=None, mode=b"constant"):
    if mode not in (b"constant", "constant") or np.any(pads < 0):
        raise NotImplementedError("Pad other than constant, non-negative")
    r = x.ndim
    return np.pad(x, [(int(pads[i]), int(pads[i + r])) for i in range(r)],
                  constant_values=0 if value is None else value)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _recurrent(op, i, a):
    """LSTM and GRU as torch exports them: forward or bidirectional, default activations, no
    sequence_lens, peepholes, clip or layout. Returns (Y, Y_h) or (Y, Y_h, Y_c)."""
    def opt(k):
        return i[k] if len(i) > k and i[k] is not None else None
    if (opt(4) is not None or opt(7) is not None or a.get("layout", 0) or a.get("clip")
            or "activations" in a or a.get("direction", b"forward") == b"reverse"):
        raise NotImplementedError(f"onnx_numpy: {op} form other than torch's")
    x = i[0].astype(np.float64)
    nd, gh, _ = i[1].shape
    H, S, N = a["hidden_size"], x.shape[0], x.shape[1]
    y, hs, cs = np.zeros((S, nd, N, H)), [], []
    for d in range(nd):
        W, R = i[1][d].astype(np.float64), i[2][d].astype(np.float64)
        b = opt(3)[d].astype(np.float64) if opt(3) is not None else np.zeros(2 * gh)
        wb, rb = b[:gh], b[gh:]
        h = opt(5)[d].astype(np.float64) if opt(5) is not None else np.zeros((N, H))
        c = opt(6)[d].astype(np.float64) if opt(6) is not None else np.zeros((N, H))
        for t in (reversed(range(S)) if d == 1 else range(S)):
            xw, hr = x[t] @ W.T + wb, h @ R.T + rb
            if op == "LSTM":  # gates i, o, f, c
                gi, go, gf, gc = np.split(xw + hr, 4, axis=1)
                c = _sigmoid(gf) * c + _sigmoid(gi) * np.tanh(gc)
                h = _sigmoid(go) * np.tanh(c)
            else:  # GRU, gates z, r, h
                z = _sigmoid(xw[:, :H] + hr[:, :H])
                r = _sigmoid(xw[:, H:2 * H] + hr[:, H:2 * H])
                if a.get("linear_before_reset", 0):
                    hh = np.tanh(xw[:, 2 * H:] + r * hr[:, 2 * H:])
                else:
                    hh = np.tanh(xw[:, 2 * H:] + (r * h) @ R[2 * H:].T + rb[2 * H:])
                h = (1 - z) * hh + z * h
            y[t, d] = h
        hs.append(h)
        cs.append(c)
    dt = i[0].dtype
    out = (y.astype(dt), np.stack(hs).astype(dt))
    return out + (np.stack(cs).astype(dt),) if op == "LSTM" else out


def _op(op, i, a):
    """One node: i is the list of inputs (None for omitted ones), a the attribute dict."""
    if op == "Conv":
        return _conv(i[0], i[1], i[2] if len(i) > 2 else None, a)
    if op == "BatchNormalization":
        x, s, b, m, v = i
        sh = (1, -1) + (1,) * (x.ndim - 2)
        return ((x - m.reshape(sh)) / np.sqrt(v.reshape(sh) + a.get("epsilon", 1e-5))
                * s.reshape(sh) + b.reshape(sh)).astype(x.dtype)
    if op == "Relu":
        return np.maximum(i[0], 0).astype(i[0].dtype)
    if op == "Sigmoid":
        return (1 / (1 + np.exp(-i[0].astype(np.float64)))).astype(i[0].dtype)
    if op == "Tanh":
        return np.tanh(i[0])
    if op in ("Add", "Sub", "Mul"):
        f = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply}[op]
        return f(i[0], i[1]).astype(i[0].dtype)
    if op == "MatMul":
        return np.matmul(i[0].astype(np.float64), i[1]).astype(i[0].dtype)
    if op == "Gemm":
        A = i[0].T if a.get("transA", 0) else i[0]
        B = i[1].T if a.get("transB", 0) else i[1]
        y = a.get("alpha", 1.0) * (A.astype(np.float64) @ B)
        if len(i) > 2 and i[2] is not None:
            y = y + a.get("beta", 1.0) * i[2]
        return y.astype(i[0].dtype)
    if op == "MaxPool":
        return _pool(i[0], a, "max")
    if op == "AveragePool":
        return _pool(i[0], a, "avg")
    if op == "GlobalAveragePool":
        return i[0].mean(axis=(2, 3), keepdims=True, dtype=np.float64).astype(i[0].dtype)
    if op == "Flatten":
        ax = a.get("axis", 1)
        return i[0].reshape(int(np.prod(i[0].shape[:ax])), -1)
    if op == "Constant":
        return numpy_helper.to_array(a["value"])
    if op == "ConstantOfShape":
        v = numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
        return np.full(tuple(int(d) for d in i[0]), v.reshape(-1)[0], dtype=v.dtype)
    if op == "Shape":
        return np.array(i[0].shape, dtype=np.int64)
    if op == "Gather":
        return np.take(i[0], i[1], axis=a.get("axis", 0))
    if op == "Unsqueeze":
        return np.expand_dims(i[0], tuple(int(v) % (i[0].ndim + len(i[1])) for v in i[1]))
    if op == "Squeeze":
        return np.squeeze(i[0], tuple(int(v) % i[0].ndim for v in i[1]))
    if op == "Concat":
        return np.concatenate(i, axis=a["axis"])
    if op == "Reshape":
        return _reshape(i[0], i[1])
    if op == "Transpose":
        return np.transpose(i[0], a.get("perm"))
    if op == "Slice":
        return _slice(i[0], *[v for v in i[1:]])
    if op == "Cast":
        return i[0].astype(DTYPES[a["to"]])
    if op == "Pad":
        return _pad(i[0], i[1], i[2] if len(i) > 2 else None, a.get("mode", b"constant"))
    if op == "ReduceMean":
        axes = a.get("axes")
        return i[0].mean(axis=None if axes is None else tuple(axes), dtype=np.float64,
                         keepdims=bool(a.get("keepdims", 1))).astype(i[0].dtype)
    if op == "Expand":
        return i[0] * np.ones(tuple(int(v) for v in i[1]), dtype=i[0].dtype)
    if op in ("LSTM", "GRU"):
        return _recurrent(op, i, a)
    raise NotImplementedError(f"onnx_numpy: op {op}")


def run(model, feeds):
    """Evaluates model (an onnx.ModelProto) on feeds {input name: array}; returns the outputs."""
    g = model.graph
    env = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    env.update(feeds)
    for n in g.node:
        attrs = {x.name: helper.get_attribute_value(x) for x in n.attribute}
        ins = [env[x] if x else None for x in n.input]
        out = _op(n.op_type, ins, attrs)
        for name, v in zip(n.output, out if isinstance(out, tuple) else (out,)):
            if name:  # multi-output ops return a tuple; "" marks an omitted output
                env[name] = np.asarray(v)
    return [env[o.name] for o in g.output]
