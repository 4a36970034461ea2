// rollout.wgsl — the per-layer matrices of attention rollout (Abnar and Zuidema 2020;
// docs/semantics.md, "Attention rollout"). The products R = Â_N ⋯ Â_1 run on the GEMM of
// linear.wgsl; this file makes each Â from a layer's weights [B, H, L, L]:
//
//   rollout_fuse  fused[b, i, j] = mean, max or min over h of weights[b, h, i, j]; one invocation
//                 per element, heads read in order (neighbouring invocations, neighbouring j)
//   rollout_rows  one workgroup per row (b, i) of fused: the discard, the residual, the
//                 renormalisation; writes Â[b, i, j] at i·L + j, or at j·L + i with TRANSPOSE
//                 (the GEMM computes X·Wᵀ, so a transposed Â is its W)
//
// rollout_rows, for each block of WORKGROUP_SIZE columns j (one per invocation):
//   with discard_count > 0, the rank of entry j among the row's off-diagonal entries: count the
//   k ≠ i, k ≠ j with a_k < a_j, or a_k = a_j and k < j, reading the row from `fused` (every
//   invocation reads the same a_k at once; no tile and no barrier: a broadcast from the cache),
//   stopping as soon as the answer is known
//   a_j = 0 where j ≠ i and rank < discard_count; with RESIDUAL a_j = 0.5·a_j + 0.5·[j = i];
//   write a_j, add it to the invocation's partial sum
// with RESIDUAL: the partial sums → a tree in red_sum ─ barriers; each invocation divides its own
// written entries by the row sum (it reads back only what it wrote).
//
// Workgroup memory (bytes) = 4·WORKGROUP_SIZE (red_sum)
// e.g. WORKGROUP_SIZE = 128: 512 (rollout_rows only).
//
// Index legend: B batch, H heads, L tokens. weights (b, h, i, j) at w_offset + ((b·H + h)·L + i)·L
// + j; fused (b, i, j) at (b·L + i)·L + j; out (b, i, j) at b·L² + i·L + j (b·L² + j·L + i with
// TRANSPOSE). Workgroups are folded into x and y past the per-dimension limit: flat workgroup
// w = wg.y·groups_x + wg.x.
//
// Edge rules: the diagonal is never discarded, and never counted when ranking; NaN compares false
// both ways (as in the reference, which counts the same way), so ranks stay well defined. A row
// whose residual sum is 0 (negative weights) divides by 0 as the reference does.

override WORKGROUP_SIZE: u32 = 128;  // a power of two
override FUSION: u32 = 0u;           // 0 mean, 1 max, 2 min
override RESIDUAL: bool = true;
override TRANSPOSE: bool = false;

struct RolloutParams {
  heads: u32,          // H
  length: u32,         // L
  total: u32,          // rollout_fuse: B·L·L elements; rollout_rows: B·L rows
  groups_x: u32,
  discard_count: u32,  // ⌊ratio·L⌋
  w_offset: u32,
}

@group(0) @binding(0) var<uniform> params: RolloutParams;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<storage, read> fused: array<f32>;
@group(0) @binding(3) var<storage, read_write> fused_out: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

var<workgroup> red_sum: array<f32, WORKGROUP_SIZE>;

fn flat_workgroup(wg: vec3<u32>) -> u32 {
  return wg.y * params.groups_x + wg.x;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn rollout_fuse(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e = flat_workgroup(wg) * WORKGROUP_SIZE + lid;
  if (e >= params.total) { return; }
  let LL = params.length * params.length;
  let b = e / LL;
  let at = params.w_offset + b * params.heads * LL + e % LL;
  var acc = weights[at];
  for (var h = 1u; h < params.heads; h++) {
    let v = weights[at + h * LL];
    if (FUSION == 0u) { acc += v; } else if (FUSION == 1u) { acc = max(acc, v); } else { acc = min(acc, v); }
  }
  if (FUSION == 0u) { acc /= f32(params.heads); }
  fused_out[e] = acc;
}

// Whether off-diagonal entry j (value a) of the row at `base` is among the discard_count lowest:
// fewer than n = discard_count of the other L − 2 off-diagonal entries come before it. Every other
// entry is either before or after j, so the count stops as soon as n are before (kept) or
// L − 1 − n are after (discarded): the same answer as a full count, in fewer reads.
fn discarded(base: u32, i: u32, j: u32, a: f32) -> bool {
  let L = params.length;
  let n = params.discard_count;
  let enough_after = L - 1u - n;  // (L − 2) − n + 1
  var before = 0u;
  var after = 0u;
  for (var k = 0u; k < L; k++) {
    if (before >= n || after >= enough_after) { break; }
    if (k == i || k == j) { continue; }
    let ak = fused[base + k];  // every invocation reads the same entry: a broadcast from the cache
    if (ak < a || (ak == a && k < j)) { before++; } else { after++; }
  }
  return before < n;
}

// Where entry (row, j) of Â goes: the row's b·L² block, transposed or not.
fn out_index(row: u32, j: u32) -> u32 {
  let L = params.length;
  let b = row / L;
  let i = row % L;
  if (TRANSPOSE) { return b * L * L + j * L + i; }
  return b * L * L + i * L + j;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn rollout_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = flat_workgroup(wg);
  if (row >= params.total) { return; }
  let L = params.length;
  let i = row % L;
  let base = row * L;
  var partial = 0.0;
  for (var j0 = 0u; j0 < L; j0 += WORKGROUP_SIZE) {
    let j = j0 + lid;
    if (j < L) {
      let a = fused[base + j];
      var kept = a;
      if (j != i && params.discard_count > 0u && discarded(base, i, j, a)) { kept = 0.0; }
      if (RESIDUAL) { kept = 0.5 * kept + select(0.0, 0.5, j == i); }
      partial += kept;
      out[out_index(row, j)] = kept;
    }
  }
  if (!RESIDUAL) { return; }
  red_sum[lid] = partial;
  workgroupBarrier();
  for (var span = WORKGROUP_SIZE / 2u; span > 0u; span /= 2u) {
    if (lid < span) { red_sum[lid] += red_sum[lid + span]; }
    workgroupBarrier();
  }
  let sum = red_sum[0];
  for (var j = lid; j < L; j += WORKGROUP_SIZE) {
    out[out_index(row, j)] /= sum;
  }
}
