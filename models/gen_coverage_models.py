#!/usr/bin/python3
"""gen_coverage_models.py - regenerates the operator-coverage models under models/ and their .npy
references: the op patterns real exporters write for transformers, detectors, MobileNetV3-style
and keyword-spotting CNNs and BERT (see models/README.md for each model's ops).

Same conventions as gen_models.py: random weights with fixed seeds, torch single-threaded,
torch.onnx.export (opset 13 unless a model says otherwise), onnx.checker, and a NumPy
evaluation of the exported graph (onnx_numpy.py plus the few ops added below) that must agree
with PyTorch. References: NAME.input.npy / NAME.output.npy, or NAME.input.K.npy /
NAME.output.K.npy (K from 0 in graph order) for models with several inputs or outputs.
Usage: /usr/bin/python3 models/gen_coverage_models.py [OUT_DIR]   (default: this script's folder)
"""
import math
import os
import sys
import warnings

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx_numpy  # noqa: E402

OUT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 and __name__ == "__main__"
                      else os.path.dirname(os.path.abspath(__file__)))


def seed(n):
    torch.manual_seed(n)
    np.random.seed(n)


# ---- NumPy second opinion: the ops these models add to what onnx_numpy.py covers ----

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _conv_grouped(x, w, b, a):
    g = a.get("group", 1)
    if g == 1:
        return onnx_numpy._conv(x, w, b, a)
    a1 = dict(a, group=1)
    xs, ws = np.split(x, g, axis=1), np.split(w, g, axis=0)
    bs = np.split(b, g) if b is not None else [None] * g
    return np.concatenate([onnx_numpy._conv(xi, wi, bi, a1) for xi, wi, bi in zip(xs, ws, bs)],
                          axis=1)


def _conv_transpose(x, w, b, a):
    """Scatter form of ConvTranspose (2-D, group 1, no output_padding/output_shape)."""
    if a.get("group", 1) != 1 or "output_shape" in a or any(a.get("output_padding", [])):
        raise NotImplementedError("ConvTranspose variant")
    n, c, h, wd = x.shape
    _, m, kh, kw = w.shape
    sh, sw = a.get("strides", [1, 1])
    dh, dw = a.get("dilations", [1, 1])
    t, l, bt, r = a.get("pads", [0, 0, 0, 0])
    full = np.zeros((n, m, (h - 1) * sh + (kh - 1) * dh + 1, (wd - 1) * sw + (kw - 1) * dw + 1))
    for i in range(kh):
        for j in range(kw):
            contrib = np.einsum("nchw,cm->nmhw", x.astype(np.float64), w[:, :, i, j])
            full[:, :, i * dh:i * dh + (h - 1) * sh + 1:sh,
                 j * dw:j * dw + (wd - 1) * sw + 1:sw] += contrib
    y = full[:, :, t:full.shape[2] - bt, l:full.shape[3] - r]
    if b is not None:
        y = y + b.reshape(1, -1, 1, 1)
    return y.astype(x.dtype)


def _resize(x, scales, sizes, a):
    """Resize over the last two axes: nearest (asymmetric, floor) or linear (half_pixel or
    pytorch_half_pixel), the forms torch.onnx writes for F.interpolate."""
    mode = a.get("mode", b"nearest").decode()
    ctm = a.get("coordinate_transformation_mode", b"half_pixel").decode()
    if sizes is not None and len(sizes):
        out = [int(s) for s in sizes]
        scl = [o / i for o, i in zip(out, x.shape)]
    else:
        scl = [float(s) for s in scales]
        out = [int(math.floor(i * s)) for i, s in zip(x.shape, scl)]
    if out[:2] != list(x.shape[:2]):
        raise NotImplementedError("Resize of the batch/channel axes")
    y = x.astype(np.float64)
    for ax in (2, 3):
        n_in, n_out, s = x.shape[ax], out[ax], scl[ax]
        o = np.arange(n_out, dtype=np.float64)
        if ctm == "asymmetric":
            src = o / s
        elif ctm in ("half_pixel", "pytorch_half_pixel"):
            src = (o + 0.5) / s - 0.5
            if ctm == "pytorch_half_pixel" and n_out == 1:
                src = np.zeros_like(o)
        else:
            raise NotImplementedError(f"Resize coordinate_transformation_mode {ctm}")
        if mode == "nearest":
            if a.get("nearest_mode", b"round_prefer_floor").decode() != "floor":
                raise NotImplementedError("Resize nearest_mode other than floor")
            idx = np.clip(np.floor(src).astype(np.int64), 0, n_in - 1)
            y = np.take(y, idx, axis=ax)
        elif mode == "linear":
            src = np.clip(src, 0, n_in - 1)
            i0 = np.floor(src).astype(np.int64)
            i1 = np.minimum(i0 + 1, n_in - 1)
            f = (src - i0).reshape([-1 if k == ax else 1 for k in range(y.ndim)])
            y = np.take(y, i0, axis=ax) * (1 - f) + np.take(y, i1, axis=ax) * f
        else:
            raise NotImplementedError(f"Resize mode {mode}")
    return y.astype(x.dtype)


