"""PyTorch vectors for reference.additive and reference.multiplicative (test/reference/score-functions.test.ts).

Each score function written the way PyTorch users write it: the projections and the [Lq, Lk, A] tanh
tensor (additive) or q·W·kᵀ (multiplicative), masked_fill / + mask, softmax, then weights @ v, all in
float64 on float32-rounded inputs. PyTorch's softmax gives NaN for a row whose every key is masked;
the library's rule (docs/semantics.md §4) is zeros, so such rows are zeroed here and say so.

Run: /usr/bin/python3 test/data/score-functions/generate.py  (Debian's python3-torch; the tests do
not need torch, only the JSON it writes next to this file).
"""
import json
import math
import os

import torch

torch.manual_seed(14)


def f32(*shape, scale=1.0):
    return ((torch.rand(*shape, dtype=torch.float32) * 2 - 1) * scale).to(torch.float64)


def attend(scores, v, mask, causal):
    B, Lq, Lk = scores.shape
    if mask is not None:
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(~mask, -math.inf)
        else:
            scores = scores + mask
    if causal:
        upper = torch.ones(Lq, Lk, dtype=torch.bool).triu(1)
        scores = scores.masked_fill(upper, -math.inf)
    weights = torch.softmax(scores, dim=-1)
    empty = torch.isinf(scores).all(dim=-1, keepdim=True) & (scores < 0).all(dim=-1, keepdim=True)
    weights = torch.where(empty, torch.zeros_like(weights), weights)  # the library's rule: zeros
    return weights @ v, weights


def listed(t):
    return [x if math.isfinite(x) else ("-Infinity" if x < 0 else "Infinity") for x in t.flatten().tolist()]


def tensor(t):
    if t.dtype == torch.bool:
        return {"shape": list(t.shape), "bool": [int(x) for x in t.flatten().tolist()]}
    return {"shape": list(t.shape), "data": listed(t)}


def masks(B, Lq, Lk):
    keep = torch.rand(B, Lq, Lk) > 0.25
    keep[0, 1, :] = False  # an empty row
    additive = f32(Lq, Lk)
    additive[2, ::2] = -math.inf
    return keep, additive


cases = []
B, Lq, Lk, Dq, Dk, Dv, A = 2, 5, 7, 3, 4, 2, 6
q, k, v = f32(B, Lq, Dq), f32(B, Lk, Dk), f32(B, Lk, Dv)
keep, additive_mask = masks(B, Lq, Lk)
wq, wk, va, bias = f32(A, Dq), f32(A, Dk), f32(A), f32(A, scale=0.5)
weight = f32(Dq, Dk)

for name, mask, causal in [
    ("no mask", None, False),
    ("bool mask with an empty row", keep, False),
    ("float mask with −∞", additive_mask, False),
    ("causal", None, True),
]:
    pq = q @ wq.T + bias
    pk = k @ wk.T
    scores = torch.tanh(pq[:, :, None, :] + pk[:, None, :, :]) @ va
    out, weights = attend(scores, v, mask, causal)
    cases.append({
        "name": f"additive, {name}",
        "op": "additive",
        "q": tensor(q), "k": tensor(k), "v": tensor(v),
        "options": {"wq": tensor(wq), "wk": tensor(wk), "va": tensor(va), "bias": tensor(bias),
                    "causal": causal, **({"mask": tensor(mask)} if mask is not None else {})},
        "output": tensor(out), "weights": tensor(weights),
    })
    scale = 0.5
    scores = scale * (q @ weight @ k.transpose(1, 2))
    out, weights = attend(scores, v, mask, causal)
    cases.append({
        "name": f"multiplicative, scale 0.5, {name}",
        "op": "multiplicative",
        "q": tensor(q), "k": tensor(k), "v": tensor(v),
        "options": {"weight": tensor(weight), "scale": scale, "causal": causal,
                    **({"mask": tensor(mask)} if mask is not None else {})},
        "output": tensor(out), "weights": tensor(weights),
    })

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch-vectors.json")
with open(path, "w") as f:
    json.dump({"source": f"PyTorch {torch.__version__}, float64, generate.py", "cases": cases}, f)
print(f"{len(cases)} cases → {path}")
