#!/usr/bin/python3
"""gen_models.py - regenerates the small example models under models/ and their .npy references.

Every model is built with torch, exported with torch.onnx.export at opset 13 and saved with one
reference input and PyTorch's output for it (<model>.input.npy, <model>.output.npy). Seeds are
fixed so a rerun on the same torch/numpy versions writes the same files.
Usage: /usr/bin/python3 models/gen_models.py [OUT_DIR]   (default: the folder of this script)
"""
import os
import sys
import warnings

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx_numpy  # noqa: E402  (a NumPy ONNX evaluator, the second opinion on every export)

OPSET = 13
OUT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(__file__))


def seed(n):
    torch.manual_seed(n)
    np.random.seed(n)


def export(model, x, name, input_name="input", output_name="output", keep_bn=False):
    """Exports model at OPSET, saves <name>.input.npy and PyTorch's <name>.output.npy.

    keep_bn: export with TrainingMode.PRESERVE (model still in eval mode) so that the exporter's
    eval peephole does not fold BatchNormalization into the preceding Conv: kiln then sees real
    BatchNormalization nodes, as a model exported without that pass would have them.
    """
    model.eval()
    path = os.path.join(OUT, name + ".onnx")
    kwargs = {}
    if keep_bn:
        kwargs["training"] = torch.onnx.TrainingMode.PRESERVE
    torch.onnx.export(model, (x,), path, opset_version=OPSET, input_names=[input_name],
                      output_names=[output_name], **kwargs)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    with torch.no_grad():
        y = model(x)
    # The ONNX graph, evaluated by NumPy, must agree with PyTorch within the model tests'
    # tolerance: then a kiln mismatch is kiln's, not the exporter's.
    y_np = onnx_numpy.run(m, {input_name: x.numpy()})[0]
    err = float(np.abs(y_np - y.numpy()).max())
    if y_np.shape != tuple(y.shape) or not np.allclose(y_np, y.numpy(), rtol=1e-4, atol=1e-5):
        sys.exit(f"{name}: the exported graph disagrees with PyTorch (max abs err {err:.3g})")
    np.save(os.path.join(OUT, name + ".input.npy"), x.numpy())
    np.save(os.path.join(OUT, name + ".output.npy"), y.numpy())
    ops = sorted({n.op_type for n in m.graph.node})
    print(f"{name}.onnx: {os.path.getsize(path)} bytes, {len(m.graph.node)} nodes, NumPy "
          f"evaluation within {err:.2g} of PyTorch, ops: {' '.join(ops)}")
    return m


# ---- a. digits_cnn: a small CNN trained on sklearn's 8x8 digits ----

class DigitsCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.pool = nn.MaxPool2d(2)                       # 8x8 -> 4x4
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.gap = nn.AdaptiveAvgPool2d(1)                # -> GlobalAveragePool
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = F.relu(self.conv2(x))
        x = torch.flatten(self.gap(x), 1)
        return self.fc(x)


def digits_cnn():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    seed(0)
    d = load_digits()
    images = (d.images / 16.0).astype(np.float32)[:, None, :, :]  # [N,1,8,8] in [0,1]
    labels = d.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(images, labels, test_size=360, random_state=0,
                                          stratify=labels)
    model = DigitsCNN()
    epochs = 60  # about 5 s on one CPU core
    opt = torch.optim.Adam(model.parameters(), lr=0.003)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    xtr_t, ytr_t = torch.from_numpy(xtr), torch.from_numpy(ytr)
    g = torch.Generator().manual_seed(0)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr_t), generator=g)
        for i in range(0, len(perm), 32):
            idx = perm[i:i + 32]
            opt.zero_grad()
            loss = F.cross_entropy(model(xtr_t[idx]), ytr_t[idx])
            loss.backward()
            opt.step()
        sched.step()
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(xte)).argmax(1).numpy()
    acc = float((pred == yte).mean())
    print(f"digits_cnn: test accuracy {acc * 100:.2f}% ({int((pred == yte).sum())}/{len(yte)})")
    np.save(os.path.join(OUT, "digits_test_images.npy"), xte)
    np.save(os.path.join(OUT, "digits_test_labels.npy"), yte)
    # The reference image is the first test image; its label is digits_test_labels.npy[0].
    m = export(model, torch.from_numpy(xte[:1].copy()), "digits_cnn", input_name="image",
               output_name="logits", keep_bn=True)
    # The ONNX graph has batch 1 in its signature; NumPy does not care, so check all 360 at once.
    pred_np = onnx_numpy.run(m, {"image": xte})[0].argmax(1)
    print(f"digits_cnn.onnx (NumPy evaluation): test accuracy "
          f"{(pred_np == yte).mean() * 100:.2f}%")
    return acc