def _op(op, i, a):
    """onnx_numpy._op plus the ops of these models."""
    if op == "Conv":
        return _conv_grouped(i[0], i[1], i[2] if len(i) > 2 else None, a)
    if op == "ConvTranspose":
        return _conv_transpose(i[0], i[1], i[2] if len(i) > 2 else None, a)
    if op == "Resize":
        return _resize(i[0], i[2] if len(i) > 2 else None, i[3] if len(i) > 3 else None, a)
    if op == "Softmax":
        x = i[0].astype(np.float64)
        e = np.exp(x - x.max(axis=a.get("axis", -1), keepdims=True))
        return (e / e.sum(axis=a.get("axis", -1), keepdims=True)).astype(i[0].dtype)
    if op == "Erf":
        return _erf(i[0]).astype(i[0].dtype)
    if op == "Div":
        r = np.divide(i[0], i[1])
        return (np.trunc(r) if i[0].dtype.kind in "iu" else r).astype(i[0].dtype)
    if op == "Pow":
        return np.power(i[0].astype(np.float64), i[1]).astype(i[0].dtype)
    if op == "Sqrt":
        return np.sqrt(i[0])
    if op == "Neg":
        return -i[0]
    if op == "Where":
        return np.where(i[0], i[1], i[2])
    if op == "Equal":
        return np.equal(i[0], i[1])
    if op == "Expand":
        return i[0] * np.ones(tuple(int(d) for d in i[1]), dtype=i[0].dtype)
    if op == "Range":
        return np.arange(i[0], i[1], i[2]).astype(i[0].dtype)
    if op == "HardSigmoid":
        return np.clip(a.get("alpha", 0.2) * i[0] + a.get("beta", 0.5), 0, 1).astype(i[0].dtype)
    if op == "HardSwish":
        return (i[0] * np.clip(i[0] / 6 + 0.5, 0, 1)).astype(i[0].dtype)
    if op == "LayerNormalization":
        x = i[0].astype(np.float64)
        axes = tuple(range(a.get("axis", -1) % x.ndim, x.ndim))
        mu = x.mean(axis=axes, keepdims=True)
        var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
        y = (x - mu) / np.sqrt(var + a.get("epsilon", 1e-5)) * i[1]
        return (y + i[2] if len(i) > 2 and i[2] is not None else y).astype(i[0].dtype)
    return onnx_numpy._op(op, i, a)


def run_numpy(model, feeds):
    g = model.graph
    env = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    env.update(feeds)
    for n in g.node:
        attrs = {x.name: helper.get_attribute_value(x) for x in n.attribute}
        env[n.output[0]] = np.asarray(_op(n.op_type, [env[x] if x else None for x in n.input],
                                          attrs))
    return [env[o.name] for o in g.output]


