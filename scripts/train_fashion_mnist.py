#!/usr/bin/python3
"""Train qwasm's bundled default model: a small Fashion-MNIST CNN, exported to ONNX.

Run from anywhere with Debian's Python (torch CPU):

    /usr/bin/python3 scripts/train_fashion_mnist.py

Reads the IDX files of the Debian package `dataset-fashion-mnist` (nothing is downloaded), trains on the
60,000 training images, measures fp32 accuracy on all 10,000 test images, and writes into models/:

    fashion_mnist_dsres.onnx    the float model (opset 13, BatchNorm folded into the convs)
    fashion_mnist_dsres.json    provenance: architecture, training setup, data hashes, accuracy, ONNX sha256
    fashion_mnist_labels.txt    the 10 class names, one a line
    samples/                    the first 2 test images of each class as 28x28 grayscale PNGs, and a README

The exported file is checked by an independent NumPy evaluation of the ONNX graph itself (a minimal protobuf
reader and the handful of ops the model uses), and with onnxruntime when it is importable.

Deterministic: fixed seeds, 2 threads, CPU only, deterministic algorithms. The same machine and library
versions give the same weights; the training time in the provenance naturally varies.
"""

import gzip
import hashlib
import io
import json
import os
import platform
import struct
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------------------------
# Configuration

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_DIR = "/usr/share/datasets/fashion-mnist"
OUT_DIR = os.path.join(REPO, "models")
MODEL_NAME = "fashion_mnist_dsres"

SEED = 20240611
THREADS = 2
EPOCHS = int(os.environ.get("QWASM_FMNIST_EPOCHS", "18"))
BATCH = 128
PEAK_LR = 0.1
WEIGHT_DECAY = 5e-4
MOMENTUM = 0.9
WARMUP_FRACTION = 0.15
PAD = 2  # random translation of up to +-2 px (pad with zeros, crop 28x28)

MEAN = 0.2860
STD = 0.3530

LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

# Channel widths: stem (28x28), after the first downsampling (14x14, the residual block), after the second (7x7).
C_STEM = int(os.environ.get("QWASM_FMNIST_C1", "24"))
C_MID = int(os.environ.get("QWASM_FMNIST_C2", "48"))
C_OUT = int(os.environ.get("QWASM_FMNIST_C3", "96"))

DATA_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

# Ops the qwasm ONNX importer supports (the exported graph must use nothing else).
SUPPORTED_OPS = {"Conv", "BatchNormalization", "Relu", "Add", "MaxPool", "GlobalAveragePool", "ReduceMean",
                 "Flatten", "Gemm"}


# ---------------------------------------------------------------------------------------------------------------
# Data

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: expected {dims}, got {arr.size} bytes")
    return arr.reshape(dims)


def load_data():
    paths = {k: os.path.join(DATA_DIR, v) for k, v in DATA_FILES.items()}
    for p in paths.values():
        if not os.path.isfile(p):
            sys.exit(f"missing {p}: install the Debian package dataset-fashion-mnist")
    arrays = {k: read_idx(p) for k, p in paths.items()}
    assert arrays["train_images"].shape == (60000, 28, 28) and arrays["train_labels"].shape == (60000,)
    assert arrays["test_images"].shape == (10000, 28, 28) and arrays["test_labels"].shape == (10000,)
    files = [{"key": k, "path": paths[k], "sha256": sha256_file(paths[k]), "bytes": os.path.getsize(paths[k]),
              "shape": list(arrays[k].shape)} for k in DATA_FILES]
    return arrays, files


def normalize(images_u8):
    """uint8 [N,28,28] -> float32 [N,1,28,28]: x/255, then (x - MEAN) / STD."""
    x = torch.from_numpy(images_u8.astype(np.float32) / 255.0)
    return ((x - MEAN) / STD).unsqueeze(1).contiguous()