# ---- b. mlp: Gemm (2-D Linear), MatMul + Add, Relu, Tanh, Sigmoid ----

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 32)
        self.fc2 = nn.Linear(32, 24)
        # A bare parameter pair: x @ w + b exports as MatMul + Add, not Gemm.
        self.w = nn.Parameter(torch.randn(24, 8) * 0.3)
        self.b = nn.Parameter(torch.randn(8) * 0.1)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = torch.tanh(self.fc2(x))
        return torch.sigmoid(x @ self.w + self.b)


def mlp():
    seed(1)
    export(MLP(), torch.randn(4, 16), "mlp")


# ---- c. tiny_resnet: residual CNN with non-trivial BatchNorm statistics ----

class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                      nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.down is None else self.down(x)))


class TinyResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8),
                                  nn.ReLU(), nn.MaxPool2d(3, 2, 1))          # 32 -> 16
        self.layer1 = Block(8, 8, 1)
        self.layer2 = Block(8, 16, 2)                                         # 16 -> 8
        self.pool = nn.AvgPool2d(2)                                           # 8 -> 4
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.layer2(self.layer1(self.stem(x)))
        x = self.gap(self.pool(x))
        return self.fc(torch.flatten(x, 1))


def tiny_resnet():
    seed(2)
    model = TinyResNet()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):  # make every BN a real affine transform
            c = m.num_features
            m.running_mean.copy_(torch.randn(c) * 0.2)
            m.running_var.copy_(torch.rand(c) * 1.5 + 0.5)
            m.weight.data.copy_(torch.rand(c) + 0.5)
            m.bias.data.copy_(torch.randn(c) * 0.2)
    export(model, torch.randn(1, 3, 32, 32), "tiny_resnet", keep_bn=True)


# ---- d. shapes: the shape subgraphs exporters write ----

class Shapes(nn.Module):
    def forward(self, x):                                   # x: [2,3,6,8]
        y = F.pad(x, (1, 2, 2, 0))                          # Pad -> [2,3,8,11]
        y = y.transpose(1, 2)                               # Transpose -> [2,8,3,11]
        y = y[:, 1:7, :, ::2]                               # Slice -> [2,6,3,6]
        y = torch.cat([y, y * 2.0], dim=2)                  # Concat -> [2,6,6,6]
        m = y.mean(dim=3)                                   # ReduceMean -> [2,6,6]
        m = m.unsqueeze(1)                                  # Unsqueeze -> [2,1,6,6]
        m = torch.relu(m - 0.1).squeeze(1)                  # Squeeze -> [2,6,6]
        return m.view(m.size(0), -1)                        # Shape/Gather/.../Reshape -> [2,36]


def shapes():
    seed(3)
    export(Shapes(), torch.randn(2, 3, 6, 8), "shapes")


# ---- e. lstm_seq, gru_seq: the recurrent ops as torch exports them ----

class Recurrent(nn.Module):
    """A recurrent layer over the whole sequence, then a Linear on every step's output."""

    def __init__(self, rnn, out_features):
        super().__init__()
        self.rnn = rnn
        width = rnn.hidden_size * (2 if rnn.bidirectional else 1)
        self.fc = nn.Linear(width, out_features)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.fc(y)


def recurrent():
    # [seq=5, batch=2, 8] -> 2-layer LSTM, hidden 16 -> Linear -> [5, 2, 4]: two LSTM nodes
    seed(4)
    export(Recurrent(nn.LSTM(8, 16, num_layers=2), 4), torch.randn(5, 2, 8), "lstm_seq")
    # batch-first [batch=2, seq=5, 8] -> bidirectional GRU, hidden 12 -> Linear -> [2, 5, 4];
    # the exporter transposes around a layout-0 GRU with linear_before_reset=1 (torch's form)
    seed(5)
    export(Recurrent(nn.GRU(8, 12, batch_first=True, bidirectional=True), 4),
           torch.randn(2, 5, 8), "gru_seq")


def main():
    os.makedirs(OUT, exist_ok=True)
    # torch 1.13's exporter warns about its own internals (Slice folding, prim::Constant shape
    # inference, constant folding under PRESERVE with a model that is in eval mode anyway).
    warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.onnx")
    torch.set_num_threads(1)  # fixed reduction order: reruns give the same bits
    digits_cnn()
    mlp()
    tiny_resnet()
    shapes()
    recurrent()


if __name__ == "__main__":
    main()