def op_counts(m):
    counts = {}
    for n in m.graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def export(model, inputs, name, input_names, output_names, opset=13, keep_bn=False):
    """Exports model at opset, checks it, saves the inputs and PyTorch's outputs as .npy.

    keep_bn: TrainingMode.PRESERVE (model in eval mode) keeps BatchNormalization nodes instead
    of folding them into the preceding Conv, as gen_models.py does.
    """
    model.eval()
    path = os.path.join(OUT, name + ".onnx")
    kwargs = {"training": torch.onnx.TrainingMode.PRESERVE} if keep_bn else {}
    torch.onnx.export(model, tuple(inputs), path, opset_version=opset, input_names=input_names,
                      output_names=output_names, **kwargs)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    with torch.no_grad():
        ys = model(*inputs)
    ys = [y.numpy() for y in (ys if isinstance(ys, tuple) else (ys,))]
    # The ONNX graph evaluated by NumPy must agree with PyTorch within the model tests'
    # tolerance: then a kiln mismatch is kiln's, not the exporter's.
    got = run_numpy(m, {k: x.numpy() for k, x in zip(input_names, inputs)})
    err = 0.0
    for k, (a, b) in enumerate(zip(got, ys)):
        if a.shape != b.shape or a.dtype != b.dtype:
            sys.exit(f"{name}: output {k}: NumPy gives {a.dtype} {a.shape}, PyTorch {b.dtype} "
                     f"{b.shape}")
        err = max(err, float(np.abs(a.astype(np.float64) - b).max()))
        if not np.allclose(a, b, rtol=1e-4, atol=1e-5):
            sys.exit(f"{name}: output {k}: the exported graph disagrees with PyTorch "
                     f"(max abs err {err:.3g})")
    for kind, arrays in (("input", [x.numpy() for x in inputs]), ("output", ys)):
        for k, arr in enumerate(arrays):
            suffix = f".{k}" if len(arrays) > 1 else ""
            np.save(os.path.join(OUT, f"{name}.{kind}{suffix}.npy"), arr)
    nparams = sum(int(np.prod(t.dims)) for t in m.graph.initializer)
    print(f"{name}.onnx: {os.path.getsize(path)} bytes, {nparams} initializer elements, "
          f"{len(m.graph.node)} nodes, NumPy within {err:.2g} of PyTorch\n    {op_counts(m)}")
    return m


def randomize_bn(model, scale=1.0):
    """Random running statistics and affine parameters: no BatchNorm is an identity."""
    for mod in model.modules():
        if isinstance(mod, nn.BatchNorm2d):
            c = mod.num_features
            mod.running_mean.copy_(torch.randn(c) * 0.2 * scale)
            mod.running_var.copy_(torch.rand(c) * 1.5 + 0.5)
            mod.weight.data.copy_(torch.rand(c) + 0.5)
            mod.bias.data.copy_(torch.randn(c) * 0.2)


# ---- a. transformer_encoder: embeddings, multi-head attention, LayerNorm, GELU ----

class SelfAttention(nn.Module):
    """Multi-head self-attention written out (nn.MultiheadAttention would hide the MatMuls)."""

    def __init__(self, d, heads):
        super().__init__()
        self.h, self.dh = heads, d // heads
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))

    def split(self, x):                                   # [B,T,D] -> [B,H,T,Dh]
        b, t, _ = x.shape
        return x.view(b, t, self.h, self.dh).transpose(1, 2)

    def forward(self, x, mask=None):
        q, k, v = self.split(self.q(x)), self.split(self.k(x)), self.split(self.v(x))
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.dh)
        if mask is not None:
            scores = scores + mask
        ctx = torch.softmax(scores, dim=-1) @ v           # [B,H,T,Dh]
        b, _, t, _ = ctx.shape
        return self.o(ctx.transpose(1, 2).reshape(b, t, self.h * self.dh))


class EncoderLayer(nn.Module):
    """Post-norm layer (as in BERT and the original transformer)."""

    def __init__(self, d, heads, ff, eps=1e-5):
        super().__init__()
        self.attn = SelfAttention(d, heads)
        self.ln1 = nn.LayerNorm(d, eps=eps)
        self.ff1, self.act, self.ff2 = nn.Linear(d, ff), nn.GELU(), nn.Linear(ff, d)
        self.ln2 = nn.LayerNorm(d, eps=eps)

    def forward(self, x, mask=None):
        x = self.ln1(x + self.attn(x, mask))
        return self.ln2(x + self.ff2(self.act(self.ff1(x))))


class TransformerEncoder(nn.Module):
    def __init__(self, vocab=100, d=32, heads=4, ff=64, layers=2, max_len=12):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(max_len, d)
        self.layers = nn.ModuleList(EncoderLayer(d, heads, ff) for _ in range(layers))

    def forward(self, ids):                               # ids: int64 [B,T]
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = self.tok(ids) + self.pos(pos)
        for layer in self.layers:
            x = layer(x)
        return x


