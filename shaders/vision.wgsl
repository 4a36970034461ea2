// vision.wgsl — attention over feature maps (squeeze-and-excitation, CBAM): a channel gate
// g[n, c] and a spatial gate s[n, p] that rescale x. Four entry points, run in this order within one
// submission (docs/semantics.md, "Attention over feature maps"), each pass reading what the last
// one wrote:
//
//   vision_pool          mean and max over one axis of x: over the positions of each channel (the
//                        channel gate's pooling), or over the channels of each position (the spatial
//                        gate's maps, each value times g[n, c] when a channel gate came first)
//   vision_channel_mlp   g = σ(Σ_pool W2·relu(W1·pool + b1) + b2) for one n per workgroup
//   vision_spatial_conv  s = σ(bias + k×k convolution of the [mean, max] maps, zero padding ⌊k/2⌋)
//   vision_scale         out = x·g·s, ELEMENTS elements per invocation (strided by WORKGROUP_SIZE)
//
// vision_pool: one workgroup owns KEEP_TILE items (channels or positions) of one n, and reduces
// each over `reduce` values with LANES invocations (KEEP_TILE·LANES = WORKGROUP_SIZE, LANES a power
// of two). Neighbouring invocations read neighbouring addresses whichever axis is contiguous: with
// LANES_INNER (the reduced axis contiguous) invocation t is lane t % LANES of item t / LANES, and the
// plan takes 8 lanes (32 bytes); otherwise t is lane t / KEEP_TILE of item t % KEEP_TILE, and the
// plan takes 32 items. Each lane sums and maxes values
// lane, lane + LANES, …; a tree over the lanes in workgroup memory finishes:
//   per-lane sum and max → red_sum, red_max ─ barrier; for step = LANES/2 … 1: combine ─ barrier
// A lane with no value (lane ≥ reduce) never enters the tree: no sentinel for max is needed.
//
// vision_channel_mlp: one workgroup per n. The hidden units go through workgroup memory in chunks of
// WORKGROUP_SIZE:
//   for each chunk: u[t] = relu(W1·mean + b1) (+ relu(W1·max + b1) with AVG_MAX) ─ barrier
//                   each invocation adds W2[c, chunk]·u to the logits of its channels c ─ barrier
//   g[c] = σ(logit + b2·(1 or 2)), as W2·u_avg + b2 + W2·u_max + b2 = W2·(u_avg + u_max) + 2·b2.
// The logits live in gate_out, each channel's touched only by the invocation that owns it.
//
// Workgroup memory (bytes) = 8·WORKGROUP_SIZE (vision_pool: red_sum, red_max)
//                          + 4·WORKGROUP_SIZE (vision_channel_mlp: u_tile)
// e.g. WORKGROUP_SIZE = 128: 1024 + 512 (each entry point declares only what it uses).
//
// Index legend: N batch, C channels, H·W = P positions, S hidden units, k kernel size. x element
// (n, c, p) at x_offset + n·C·P + c·P + p ('nchw') or n·P·C + p·C + c ('nhwc'); pool item k of
// batch n, value r at x_offset + n·stride_n + k·stride_k + r·stride_r; pooled (n, k) at 2·(n·items
// + k) (mean) and + 1 (max); gate (n, c) at n·C + c; smap (n, p) at n·P + p; w1 (s, c) at w1_offset
// + s·C + c; w2 (c, s) at w2_offset + c·S + s; conv weight (m, dy, dx) at conv_weight_offset +
// m·k² + dy·k + dx (m = 0 the mean map, 1 the max map). Workgroups are folded into x and y past
// the per-dimension limit: flat workgroup w = wg.y·groups_x + wg.x.
//
// Edge rules: zero padding of the convolution (positions outside the map add nothing); σ(z) =
// 1/(1 + e^−z), so z = ±∞ give 1 and 0. NaN in x: the mean is NaN; whether max keeps it is the
// GPU's max() (WGSL leaves it open).

