"""PyTorch vectors for reference.graph and reference.graphAttention (test/reference/graph.test.ts).

PyTorch Geometric is not packaged for Debian, so GATConv's forward is written here in plain torch,
step for step as torch_geometric/nn/conv/gat_conv.py and torch_geometric/utils (remove_self_loops,
add_self_loops, softmax) compute it: h = x @ lin.weightᵀ viewed [N, H, F]; alpha_src/alpha_dst =
(h * att).sum(-1); alpha = leaky_relu(alpha_src[source] + alpha_dst[target], negative_slope);
softmax over the edges of each target (its max subtracted, 1e-16 added to the sum, as PyG's
softmax); out = Σ alpha·h[source] scattered onto the targets; heads concatenated or averaged;
+ bias. All in float64 on float32-rounded inputs.

Run: /usr/bin/python3 test/data/graph/generate.py  (Debian's python3-torch; the tests do not need
torch, only the JSON it writes next to this file).
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(15)


def f32(*shape, scale=1.0):
    return ((torch.rand(*shape, dtype=torch.float32) * 2 - 1) * scale).to(torch.float64)


def self_loops(edge_index, num_nodes):
    kept = edge_index[:, edge_index[0] != edge_index[1]]  # remove_self_loops
    loops = torch.arange(num_nodes).repeat(2, 1)  # add_self_loops: appended after the others
    return torch.cat([kept, loops], dim=1)


def scatter_softmax(src, index, num_nodes):
    """torch_geometric.utils.softmax: src [E, H] grouped by index [E]."""
    H = src.shape[1]
    expanded = index.view(-1, 1).expand(-1, H)
    src_max = torch.full((num_nodes, H), -float("inf"), dtype=src.dtype)
    src_max = src_max.scatter_reduce(0, expanded, src, reduce="amax", include_self=True)
    out = (src - src_max[index]).exp()
    out_sum = torch.zeros(num_nodes, H, dtype=src.dtype).scatter_add(0, expanded, out) + 1e-16
    return out / out_sum[index]


def gat_conv(x, edge_index, weight, att_src, att_dst, bias, heads, concat, negative_slope, add_loops):
    N = x.shape[0]
    if add_loops:
        edge_index = self_loops(edge_index, N)
    h = (x @ weight.T).view(N, heads, -1)
    alpha_src = (h * att_src.view(1, heads, -1)).sum(-1)
    alpha_dst = (h * att_dst.view(1, heads, -1)).sum(-1)
    source, target = edge_index[0], edge_index[1]
    alpha = F.leaky_relu(alpha_src[source] + alpha_dst[target], negative_slope)
    alpha = scatter_softmax(alpha, target, N)
    messages = alpha.unsqueeze(-1) * h[source]  # [E, H, F]
    out = torch.zeros(N, *h.shape[1:], dtype=h.dtype).index_add(0, target, messages)
    out = out.reshape(N, -1) if concat else out.mean(dim=1)
    if bias is not None:
        out = out + bias
    return out, edge_index, alpha


def tensor(t):
    return {"shape": list(t.shape), "data": t.flatten().tolist()}


def graph_case(name, N, edges, Fin, heads, F_, concat, slope, add_loops, with_bias):
    edge_index = torch.tensor(edges, dtype=torch.int64).T.contiguous()
    x = f32(N, Fin)
    weight = f32(heads * F_, Fin, scale=1.5 / Fin**0.5)
    att_src, att_dst = f32(heads, F_), f32(heads, F_)
    bias = f32(heads * F_ if concat else F_, scale=0.5) if with_bias else None
    out, used, alpha = gat_conv(x, edge_index, weight, att_src, att_dst, bias, heads, concat, slope, add_loops)
    options = {"weight": tensor(weight), "attSrc": tensor(att_src), "attDst": tensor(att_dst), "heads": heads,
               "concat": concat, "negativeSlope": slope, "returnWeights": True}
    if bias is not None:
        options["bias"] = tensor(bias)
    return {"name": name, "numNodes": N, "addSelfLoops": add_loops,
            "edgeIndex": {"shape": list(edge_index.shape), "data": edge_index.flatten().tolist()},
            "x": tensor(x), "options": options,
            "output": tensor(out), "edges": used.flatten().tolist(), "weights": tensor(alpha)}


# 9 nodes: node 8 has no incoming edge; 3 → 5 twice; self-loops 2 → 2 and 6 → 6 given; node 4 of degree 9.
EDGES = [[0, 1], [1, 2], [2, 2], [3, 5], [3, 5], [5, 3], [6, 6], [7, 0], [2, 7], [1, 6]]
EDGES += [[j, 4] for j in [0, 1, 2, 3, 5, 6, 7, 8, 0]]
cases = [
    graph_case("H=3 F=4 concat, bias, self-loops added (given ones dropped)", 9, EDGES, 6, 3, 4, True, 0.2, True, True),
    graph_case("H=3 F=4 mean over heads, bias [F], slope 0.1", 9, EDGES, 6, 3, 4, False, 0.1, True, True),
    graph_case("H=2 F=3 concat, no self-loops added (node 8 isolated), no bias", 9, EDGES, 5, 2, 3, True, 0.2, False,
               False),
    graph_case("H=1 F=5 slope −0.5, no self-loops", 9, EDGES, 4, 1, 5, True, -0.5, False, True),
]

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch-vectors.json")
with open(path, "w") as f:
    json.dump({"source": f"PyTorch {torch.__version__}, float64, generate.py", "cases": cases}, f)
print(f"{len(cases)} cases → {path}")