def randomize_ln(model):
    for mod in model.modules():
        if isinstance(mod, nn.LayerNorm):
            mod.weight.data.copy_(torch.rand(mod.weight.shape) + 0.5)
            mod.bias.data.copy_(torch.randn(mod.bias.shape) * 0.1)


def transformer_encoder():
    seed(10)
    model = TransformerEncoder()
    randomize_ln(model)
    ids = torch.randint(0, 100, (1, 12), generator=torch.Generator().manual_seed(10))
    export(model, [ids], "transformer_encoder", ["input_ids"], ["output"])
    # torch 1.13 writes LayerNormalization (an ONNX op since opset 17) instead of the
    # ReduceMean/Sub/Pow/Sqrt/Div decomposition.
    export(model, [ids], "transformer_encoder_op17", ["input_ids"], ["output"], opset=17)


# ---- b. detector_head: FPN-like neck with ConvTranspose and Resize, two heads ----

def conv_relu(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.ReLU())


class DetectorHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.c2 = nn.Sequential(conv_relu(3, 8, 1), conv_relu(8, 16, 2))      # 16x16
        self.c3 = conv_relu(16, 24, 2)                                        # 8x8
        self.c4 = conv_relu(24, 32, 2)                                        # 4x4
        self.lat2, self.lat3, self.lat4 = (nn.Conv2d(c, 16, 1) for c in (16, 24, 32))
        self.up4 = nn.ConvTranspose2d(16, 16, 4, stride=2, padding=1)         # 4x4 -> 8x8
        self.up3 = nn.Upsample(scale_factor=2, mode="nearest")                # 8x8 -> 16x16
        self.head = conv_relu(48, 32, 1)
        self.obj = nn.Conv2d(32, 1, 1)
        self.box = nn.Conv2d(32, 4, 1)

    def forward(self, x):
        c2 = self.c2(x)
        c3 = self.c3(c2)
        c4 = self.c4(c3)
        p4 = self.lat4(c4)
        p3 = self.lat3(c3) + self.up4(p4)
        p2 = self.lat2(c2) + self.up3(p3)
        # The coarsest level straight to the finest resolution, bilinear, half-pixel centres.
        p4_up = F.interpolate(p4, scale_factor=4, mode="bilinear", align_corners=False)
        p3_up = F.interpolate(p3, size=(16, 16), mode="nearest")
        f = self.head(torch.cat([p2, p3_up, p4_up], dim=1))
        return torch.sigmoid(self.obj(f)), self.box(f)


def detector_head():
    seed(11)
    export(DetectorHead(), [torch.randn(1, 3, 32, 32)], "detector_head", ["image"],
           ["objectness", "boxes"])


# ---- c. dw_cnn_hardswish: MobileNetV3-style inverted residuals with squeeze-excite ----

