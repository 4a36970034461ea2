// graph.wgsl — graph attention (GAT; PyTorch Geometric's GATConv) over a graph kept in CSR form,
// grouped by target node: the edges into node i are the CSR slots row_ptr[i] … row_ptr[i + 1] − 1,
// slot e holding the source sources[e] and the edge's position edge_ids[e] in the graph's list.
// h = x·Wᵀ [N, H·F] comes from the GEMM (linear.wgsl) before these three passes:
//
// graph_scores:    invocation (n, k), n < N, k < H: the node's two attention terms
//                  scores[n·H + k] = (Σ_f att_src[k, f]·h[n, k, f], Σ_f att_dst[k, f]·h[n, k, f]).
// graph_softmax:   invocation (i, k): walks node i's segment twice, for head k. First an online
//                  (max, sum) of the logits s = LeakyReLU(src term of j + dst term of i), then
//                  α = exp(s − max)/sum into alpha[e·H + k] (slot order; REMOVED for s = −∞) and,
//                  with RETURN_WEIGHTS, into weights[edge_ids[e]·H + k].
// graph_aggregate: invocation (i, c), c < W (W = H·F with CONCAT, else F): walks node i's segment,
//                  out[i, c] = Σ_e α·h[source, c] (CONCAT: head c / F), or the mean over the heads of
//                  Σ_e α·h[source, k·F + c]; plus bias[c].
//
// The work of node i follows its degree (a node of any degree is walked by its own invocations; no
// N×N matrix and no [E, H·F] tensor exists). Each invocation writes only its own elements and every
// pass reads only what an earlier pass wrote, so there is no workgroup memory and no barrier: the
// passes are ordered by the dispatches. Workgroup memory: 0 bytes.
//
// Index legend: N nodes, H heads (HEADS), F features per head (FEATURES). h element (n, k, f) at
// (n·H + k)·F + f; att_src / att_dst (k, f) at offset + k·F + f; out (i, c) at i·W + c; alpha
// (slot e, k) at e·H + k; weights (edge e, k) at e·H + k. Invocation index (folded over x and y):
// (y·groups_x + x)·WORKGROUP_SIZE + local index, written out in each entry point (wgsl_reflect's
// race detector shares a user function's result between invocations when a `let` holds it).
//
// Edge rules (docs/semantics.md §19, as §3–4): a logit of −∞ removes its edge (α = 0, h of its source
// not read); NaN and +∞ logits make every other α of their node and head NaN (detected on the bits:
// SwiftShader's exp of a NaN is not NaN); a node with no edge, or only removed ones, sums nothing,
// so its output is the bias (or 0).

override HEADS: u32 = 1;
override FEATURES: u32 = 8;
override WORKGROUP_SIZE: u32 = 64;
override CONCAT: bool = true;
override HAS_BIAS: bool = false;
override RETURN_WEIGHTS: bool = false;

const REMOVED: f32 = -1.0;  // α of a removed edge in `alpha`: no probability is negative

struct GraphParams {
  num_nodes: u32,
  groups_x: u32,        // workgroups along x (the dispatch is folded into y past the x limit)
  negative_slope: f32,
  minus_infinity: f32,  // WGSL has no literal for it
  not_a_number: f32,    // nor for NaN (a constant NaN is a shader-creation error)
  att_src_offset: u32,
  att_dst_offset: u32,
  bias_offset: u32,
}

@group(0) @binding(0) var<uniform> params: GraphParams;
@group(0) @binding(1) var<storage, read> hfeat: array<f32>;
@group(0) @binding(2) var<storage, read> att_src: array<f32>;
@group(0) @binding(3) var<storage, read> att_dst: array<f32>;
@group(0) @binding(4) var<storage, read> row_ptr: array<u32>;
@group(0) @binding(5) var<storage, read> sources: array<u32>;
@group(0) @binding(6) var<storage, read> edge_ids: array<u32>;
@group(0) @binding(7) var<storage, read> bias: array<f32>;  // without a bias: a dummy
// Scratch written by one pass and read by the next: (src term, dst term) per (node, head); α per slot.
@group(0) @binding(8) var<storage, read_write> scores: array<vec2<f32>>;
@group(0) @binding(9) var<storage, read_write> alpha: array<f32>;
@group(0) @binding(10) var<storage, read_write> out: array<f32>;
@group(0) @binding(11) var<storage, read_write> weights: array<f32>;  // without returnWeights: a dummy