def augment(x, gen):
    """Random horizontal flip and random translation by up to PAD pixels (zero padding in raw pixel space)."""
    n = x.shape[0]
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    background = (0.0 - MEAN) / STD  # a black pixel after normalization
    xp = F.pad(x, (PAD, PAD, PAD, PAD), value=background)
    oy = torch.randint(0, 2 * PAD + 1, (n,), generator=gen)
    ox = torch.randint(0, 2 * PAD + 1, (n,), generator=gen)
    ar = torch.arange(28)
    rows = (oy[:, None] + ar[None, :])[:, :, None]  # [n,28,1]
    cols = (ox[:, None] + ar[None, :])[:, None, :]  # [n,1,28]
    b = torch.arange(n)[:, None, None]
    return xp[:, 0][b, rows, cols].unsqueeze(1).contiguous()


# ---------------------------------------------------------------------------------------------------------------
# Model

def conv_bn_relu(cin, cout, stride=1, groups=1, relu=True, k=3):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if relu:
        layers.append(nn.ReLU(inplace=False))
    return nn.Sequential(*layers)


class DSResidual(nn.Module):
    """Depthwise-separable residual block: relu(x + bn(pw1x1(relu(bn(dw3x3(x))))))."""

    def __init__(self, c):
        super().__init__()
        self.dw = conv_bn_relu(c, c, groups=c)
        self.pw = conv_bn_relu(c, c, relu=False, k=1)
        self.relu = nn.ReLU(inplace=False)

    def forward(self, x):
        return self.relu(x + self.pw(self.dw(x)))


class FashionDSRes(nn.Module):
    def __init__(self, c1=C_STEM, c2=C_MID, c3=C_OUT):
        super().__init__()
        self.stem = conv_bn_relu(1, c1)                  # 28x28
        self.down1 = conv_bn_relu(c1, c2, stride=2)      # -> 14x14
        self.block = DSResidual(c2)                      # 14x14
        self.down2 = conv_bn_relu(c2, c3, stride=2)      # -> 7x7
        self.gap = nn.AdaptiveAvgPool2d(1)               # -> 1x1 (exported as GlobalAveragePool)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(c3, 10)

    def forward(self, x):
        x = self.down2(self.block(self.down1(self.stem(x))))
        return self.fc(self.flatten(self.gap(x)))


def describe(model):
    return [
        f"stem: Conv 3x3 1->{C_STEM} stride 1 pad 1 + BatchNorm + ReLU (28x28)",
        f"down1: Conv 3x3 {C_STEM}->{C_MID} stride 2 pad 1 + BatchNorm + ReLU (28x28 -> 14x14)",
        f"block: depthwise-separable residual block at {C_MID} channels (14x14): depthwise Conv 3x3 "
        f"(groups {C_MID}) + BatchNorm + ReLU, pointwise Conv 1x1 {C_MID}->{C_MID} + BatchNorm, Add (block "
        "input), ReLU",
        f"down2: Conv 3x3 {C_MID}->{C_OUT} stride 2 pad 1 + BatchNorm + ReLU (14x14 -> 7x7)",
        "gap: global average pool (7x7 -> 1x1)",
        "flatten",
        f"fc: Linear {C_OUT}->10 (logits)",
    ]