override WORKGROUP_SIZE: u32 = 128;
override KEEP_TILE: u32 = 1;       // vision_pool: items per workgroup
override LANES: u32 = 128;         // vision_pool: WORKGROUP_SIZE / KEEP_TILE, a power of two
override LANES_INNER: bool = false; // vision_pool: invocation t is lane t % LANES of item t / LANES (else item t % KEEP_TILE)
override GATED: bool = false;      // vision_pool: each value times gate[n, r] (the spatial maps after a channel gate)
override AVG_MAX: bool = false;    // vision_channel_mlp: CBAM's 'avg+max' pooling, else 'avg'
override HAS_B1: bool = false;
override HAS_B2: bool = false;
override HAS_CONV_BIAS: bool = false;
override NHWC: bool = false;       // vision_scale: channels last
override HAS_CHANNEL: bool = false; // vision_scale: multiply by gate
override HAS_SPATIAL: bool = false; // vision_scale: multiply by smap
override ELEMENTS: u32 = 8;        // vision_scale: elements per invocation

struct VisionParams {
  channels: u32,    // C
  positions: u32,   // P = H·W
  height: u32,
  width: u32,
  hidden: u32,      // S
  kernel: u32,      // k
  items: u32,       // vision_pool: kept items per n (C or P)
  reduce: u32,      // vision_pool: values per item (P or C)
  blocks: u32,      // vision_pool: ceil(items / KEEP_TILE)
  stride_n: u32,
  stride_k: u32,
  stride_r: u32,
  total: u32,       // vision_spatial_conv: N·P; vision_scale: N·C·P; else workgroups
  groups_x: u32,
  x_offset: u32,
  w1_offset: u32,
  b1_offset: u32,
  w2_offset: u32,
  b2_offset: u32,
  conv_weight_offset: u32,
  conv_bias_offset: u32,
}

@group(0) @binding(0) var<uniform> params: VisionParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w1: array<f32>;
@group(0) @binding(3) var<storage, read> b1: array<f32>;           // without b1: a dummy
@group(0) @binding(4) var<storage, read> w2: array<f32>;
@group(0) @binding(5) var<storage, read> b2: array<f32>;           // without b2: a dummy
@group(0) @binding(6) var<storage, read> conv_weight: array<f32>;
@group(0) @binding(7) var<storage, read> conv_bias: array<f32>;    // without a bias: a dummy
@group(0) @binding(8) var<storage, read> pooled: array<f32>;       // [N, items, 2]
@group(0) @binding(9) var<storage, read> gate: array<f32>;         // [N, C]; a dummy where unused
@group(0) @binding(10) var<storage, read> smap: array<f32>;        // [N, P]; a dummy where unused
@group(0) @binding(11) var<storage, read_write> pooled_out: array<f32>;
@group(0) @binding(12) var<storage, read_write> gate_out: array<f32>;
@group(0) @binding(13) var<storage, read_write> smap_out: array<f32>;
@group(0) @binding(14) var<storage, read_write> out: array<f32>;

var<workgroup> red_sum: array<f32, WORKGROUP_SIZE>;
var<workgroup> red_max: array<f32, WORKGROUP_SIZE>;
var<workgroup> u_tile: array<f32, WORKGROUP_SIZE>;

fn flat_workgroup(wg: vec3<u32>) -> u32 {
  return wg.y * params.groups_x + wg.x;
}

fn sigmoid(z: f32) -> f32 {
  return 1.0 / (1.0 + exp(-z));
}

