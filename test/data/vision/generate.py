"""PyTorch vectors for reference.channelAttention, reference.spatialAttention and reference.cbam
(test/reference/vision.test.ts).

Squeeze-and-excitation is torchvision's own module (torchvision.ops.SqueezeExcitation) with the
weights set here, one case with a hidden width that does not divide C (MobileNetV3's
_make_divisible rounds C/4 up to a multiple of 8). CBAM has no module in torch or torchvision; it is
written here as the paper draws it (Woo et al. 2018): a shared MLP (nn.Linear with biases) over the
average- and max-pooled vectors, summed, sigmoid; then [mean, max] over channels (the paper's order;
the authors' code concatenates max first), a k×k nn.Conv2d with padding k // 2, sigmoid. Every
input is float32, the computation float64. x is stored [N, C, H, W]; the tests make the nhwc cases
by permuting it.

Run: /usr/bin/python3 test/data/vision/generate.py  (Debian's python3-torch and
python3-torchvision; the tests need only the JSON it writes next to this file).
"""
import json
import os

import torch
from torchvision.ops import SqueezeExcitation

torch.manual_seed(15)


def f32(*shape, scale=1.0):
    return ((torch.rand(*shape, dtype=torch.float32) * 2 - 1) * scale).to(torch.float64)


def tensor(t, digits=None):
    """Inputs (float32 values) in 9 significant digits, which round back to the same float32 (the tests
    apply Math.fround); expected values in full."""
    values = t.flatten().tolist()
    return {"shape": list(t.shape), "data": [float(f"{v:.9g}") for v in values] if digits is None else values}


def expected(t):
    return tensor(t, digits=17)


def squeeze_excitation(name, N, C, S, H, W):
    se = SqueezeExcitation(C, S).double()
    x = f32(N, C, H, W, scale=2.0)
    params = {
        "w1": f32(S, C, 1, 1, scale=1.5 / C**0.5),
        "b1": f32(S, scale=0.5),
        "w2": f32(C, S, 1, 1, scale=1.5 / S**0.5),
        "b2": f32(C, scale=0.5),
    }
    with torch.no_grad():
        se.fc1.weight.copy_(params["w1"])
        se.fc1.bias.copy_(params["b1"])
        se.fc2.weight.copy_(params["w2"])
        se.fc2.bias.copy_(params["b2"])
        out = se(x)
    return {
        "name": name,
        "op": "channelAttention",
        "source": f"torchvision.ops.SqueezeExcitation({C}, {S}) (fc1/fc2 weights as given, [S, C, 1, 1])",
        "x": tensor(x),
        "options": {"pooling": "avg", **{k: tensor(v) for k, v in params.items()}},
        "expected": expected(out),
    }


def channel_gate(x, w1, b1, w2, b2):
    mlp = lambda v: torch.relu(v @ w1.T + b1) @ w2.T + b2
    logits = mlp(x.mean(dim=(2, 3))) + mlp(x.amax(dim=(2, 3)))
    return x * torch.sigmoid(logits)[:, :, None, None]


def spatial_gate(x, weight, bias):
    maps = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
    conv = torch.nn.functional.conv2d(maps, weight, bias, padding=weight.shape[-1] // 2)
    return x * torch.sigmoid(conv)


def cbam_case(name, op, N, C, r, H, W, k):
    x = f32(N, C, H, W, scale=2.0)
    S = C // r
    channel = {
        "w1": f32(S, C, scale=1.5 / C**0.5),
        "b1": f32(S, scale=0.5),
        "w2": f32(C, S, scale=1.5 / S**0.5),
        "b2": f32(C, scale=0.5),
    }
    spatial = {"weight": f32(1, 2, k, k, scale=1.0 / k), "bias": f32(1, scale=0.5)}
    if op == "channelAttention":
        out = channel_gate(x, **channel)
        options = {"pooling": "avg+max", **{k: tensor(v) for k, v in channel.items()}}
    elif op == "spatialAttention":
        out = spatial_gate(x, **spatial)
        options = {k: tensor(v) for k, v in spatial.items()}
    else:
        out = spatial_gate(channel_gate(x, **channel), **spatial)
        options = {
            "channel": {k: tensor(v) for k, v in channel.items()},
            "spatial": {k: tensor(v) for k, v in spatial.items()},
        }
    source = "CBAM written in torch: nn.Linear MLP over mean and amax, sigmoid; cat(mean, amax), conv2d(padding=k//2), sigmoid"
    return {"name": name, "op": op, "source": source, "x": tensor(x), "options": options, "expected": expected(out)}


cases = [
    squeeze_excitation("SqueezeExcitation C=24 S=6 (r=4) N=2 3×5", 2, 24, 6, 3, 5),
    squeeze_excitation("SqueezeExcitation C=20 S=8 (MobileNetV3 rounding: S does not divide C) N=1 3×4", 1, 20, 8, 3, 4),
    cbam_case("CBAM channel gate C=12 r=4 N=2 4×5", "channelAttention", 2, 12, 4, 4, 5, 7),
    cbam_case("CBAM spatial gate k=7 C=5 N=2 6×9", "spatialAttention", 2, 5, 1, 6, 9, 7),
    cbam_case("CBAM spatial gate k=3 C=3 N=1 4×5", "spatialAttention", 1, 3, 1, 4, 5, 3),
    cbam_case("CBAM C=12 r=4 k=7 N=1 6×9", "cbam", 1, 12, 4, 6, 9, 7),
    cbam_case("CBAM C=8 r=2 k=5 N=1 3×11 (kernel taller than the map)", "cbam", 1, 8, 2, 3, 11, 5),
]

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch-vectors.json")
with open(path, "w") as f:
    json.dump({"generator": "test/data/vision/generate.py", "torch": torch.__version__, "cases": cases}, f)
    f.write("\n")
print(f"wrote {len(cases)} cases to {path}")