def count_macs(model):
    macs = [0]

    def hook(mod, inp, out):
        if isinstance(mod, nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * (mod.in_channels // mod.groups)
            macs[0] += out.numel() * k
        elif isinstance(mod, nn.Linear):
            macs[0] += out.numel() * mod.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model.eval()
        model(torch.zeros(1, 1, 28, 28))
    for h in handles:
        h.remove()
    return macs[0]


# ---------------------------------------------------------------------------------------------------------------
# Training and evaluation

@torch.no_grad()
def predict(model, x, batch=1000):
    model.eval()
    return torch.cat([model(x[i:i + batch]) for i in range(0, x.shape[0], batch)])


def accuracy(logits, labels):
    return float((logits.argmax(1) == labels).float().mean())


def train(model, x_train, y_train, x_test, y_test):
    gen = torch.Generator().manual_seed(SEED + 1)
    steps_per_epoch = (x_train.shape[0] + BATCH - 1) // BATCH
    total_steps = EPOCHS * steps_per_epoch
    warmup = int(WARMUP_FRACTION * total_steps)
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim == 1 else decay).append(p)  # no weight decay on BatchNorm and biases
    opt = torch.optim.SGD([{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": no_decay, "weight_decay": 0}],
                          lr=PEAK_LR, momentum=MOMENTUM, nesterov=True)

    def lr_at(step):  # linear warmup, then cosine decay to 0
        if step < warmup:
            return PEAK_LR * (step + 1) / warmup
        t = (step - warmup) / max(1, total_steps - warmup)
        return PEAK_LR * 0.5 * (1 + np.cos(np.pi * t))

    step = 0
    history = []
    t0 = time.time()
    for epoch in range(EPOCHS):
        model.train()
        te = time.time()
        perm = torch.randperm(x_train.shape[0], generator=gen)
        loss_sum, correct, seen = 0.0, 0, 0
        for i in range(0, x_train.shape[0], BATCH):
            idx = perm[i:i + BATCH]
            xb, yb = augment(x_train[idx], gen), y_train[idx]
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            loss_sum += float(loss) * yb.shape[0]
            correct += int((logits.argmax(1) == yb).sum())
            seen += yb.shape[0]
        test_acc = accuracy(predict(model, x_test), y_test)
        row = {"epoch": epoch + 1, "train_loss": round(loss_sum / seen, 4), "train_acc": round(correct / seen, 4),
               "test_acc": round(test_acc, 4), "seconds": round(time.time() - te, 1)}
        history.append(row)
        print(f"epoch {epoch + 1:2d}/{EPOCHS}  loss {row['train_loss']:.4f}  train acc {row['train_acc']:.4f}  "
              f"test acc {row['test_acc']:.4f}  lr {lr_at(step - 1):.4f}  {row['seconds']:.1f}s", flush=True)
    return history, time.time() - t0


# ---------------------------------------------------------------------------------------------------------------
# A minimal ONNX reader (protobuf wire format) and NumPy evaluator, to check the exported file independently

def _varint(b, i):
    shift = result = 0
    while True:
        c = b[i]
        i += 1
        result |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return result, i


def _fields(b):
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 2:
            n, i = _varint(b, i)
            v, i = b[i:i + n], i + n
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wt}")
        yield num, wt, v


def _int64(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def _ints(wt, v):  # a repeated int64 field, packed or not
    if wt == 0:
        return [_int64(v)]
    out, i = [], 0
    while i < len(v):
        x, i = _varint(v, i)
        out.append(_int64(x))
    return out


def _tensor(b):
    dims, dtype, raw, floats, name = [], None, None, [], ""
    for num, wt, v in _fields(b):
        if num == 1:
            dims += _ints(wt, v)
        elif num == 2:
            dtype = v
        elif num == 4:
            floats += list(np.frombuffer(bytes(v), "<f4")) if wt == 2 else [struct.unpack("<f", v)[0]]
        elif num == 8:
            name = bytes(v).decode()
        elif num == 9:
            raw = bytes(v)
    np_type = {1: "<f4", 7: "<i8"}.get(dtype)
    if np_type is None:
        raise ValueError(f"tensor {name}: unsupported data type {dtype}")
    arr = np.frombuffer(raw, np_type) if raw is not None else np.array(floats, np_type)
    return name, arr.reshape(dims).copy()


def _attribute(b):
    name, val, ints = "", None, []
    for num, wt, v in _fields(b):
        if num == 1:
            name = bytes(v).decode()
        elif num == 2:
            val = struct.unpack("<f", v)[0]
        elif num == 3:
            val = _int64(v)
        elif num == 4:
            val = bytes(v).decode()
        elif num == 5:
            val = _tensor(v)[1]
        elif num == 8:
            ints += _ints(wt, v)
    return name, (ints if val is None else val)


def _value_info(b):
    name, shape = "", []
    for num, wt, v in _fields(b):
        if num == 1:
            name = bytes(v).decode()
        elif num == 2:
            for n2, _, tt in _fields(v):  # TypeProto.tensor_type
                if n2 != 1:
                    continue
                for n3, _, sh in _fields(tt):  # TypeProto.Tensor.shape
                    if n3 != 2:
                        continue
                    for n4, _, dim in _fields(sh):  # TensorShapeProto.dim
                        d = None
                        for n5, _, dv in _fields(dim):
                            d = dv if n5 == 1 else bytes(dv).decode()
                        shape.append(d)
    return name, shape


def parse_onnx(data):
    model = {"opset": {}, "nodes": [], "initializers": {}, "inputs": [], "outputs": []}
    graph = None
    for num, wt, v in _fields(data):
        if num == 1:
            model["ir_version"] = v
        elif num == 2:
            model["producer"] = bytes(v).decode()
        elif num == 3:
            model["producer_version"] = bytes(v).decode()
        elif num == 7:
            graph = v
        elif num == 8:
            dom, ver = "", 0
            for n2, _, v2 in _fields(v):
                dom, ver = (bytes(v2).decode(), ver) if n2 == 1 else (dom, v2)
            model["opset"][dom] = ver
    for num, wt, v in _fields(graph):
        if num == 1:
            node = {"inputs": [], "outputs": [], "op": "", "attrs": {}}
            for n2, _, v2 in _fields(v):
                if n2 == 1:
                    node["inputs"].append(bytes(v2).decode())
                elif n2 == 2:
                    node["outputs"].append(bytes(v2).decode())
                elif n2 == 4:
                    node["op"] = bytes(v2).decode()
                elif n2 == 5:
                    k, a = _attribute(v2)
                    node["attrs"][k] = a
            model["nodes"].append(node)
        elif num == 5:
            k, t = _tensor(v)
            model["initializers"][k] = t
        elif num == 11:
            model["inputs"].append(_value_info(v))
        elif num == 12:
            model["outputs"].append(_value_info(v))
    return model


def _conv(x, w, b, a):
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    group = a.get("group", 1)
    sh, sw = a.get("strides", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    if a.get("dilations", [1, 1]) != [1, 1]:
        raise ValueError("dilated Conv not supported by this checker")
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    oh = (h + pt + pb - kh) // sh + 1
    ow = (wd + pl + pr - kw) // sw + 1
    cols = np.empty((n, c, kh, kw, oh, ow), np.float32)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw]
    cols = cols.reshape(n, group, cg * kh * kw, oh * ow)
    wg = w.reshape(group, m // group, cg * kh * kw)
    y = np.einsum("gmk,ngkp->ngmp", wg, cols, optimize=True).reshape(n, m, oh, ow)
    return y + (b.reshape(1, m, 1, 1) if b is not None else 0)


def _maxpool(x, a):
    kh, kw = a["kernel_shape"]
    sh, sw = a.get("strides", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    if a.get("ceil_mode", 0):
        raise ValueError("ceil_mode MaxPool not supported by this checker")
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=-np.inf)
    oh = (x.shape[2] + pt + pb - kh) // sh + 1
    ow = (x.shape[3] + pl + pr - kw) // sw + 1
    y = np.full(x.shape[:2] + (oh, ow), -np.inf, np.float32)
    for i in range(kh):
        for j in range(kw):
            y = np.maximum(y, xp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw])
    return y


def run_onnx_numpy(model, x):
    env = dict(model["initializers"])
    env[model["inputs"][0][0]] = x
    for node in model["nodes"]:
        op, a = node["op"], node["attrs"]
        ins = [env[i] if i else None for i in node["inputs"]]
        if op == "Conv":
            y = _conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a)
        elif op == "Relu":
            y = np.maximum(ins[0], 0)
        elif op == "Add":
            y = ins[0] + ins[1]
        elif op == "MaxPool":
            y = _maxpool(ins[0], a)
        elif op == "GlobalAveragePool":
            y = ins[0].mean(axis=(2, 3), keepdims=True)
        elif op == "ReduceMean":
            y = ins[0].mean(axis=tuple(a["axes"]), keepdims=bool(a.get("keepdims", 1)))
        elif op == "Flatten":
            ax = a.get("axis", 1)
            y = ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)
        elif op == "Gemm":
            A = ins[0].T if a.get("transA", 0) else ins[0]
            B = ins[1].T if a.get("transB", 0) else ins[1]
            y = a.get("alpha", 1.0) * (A @ B)
            if len(ins) > 2 and ins[2] is not None:
                y = y + a.get("beta", 1.0) * ins[2]
        else:
            raise ValueError(f"op {op} not handled by the NumPy checker")
        env[node["outputs"][0]] = y.astype(np.float32)
    return env[model["outputs"][0][0]]


def export_onnx(model):
    model.eval()
    buf = io.BytesIO()
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), buf, opset_version=13, do_constant_folding=True,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      training=torch.onnx.TrainingMode.EVAL)
    return buf.getvalue()