// Value r of item k of batch n, times the channel gate where GATED (r is then the channel).
fn pool_value(n: u32, k: u32, r: u32) -> f32 {
  let v = x[params.x_offset + n * params.stride_n + k * params.stride_k + r * params.stride_r];
  if (GATED) { return v * gate[n * params.channels + r]; }
  return v;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn vision_pool(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = flat_workgroup(wg);
  if (w >= params.total) { return; }  // padding of a folded grid: the whole workgroup leaves
  let n = w / params.blocks;
  // Neighbouring invocations: lanes of one item (LANES_INNER: the reduced axis is contiguous), or items.
  var slot = lid % KEEP_TILE;
  var lane = lid / KEEP_TILE;
  var partner = KEEP_TILE;  // slot distance from a lane to the next lane of its item
  if (LANES_INNER) {
    slot = lid / LANES;
    lane = lid % LANES;
    partner = 1u;
  }
  let item = (w % params.blocks) * KEEP_TILE + slot;
  let k = min(item, params.items - 1u);  // items past the end reduce the last one, never written
  var sum = 0.0;
  var most = 0.0;
  if (lane < params.reduce) {
    most = pool_value(n, k, lane);
    sum = most;
    for (var r = lane + LANES; r < params.reduce; r += LANES) {
      let v = pool_value(n, k, r);
      sum += v;
      most = max(most, v);
    }
  }
  red_sum[lid] = sum;
  red_max[lid] = most;
  workgroupBarrier();
  for (var span = LANES / 2u; span > 0u; span /= 2u) {
    if (lane < span && lane + span < params.reduce) {
      red_sum[lid] += red_sum[lid + span * partner];
      red_max[lid] = max(red_max[lid], red_max[lid + span * partner]);
    }
    workgroupBarrier();
  }
  if (lane == 0u && item < params.items) {
    let at = 2u * (n * params.items + item);
    pooled_out[at] = red_sum[lid] / f32(params.reduce);
    pooled_out[at + 1u] = red_max[lid];
  }
}

// Hidden unit s of batch n: relu(W1·mean + b1), plus relu(W1·max + b1) with AVG_MAX.
fn hidden_unit(n: u32, s: u32) -> f32 {
  let C = params.channels;
  var bias = 0.0;
  if (HAS_B1) { bias = b1[params.b1_offset + s]; }
  var from_mean = bias;
  var from_max = bias;
  for (var c = 0u; c < C; c++) {
    let weight = w1[params.w1_offset + s * C + c];
    from_mean += weight * pooled[2u * (n * C + c)];
    if (AVG_MAX) { from_max += weight * pooled[2u * (n * C + c) + 1u]; }
  }
  if (AVG_MAX) { return max(from_mean, 0.0) + max(from_max, 0.0); }
  return max(from_mean, 0.0);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn vision_channel_mlp(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n = flat_workgroup(wg);
  if (n >= params.total) { return; }
  let C = params.channels;
  let S = params.hidden;
  for (var s0 = 0u; s0 < S; s0 += WORKGROUP_SIZE) {
    var u = 0.0;
    if (s0 + lid < S) { u = hidden_unit(n, s0 + lid); }
    u_tile[lid] = u;
    workgroupBarrier();
    let count = min(WORKGROUP_SIZE, S - s0);
    for (var c = lid; c < C; c += WORKGROUP_SIZE) {
      var logit = 0.0;
      if (s0 > 0u) { logit = gate_out[n * C + c]; }
      for (var t = 0u; t < count; t++) {
        logit += w2[params.w2_offset + c * S + s0 + t] * u_tile[t];
      }
      gate_out[n * C + c] = logit;
    }
    workgroupBarrier();
  }
  for (var c = lid; c < C; c += WORKGROUP_SIZE) {
    var bias = 0.0;
    if (HAS_B2) { bias = b2[params.b2_offset + c]; }
    if (AVG_MAX) { bias *= 2.0; }
    gate_out[n * C + c] = sigmoid(gate_out[n * C + c] + bias);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn vision_spatial_conv(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e = flat_workgroup(wg) * WORKGROUP_SIZE + lid;
  if (e >= params.total) { return; }
  let P = params.positions;
  let n = e / P;
  let p = e % P;
  let k = i32(params.kernel);
  let r = k / 2;
  let y = i32(p / params.width);
  let xx = i32(p % params.width);
  var z = 0.0;
  if (HAS_CONV_BIAS) { z = conv_bias[params.conv_bias_offset]; }
  for (var dy = 0; dy < k; dy++) {
    let yy = y + dy - r;
    if (yy < 0 || yy >= i32(params.height)) { continue; }
    for (var dx = 0; dx < k; dx++) {
      let xs = xx + dx - r;
      if (xs < 0 || xs >= i32(params.width)) { continue; }
      let at = 2u * (n * P + u32(yy) * params.width + u32(xs));
      let tap = params.conv_weight_offset + u32(dy * k + dx);
      z += conv_weight[tap] * pooled[at] + conv_weight[tap + u32(k * k)] * pooled[at + 1u];
    }
  }
  smap_out[e] = sigmoid(z);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn vision_scale(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let C = params.channels;
  let P = params.positions;
  let first = flat_workgroup(wg) * WORKGROUP_SIZE * ELEMENTS + lid;
  for (var t = 0u; t < ELEMENTS; t++) {
    let e = first + t * WORKGROUP_SIZE;
    if (e >= params.total) { return; }
    var c = (e / P) % C;
    var p = e % P;
    if (NHWC) {
      c = e % C;
      p = (e / C) % P;
    }
    let n = e / (C * P);
    var v = x[params.x_offset + e];
    if (HAS_CHANNEL) { v *= gate[n * C + c]; }
    if (HAS_SPATIAL) { v *= smap[n * P + p]; }
    out[e] = v;
  }
}
