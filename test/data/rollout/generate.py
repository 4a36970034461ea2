"""PyTorch vectors for reference.attentionRollout (test/reference/rollout.test.ts).

Attention rollout (Abnar and Zuidema 2020) written in torch the way vit-explain's rollout
(github.com/jacobgil/vit-explain, vit_rollout.py) does it — heads fused by mean/amax/amin, the
identity added, rows renormalised, result = a @ result layer after layer — with the library's
discard rule (docs/semantics.md §16) in place of vit-explain's: per row, the ⌊ratio·L⌋ lowest
off-diagonal entries zeroed, found here with a stable ascending sort (ties: the lower column
first), independent of the counting the library does. One case runs vit-explain's loop itself at
discard ratio 0: its `a / a.sum(dim=-1)` divides column j by row j's sum (broadcasting), which equals
renormalising rows only where rows sum to 1; softmax rows of float32 weights do within ~1e-8, so the
library meets that case within 1e-7, the others within 1e-12.
The weights are softmax rows of random float32 logits; every input is float32, the computation
float64.

Run: /usr/bin/python3 test/data/rollout/generate.py  (Debian's python3-torch; the tests need only
the JSON it writes next to this file).
"""
import json
import math
import os

import torch

torch.manual_seed(16)


def layer(B, H, L, sharp=2.0):
    logits = (torch.rand(B, H, L, L, dtype=torch.float32) * 2 - 1) * sharp
    return torch.softmax(logits, dim=-1).to(torch.float64)


def fuse(w, fusion):
    if fusion == "mean":
        return w.mean(dim=1)
    return w.amax(dim=1) if fusion == "max" else w.amin(dim=1)


def rollout(layers, fusion, residual, ratio):
    B, L = layers[0].shape[0], layers[0].shape[-1]
    result = torch.eye(L, dtype=torch.float64).expand(B, L, L)
    count = int(L * ratio)
    for w in layers:
        a = fuse(w, fusion).clone()
        for b in range(B):
            for i in range(L):
                others = torch.tensor([j for j in range(L) if j != i])
                order = torch.sort(a[b, i, others], stable=True).indices
                a[b, i, others[order[:count]]] = 0
        if residual:
            a = 0.5 * a + 0.5 * torch.eye(L, dtype=torch.float64)
            a = a / a.sum(dim=-1, keepdim=True)
        result = a @ result
    return result


def vit_explain(layers, fusion):
    """vit-explain's loop at discard_ratio 0, batch 1 (its renormalisation broadcasts over columns)."""
    result = torch.eye(layers[0].shape[-1], dtype=torch.float64)
    for w in layers:
        fused = fuse(w, fusion)
        a = (fused + torch.eye(fused.shape[-1], dtype=torch.float64)) / 2
        a = a / a.sum(dim=-1)
        result = a @ result
    return result


def tensor(t, digits=9):
    values = t.flatten().tolist()
    return {"shape": list(t.shape), "data": [float(f"{v:.{digits}g}") for v in values]}


def case(name, B, H, L, n, fusion, residual=True, ratio=0.0, literal=False, ties=False):
    layers = [layer(B, H, L) for _ in range(n)]
    if ties:  # whole rows of equal weights: ties everywhere, broken by column
        for w in layers:
            w[:, :, 1::3, :] = 1.0 / L
    # what the JSON holds (9 digits, Math.fround in the tests) is what torch computes with
    layers = [torch.tensor(tensor(w)["data"], dtype=torch.float32).reshape(w.shape).to(torch.float64) for w in layers]
    out = vit_explain(layers, fusion) if literal else rollout(layers, fusion, residual, ratio)
    source = "vit-explain's rollout loop (discard 0)" if literal else "rollout in torch, stable-sort discard"
    options = {"headFusion": fusion, "residual": residual, "discardRatio": ratio}
    return {
        "name": name,
        "source": source,
        "weights": [tensor(w) for w in layers],
        "options": options,
        "expected": tensor(out, digits=17),
    }


cases = [
    case("vit-explain literal: mean, 3 layers, H=4, L=9", 1, 4, 9, 3, "mean", literal=True),
    case("mean, residual, discard 0, B=2 H=3 L=7, 4 layers", 2, 3, 7, 4, "mean"),
    case("max, residual, discard 0.5 (3 of 7 per row), B=2 H=3 L=7, 3 layers", 2, 3, 7, 3, "max", ratio=0.5),
    case("min, residual, discard 0.3 (3 of 11), B=1 H=2 L=11, 2 layers", 1, 2, 11, 2, "min", ratio=0.3),
    case("mean, no residual, discard 0.25 (2 of 9), B=1 H=5 L=9, 3 layers", 1, 5, 9, 3, "mean", residual=False, ratio=0.25),
    case("max, residual, discard 0.9 (9 of 10: only the diagonal left), B=1 H=2 L=10, 2 layers", 1, 2, 10, 2, "max", ratio=0.9),
    case("mean, residual, discard 0.4, tied rows (uniform 1/L), B=1 H=3 L=8, 2 layers", 1, 3, 8, 2, "mean", ratio=0.4, ties=True),
    case("one layer, mean, residual, B=2 H=2 L=5", 2, 2, 5, 1, "mean"),
]

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch-vectors.json")
with open(path, "w") as f:
    json.dump({"generator": "test/data/rollout/generate.py", "torch": torch.__version__, "cases": cases}, f)
    f.write("\n")
print(f"wrote {len(cases)} cases to {path}")