@compute @workgroup_size(WORKGROUP_SIZE)
fn graph_scores(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let flat = (wg.y * params.groups_x + wg.x) * WORKGROUP_SIZE + tid;
  if (flat >= params.num_nodes * HEADS) { return; }
  let head = flat % HEADS;
  var a_src = 0.0;
  var a_dst = 0.0;
  for (var f = 0u; f < FEATURES; f++) {
    let value = hfeat[flat * FEATURES + f];
    a_src += att_src[params.att_src_offset + head * FEATURES + f] * value;
    a_dst += att_dst[params.att_dst_offset + head * FEATURES + f] * value;
  }
  scores[flat] = vec2<f32>(a_src, a_dst);
}

fn is_nan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

// The logit of edge j → i for head k: LeakyReLU of the two terms (NaN stays NaN).
fn logit(j: u32, i: u32, k: u32) -> f32 {
  let s = scores[j * HEADS + k].x + scores[i * HEADS + k].y;
  return select(params.negative_slope * s, s, s >= 0.0);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn graph_softmax(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let flat = (wg.y * params.groups_x + wg.x) * WORKGROUP_SIZE + tid;
  if (flat >= params.num_nodes * HEADS) { return; }
  let node = flat / HEADS;
  let k = flat % HEADS;
  let start = row_ptr[node];
  let end = row_ptr[node + 1u];
  // Online max and sum; the max is over the finite logits, NaN or +∞ marks the head `bad`.
  var m = params.minus_infinity;
  var l = 0.0;
  var bad = false;
  for (var e = start; e < end; e++) {
    let s = logit(sources[e], node, k);
    if (is_nan(s) || s == -params.minus_infinity) {
      bad = true;
    } else if (s > m) {
      l = select(l * exp(m - s), 0.0, m == params.minus_infinity) + 1.0;
      m = s;
    } else if (!(s == params.minus_infinity)) {
      l += exp(s - m);
    }
  }
  for (var e = start; e < end; e++) {
    let s = logit(sources[e], node, k);
    let removed = s == params.minus_infinity;
    alpha[e * HEADS + k] = select(select(exp(s - m) / l, params.not_a_number, bad), REMOVED, removed);
    if (RETURN_WEIGHTS) {
      weights[edge_ids[e] * HEADS + k] = select(select(exp(s - m) / l, params.not_a_number, bad), 0.0, removed);
    }
  }
}

// Σ α·h[source, column] over node i's slots for head k; a removed edge's h is not read.
fn head_sum(start: u32, end: u32, k: u32, column: u32) -> f32 {
  var acc = 0.0;
  for (var e = start; e < end; e++) {
    let a = alpha[e * HEADS + k];
    if (bitcast<u32>(a) != bitcast<u32>(REMOVED)) { acc += a * hfeat[sources[e] * HEADS * FEATURES + column]; }
  }
  return acc;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn graph_aggregate(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let width = select(FEATURES, HEADS * FEATURES, CONCAT);
  let flat = (wg.y * params.groups_x + wg.x) * WORKGROUP_SIZE + tid;
  if (flat >= params.num_nodes * width) { return; }
  let node = flat / width;
  let c = flat % width;
  let start = row_ptr[node];
  let end = row_ptr[node + 1u];
  var value = 0.0;
  if (CONCAT) {
    value = head_sum(start, end, c / FEATURES, c);
  } else {
    for (var k = 0u; k < HEADS; k++) { value += head_sum(start, end, k, k * FEATURES + c); }
    value = value / f32(HEADS);
  }
  if (HAS_BIAS) { value += bias[params.bias_offset + c]; }
  out[flat] = value;
}