def check_onnx(onnx_bytes, x_test, y_test, torch_logits):
    parsed = parse_onnx(onnx_bytes)
    ops = [n["op"] for n in parsed["nodes"]]
    unsupported = sorted(set(ops) - SUPPORTED_OPS)
    if unsupported:
        raise SystemExit(f"exported graph uses ops the importer does not support: {unsupported}")
    (in_name, in_shape), = parsed["inputs"]
    (out_name, out_shape), = parsed["outputs"]
    assert in_name == "input" and in_shape[1:] == [1, 28, 28] and isinstance(in_shape[0], str), in_shape
    assert out_name == "logits" and out_shape[1:] == [10] and isinstance(out_shape[0], str), out_shape
    assert parsed["opset"].get("", parsed["opset"].get("ai.onnx")) == 13, parsed["opset"]
    onnx_params = int(sum(t.size for t in parsed["initializers"].values()))

    # Independent NumPy evaluation of the file's own graph and weights on all test images.
    t0 = time.time()
    np_logits = np.concatenate([run_onnx_numpy(parsed, x_test[i:i + 500].numpy())
                                for i in range(0, x_test.shape[0], 500)])
    ref = torch_logits.numpy()
    max_diff = float(np.abs(np_logits - ref).max())
    np_acc = float((np_logits.argmax(1) == y_test.numpy()).mean())
    agree = float((np_logits.argmax(1) == ref.argmax(1)).mean())
    print(f"ONNX check (NumPy evaluation of the exported graph, {x_test.shape[0]} images, {time.time() - t0:.1f}s): "
          f"accuracy {np_acc:.4f}, top-1 agreement with torch {agree:.4f}, max |logit diff| {max_diff:.2e}")
    if max_diff > 1e-3 or agree < 0.999:
        raise SystemExit("the exported ONNX model does not match the torch model")
    result = {
        "ops": ops,
        "op_counts": {op: ops.count(op) for op in sorted(set(ops))},
        "initializer_values": onnx_params,
        "input": {"name": in_name, "shape": in_shape},
        "output": {"name": out_name, "shape": out_shape},
        "ir_version": parsed.get("ir_version"),
        "producer": f"{parsed.get('producer', '')} {parsed.get('producer_version', '')}".strip(),
        "numpy_check": {"images": int(x_test.shape[0]), "test_accuracy": round(np_acc, 4),
                        "top1_agreement_with_torch": agree, "max_abs_logit_diff": float(f"{max_diff:.3g}")},
    }

    try:
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime is not importable under this Python: skipping the onnxruntime check")
        result["onnxruntime_check"] = "skipped: onnxruntime not importable under the training Python"
        return result
    sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    ort_logits = np.concatenate([sess.run(["logits"], {"input": x_test[i:i + 1000].numpy()})[0]
                                 for i in range(0, x_test.shape[0], 1000)])
    ort_diff = float(np.abs(ort_logits - ref).max())
    ort_acc = float((ort_logits.argmax(1) == y_test.numpy()).mean())
    print(f"ONNX check (onnxruntime {ort.__version__}): accuracy {ort_acc:.4f}, max |logit diff| {ort_diff:.2e}")
    if ort_diff > 1e-3:
        raise SystemExit("onnxruntime disagrees with torch on the exported model")
    result["onnxruntime_check"] = {"version": ort.__version__, "test_accuracy": round(ort_acc, 4),
                                   "max_abs_logit_diff": float(f"{ort_diff:.3g}")}
    return result