class SqueezeExcite(nn.Module):
    def __init__(self, c, r=4):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1, self.fc2 = nn.Conv2d(c, c // r, 1), nn.Conv2d(c // r, c, 1)
        self.gate = nn.Hardsigmoid()

    def forward(self, x):
        return x * self.gate(self.fc2(F.relu(self.fc1(self.pool(x)))))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cexp, cout, k, stride):
        super().__init__()
        self.expand = nn.Sequential(nn.Conv2d(cin, cexp, 1, bias=False), nn.BatchNorm2d(cexp),
                                    nn.Hardswish())
        self.dw = nn.Sequential(nn.Conv2d(cexp, cexp, k, stride, k // 2, groups=cexp, bias=False),
                                nn.BatchNorm2d(cexp), nn.Hardswish())
        self.se = SqueezeExcite(cexp)
        self.project = nn.Sequential(nn.Conv2d(cexp, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.project(self.se(self.dw(self.expand(x))))
        return x + y if self.residual else y


class DwCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16),
                                  nn.Hardswish())                             # 16x16
        self.b1 = InvertedResidual(16, 32, 16, 3, 1)
        self.b2 = InvertedResidual(16, 48, 24, 5, 2)                          # 8x8
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(24, 10)

    def forward(self, x):
        x = self.b2(self.b1(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


def dw_cnn_hardswish():
    seed(12)
    model = DwCnn()
    randomize_bn(model)
    # Opset 14 is the first with HardSwish; at 13 torch writes x * HardSigmoid(x) instead.
    export(model, [torch.randn(1, 3, 32, 32)], "dw_cnn_hardswish", ["input"], ["output"],
           opset=14, keep_bn=True)


# ---- d. kws_cnn: DS-CNN keyword spotting (about 20 k parameters) ----

class KwsDsCnn(nn.Module):
    """DS-CNN-S shape (Zhang et al., "Hello Edge"): a 10x4 strided conv over 49 MFCC frames x 10
    coefficients, three depthwise-separable blocks, average pooling, 12 classes."""

    def __init__(self, c=64, blocks=3, classes=12):
        super().__init__()
        layers = [nn.Conv2d(1, c, (10, 4), (2, 2), (5, 1)), nn.BatchNorm2d(c), nn.ReLU()]
        for _ in range(blocks):
            layers += [nn.Conv2d(c, c, 3, 1, 1, groups=c), nn.BatchNorm2d(c), nn.ReLU(),
                       nn.Conv2d(c, c, 1), nn.BatchNorm2d(c), nn.ReLU()]
        self.features = nn.Sequential(*layers)                                # [c,25,5]
        self.pool = nn.AvgPool2d((25, 5))
        self.fc = nn.Linear(c, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def kws_cnn():
    seed(13)
    model = KwsDsCnn()
    randomize_bn(model)
    print(f"kws_cnn: {sum(p.numel() for p in model.parameters())} parameters")
    export(model, [torch.randn(1, 1, 49, 10)], "kws_cnn", ["mfcc"], ["logits"], keep_bn=True)


# ---- e. bert_tiny: HF-BERT-style encoder with attention mask and pooler ----

class Bert(nn.Module):
    """The computation of HF BertModel (eval): word + position + token-type embeddings,
    LayerNorm (eps 1e-12), post-norm layers with exact GELU, the extended attention mask
    (1 - mask) * -10000 added to the scores, and a Tanh pooler over the first token."""

    def __init__(self, vocab=128, d=32, layers=2, heads=2, ff=None, max_pos=64):
        super().__init__()
        self.word = nn.Embedding(vocab, d)
        self.position = nn.Embedding(max_pos, d)
        self.token_type = nn.Embedding(2, d)
        self.register_buffer("position_ids", torch.arange(max_pos).expand((1, -1)))
        self.ln = nn.LayerNorm(d, eps=1e-12)
        self.layers = nn.ModuleList(EncoderLayer(d, heads, ff or 4 * d, eps=1e-12)
                                    for _ in range(layers))
        self.pool = nn.Linear(d, d)

    def forward(self, input_ids, token_type_ids, attention_mask):
        t = input_ids.shape[1]
        pos = self.position_ids[:, :t]
        x = self.ln(self.word(input_ids) + self.token_type(token_type_ids) + self.position(pos))
        mask = attention_mask[:, None, None, :].to(dtype=x.dtype)
        mask = (1.0 - mask) * -10000.0
        for layer in self.layers:
            x = layer(x, mask)
        return x, torch.tanh(self.pool(x[:, 0]))


def bert_inputs(vocab, t=16, real=12, first_segment=7, gen_seed=14):
    g = torch.Generator().manual_seed(gen_seed)
    ids = torch.randint(0, vocab, (1, t), generator=g)
    ids[0, real:] = 0                                                         # [PAD]
    tt = torch.zeros(1, t, dtype=torch.int64)
    tt[0, first_segment:real] = 1
    mask = torch.zeros(1, t, dtype=torch.int64)
    mask[0, :real] = 1
    return [ids, tt, mask]


def bert_tiny():
    seed(14)
    model = Bert()
    randomize_ln(model)
    export(model, bert_inputs(128), "bert_tiny",
           ["input_ids", "token_type_ids", "attention_mask"],
           ["last_hidden_state", "pooler_output"])


def main():
    os.makedirs(OUT, exist_ok=True)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.onnx")
    torch.set_num_threads(1)  # fixed reduction order: reruns give the same bits
    transformer_encoder()
    detector_head()
    dw_cnn_hardswish()
    kws_cnn()
    bert_tiny()


if __name__ == "__main__":
    main()