# ---------------------------------------------------------------------------------------------------------------
# Sample images

def slug(name):
    out = "".join(ch.lower() if ch.isalnum() else "_" for ch in name)
    while "__" in out:
        out = out.replace("__", "_")
    return out.strip("_")


def write_png_gray(path, img):
    """Write an 8-bit grayscale PNG: with PIL when available, otherwise by hand (zlib)."""
    try:
        from PIL import Image
        Image.fromarray(img, mode="L").save(path, format="PNG")
        return
    except ImportError:
        pass
    import zlib

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    h, w = img.shape
    raw = b"".join(b"\x00" + img[r].tobytes() for r in range(h))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(png)


def write_samples(test_images, test_labels, test_files):
    sample_dir = os.path.join(OUT_DIR, "samples")
    os.makedirs(sample_dir, exist_ok=True)
    for f in os.listdir(sample_dir):
        if f.endswith(".png"):
            os.remove(os.path.join(sample_dir, f))
    samples = []
    for cls in range(10):
        for idx in np.nonzero(test_labels == cls)[0][:2]:
            name = f"{cls:02d}_{slug(LABELS[cls])}_{idx:04d}.png"
            write_png_gray(os.path.join(sample_dir, name), np.ascontiguousarray(test_images[idx]))
            samples.append({"file": name, "label": cls, "class": LABELS[cls], "test_index": int(idx)})
    lines = [
        "# Fashion-MNIST sample images",
        "",
        "Twenty images from the Fashion-MNIST **test** set: the first two test images of each of the 10 classes,",
        "in test-set order. Each is the original 28x28 8-bit grayscale image, unchanged (white garment on a black",
        "background, as in the dataset), saved as PNG by `scripts/train_fashion_mnist.py`.",
        "",
        "File names read `<class index>_<class name>_<test index>.png`; the test index is the image's position",
        "(0-based) in `t10k-images-idx3-ubyte.gz`, and the class index is its label in `t10k-labels-idx1-ubyte.gz`",
        "(class names in `../fashion_mnist_labels.txt`).",
        "",
        "Source: the Debian package `dataset-fashion-mnist` (`/usr/share/datasets/fashion-mnist/`), Fashion-MNIST by",
        "Zalando Research (Xiao, Rasul, Vollgraf, 2017), MIT license. sha256 of the source files:",
        "",
    ]
    for f in test_files:
        lines.append(f"- `{os.path.basename(f['path'])}`: `{f['sha256']}`")
    lines += ["", "| file | class | test index |", "|---|---|---|"]
    for s in samples:
        lines.append(f"| `{s['file']}` | {s['label']} {s['class']} | {s['test_index']} |")
    with open(os.path.join(sample_dir, "README.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return samples


# ---------------------------------------------------------------------------------------------------------------

def debian_package_version(pkg):
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True,
                              check=True).stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


def main():
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT_DIR, exist_ok=True)

    arrays, data_files = load_data()
    x_train, y_train = normalize(arrays["train_images"]), torch.from_numpy(arrays["train_labels"].astype(np.int64))
    x_test, y_test = normalize(arrays["test_images"]), torch.from_numpy(arrays["test_labels"].astype(np.int64))

    model = FashionDSRes()
    params = sum(p.numel() for p in model.parameters())
    macs = count_macs(model)
    print(f"torch {torch.__version__}, {THREADS} threads; model {MODEL_NAME}: {params} parameters, {macs} MACs/image")
    for line in describe(model):
        print("  " + line)

    history, train_seconds = train(model, x_train, y_train, x_test, y_test)
    model.eval()
    torch_logits = predict(model, x_test)
    test_acc = accuracy(torch_logits, y_test)
    pred = torch_logits.argmax(1)
    per_class = {LABELS[c]: round(float((pred[y_test == c] == c).float().mean()), 4) for c in range(10)}
    print(f"training time {train_seconds:.1f}s; fp32 test accuracy (torch, 10000 images): {test_acc:.4f}")

    onnx_bytes = export_onnx(model)
    onnx_info = check_onnx(onnx_bytes, x_test, y_test, torch_logits)
    onnx_path = os.path.join(OUT_DIR, MODEL_NAME + ".onnx")
    with open(onnx_path, "wb") as f:
        f.write(onnx_bytes)
    onnx_sha = hashlib.sha256(onnx_bytes).hexdigest()

    labels_path = os.path.join(OUT_DIR, "fashion_mnist_labels.txt")
    with open(labels_path, "w") as f:
        f.write("\n".join(LABELS) + "\n")
    samples = write_samples(arrays["test_images"], arrays["test_labels"],
                            [d for d in data_files if d["key"].startswith("test")])

    provenance = {
        "model": MODEL_NAME,
        "description": "Small Fashion-MNIST classifier with one depthwise-separable residual block; qwasm's "
                       "bundled default model.",
        "files": {
            "onnx": {"path": f"models/{MODEL_NAME}.onnx", "bytes": len(onnx_bytes), "sha256": onnx_sha},
            "labels": {"path": "models/fashion_mnist_labels.txt", "sha256": sha256_file(labels_path)},
            "samples": "models/samples/",
        },
        "architecture": {
            "layers": describe(model),
            "widths": {"stem": C_STEM, "block": C_MID, "head": C_OUT},
            "parameters": params,
            "parameters_note": "trainable torch parameters, BatchNorm scale/shift included; the ONNX file has "
                               "BatchNorm folded into the convolutions (see onnx.initializer_values)",
            "macs_per_image": macs,
        },
        "input": {"name": "input", "shape": ["batch", 1, 28, 28], "dtype": "float32", "layout": "NCHW",
                  "channels": "grayscale (1)", "pixel_range": "0..255 before preprocessing",
                  "polarity": "light garment on a dark background, as in Fashion-MNIST"},
        "preprocessing": {"scale": "x / 255", "mean": [MEAN], "std": [STD], "formula": "(x / 255 - mean) / std",
                          "resize": "none (28x28)"},
        "output": {"name": "logits", "shape": ["batch", 10], "dtype": "float32", "meaning": "unnormalized logits",
                   "labels": LABELS},
        "training": {
            "epochs": EPOCHS, "batch_size": BATCH, "optimizer": "SGD, Nesterov momentum 0.9",
            "learning_rate": f"linear warmup to {PEAK_LR} over the first {WARMUP_FRACTION:.0%} of steps, "
                             "then cosine decay to 0, updated every step",
            "weight_decay": f"{WEIGHT_DECAY} on conv/linear weights, none on BatchNorm and biases",
            "loss": "cross entropy",
            "augmentation": f"random horizontal flip; random translation up to +-{PAD} px (zero padding)",
            "train_images": 60000, "seed": SEED, "threads": THREADS, "device": "cpu",
            "deterministic_algorithms": True, "training_seconds": round(train_seconds, 1),
            "training_seconds_note": "wall clock of the training loop (per-epoch evaluation included); it grows when "
                                     "other processes compete for the CPU cores, see the per-epoch seconds in history",
            "history": history,
        },
        "evaluation": {"fp32_test_accuracy": round(test_acc, 4), "test_images": int(x_test.shape[0]),
                       "measured_with": f"torch {torch.__version__}, the trained model in eval mode",
                       "per_class_accuracy": per_class},
        "onnx": dict(opset=13, do_constant_folding=True, dynamic_axes="batch (dim 0 of input and logits)",
                     **onnx_info),
        "dataset": {
            "name": "Fashion-MNIST (Xiao, Rasul, Vollgraf 2017; Zalando Research; MIT license)",
            "source": "Debian package dataset-fashion-mnist",
            "debian_package_version": debian_package_version("dataset-fashion-mnist"),
            "files": [{k: v for k, v in d.items() if k != "key"} | {"role": d["key"]} for d in data_files],
        },
        "environment": {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
                        "platform": platform.platform()},
        "script": "scripts/train_fashion_mnist.py",
        "regenerate": "/usr/bin/python3 scripts/train_fashion_mnist.py",
        "samples": samples,
    }
    with open(os.path.join(OUT_DIR, MODEL_NAME + ".json"), "w") as f:
        json.dump(provenance, f, indent=2)
        f.write("\n")
    print(f"wrote {onnx_path} ({len(onnx_bytes)} bytes, sha256 {onnx_sha})")
    print(f"wrote {os.path.join(OUT_DIR, MODEL_NAME + '.json')}, {labels_path}, and {len(samples)} samples")


if __name__ == "__main__":
    main()
