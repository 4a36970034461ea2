// local.wgsl — neighbourhood attention (NATTEN semantics) over a 2-D map; 1-D runs as Y = 1.
//
// The rule, per axis (the 2-D neighbourhood is the product of the y and x windows): axis length n,
// odd kernel k, r = (k − 1) / 2, dilation d, k·d ≤ n. Position i lies in dilation group g = i mod d
// at group index m = (i − g) / d; the group holds n_g = ceil((n − g) / d) positions. In group
// coordinates a query sees
//   non-causal: keys t = s … s + k − 1 with s = clamp(m − r, 0, n_g − k)   (exactly k keys)
//   causal:     keys t = max(m − k + 1, 0) … m                             (never a later key)
// at positions j = g + t·d. score = scale·q·k + rpb[h, ty − my + ky − 1, tx − mx + kx − 1].
//
// One workgroup owns a TILE_Y × TILE_X tile of queries of one (b, h) inside one dilation group
// (gy, gx), in group coordinates. Window starts grow with m by steps of 0 or 1, so the tile's
// neighbourhoods all lie in one REGION of (TILE_Y + KERNEL_Y − 1) × (TILE_X + KERNEL_X − 1) keys:
//
//   for each head-dim chunk of CHUNK_VEC4 vec4s (qk_chunks):
//     load the tile's Q chunk and the region's K chunk              ─ barrier
//     scores[query][neighbour] (+)= q·k over the chunk              ─ barrier
//   per query (one invocation): scale, + rpb, causal mask, softmax   (exact, not online: all
//                                                                      KERNEL_Y·KERNEL_X scores are there)
//   for each value-dim chunk (v_chunks):
//     load the region's V chunk                                     ─ barrier
//     out[query][chunk] = Σ_neighbour p·v, written to global        ─ barrier
// The softmax touches only scores and the V load only kv_tile, so the barrier after the first V
// load also orders the softmax before the first output; no barrier of its own.
//
// Work items are strided over the WORKGROUP_SIZE invocations. An item index always belongs to the
// same invocation, so a score accumulates over chunks with no race. Items of the score phase are
// neighbour-fastest and those of the output phase query-fastest, so neighbouring invocations read
// neighbouring keys of the chunk-major kv_tile ([c4][region key]): no padding needed against bank
// conflicts. Q reads in the score phase are broadcasts.
//
// Workgroup memory (bytes) = 16·TILE_Y·TILE_X·CHUNK_VEC4                            (q_tile)
//                          + 16·(TILE_Y + KERNEL_Y − 1)·(TILE_X + KERNEL_X − 1)·CHUNK_VEC4 (kv_tile, K then V)
//                          + 4·TILE_Y·TILE_X·KERNEL_Y·KERNEL_X                       (scores, then P)
// e.g. 4 × 4 tile, 13 × 13 kernel, CHUNK_VEC4 = 1: 256 + 4096 + 10816 = 15168 ≤ 16384 (WebGPU's minimum).
//
// Index legend: B batch, Hq query heads, Hkv = Hq / kv_group key/value heads, Y × X map,
// D = head_dim (q·k), Dv = value_dim. Element (b, h, y, x, d) of q/k/v/out sits at
// offset + b·stride_b + h·stride_h + y·stride_y + x·stride_x + d, which covers 'bhyxd', 'byxhd' and
// the 1-D layouts (Y = 1). rpb is [Hq, 2·KERNEL_Y − 1, 2·KERNEL_X − 1] from rpb_offset.
// Every vec2 holds (x, y), in that order.
//
// Edge rules (docs/semantics.md §3–4, as in sdpa.wgsl): every query sees at least itself (ky·kx
// keys when not causal). A tile query past its group's end is computed as the group's last query
// and not written. Region keys past the group's end (never a neighbour: they are not loaded from
// out of range) and head-dim lanes past D or Dv are zero-filled. A causal neighbour before
// position 0 does not exist: its logit is −∞. A logit of −∞ (that, or an rpb of −∞) is a removed
// key: P holds REMOVED and its V is not read. NaN and +∞ logits make the row NaN; a row whose
// every logit is −∞ outputs zeros.
//
// Storage types: q, k, v and rpb are u32 words of f32 bits or, with Q_F16 / K_F16 / V_F16 / RPB_F16,
// of two f16 halves (element e is half e % 2 of word e / 2), widened exactly with unpack2x16float
// (no `enable f16`); all arithmetic and the output are f32.

override TILE_Y: u32 = 4;
override TILE_X: u32 = 4;
override KERNEL_Y: u32 = 3;       // odd
override KERNEL_X: u32 = 3;       // odd
override CHUNK_VEC4: u32 = 4;     // head-dim vec4s per chunk
override WORKGROUP_SIZE: u32 = 64;
override HAS_RPB: bool = false;
override IS_CAUSAL_Y: bool = false;
override IS_CAUSAL_X: bool = false;
override Q_F16: bool = false;
override K_F16: bool = false;
override V_F16: bool = false;
override RPB_F16: bool = false;

const REMOVED: f32 = -1.0;  // P of a removed key: no probability is negative

// NaN, tested on the bits: float comparisons may be compiled as ordered (false for any NaN), and
// exp of a NaN need not return NaN on every device (SwiftShader's does not).
fn is_nan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

// Scalars only: wgsl_reflect names a vec2<u32> member 'vec2u', which the uniform packer does not take.
struct LocalParams {
  batch: u32,
  q_heads: u32,
  kv_group: u32,         // Hq / Hkv
  head_dim: u32,
  value_dim: u32,
  qk_chunks: u32,        // ceil(ceil(D / 4) / CHUNK_VEC4)
  v_chunks: u32,         // ceil(ceil(Dv / 4) / CHUNK_VEC4)
  groups_x: u32,         // workgroups along x (the dispatch is folded into y past the x limit)
  map_x: u32,            // X
  map_y: u32,            // Y
  dilation_x: u32,
  dilation_y: u32,
  kernel_x: u32,         // KERNEL_X and KERNEL_Y again, as loop bounds compilers do not unroll
  kernel_y: u32,
  tiles_x: u32,          // tiles per dilation group along x and y
  tiles_y: u32,
  scale: f32,
  minus_infinity: f32,   // −∞, from the host: WGSL has no literal for it
  q_offset: u32, q_stride_b: u32, q_stride_h: u32, q_stride_y: u32, q_stride_x: u32,
  k_offset: u32, k_stride_b: u32, k_stride_h: u32, k_stride_y: u32, k_stride_x: u32,
  v_offset: u32, v_stride_b: u32, v_stride_h: u32, v_stride_y: u32, v_stride_x: u32,
  o_offset: u32, o_stride_b: u32, o_stride_h: u32, o_stride_y: u32, o_stride_x: u32,
  rpb_offset: u32,
}

@group(0) @binding(0) var<uniform> params: LocalParams;
@group(0) @binding(1) var<storage, read> q: array<u32>;  // f32 bits, or f16 halves (Q_F16)
@group(0) @binding(2) var<storage, read> k: array<u32>;
@group(0) @binding(3) var<storage, read> v: array<u32>;
@group(0) @binding(4) var<storage, read> rpb: array<u32>;  // a dummy buffer when HAS_RPB is false
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

var<workgroup> q_tile: array<vec4<f32>, TILE_Y * TILE_X * CHUNK_VEC4>;                                // [query][c4]
var<workgroup> kv_tile: array<vec4<f32>, (TILE_Y + KERNEL_Y - 1u) * (TILE_X + KERNEL_X - 1u) * CHUNK_VEC4>;  // [c4][key]
var<workgroup> scores: array<f32, TILE_Y * TILE_X * KERNEL_Y * KERNEL_X>;                            // [query][neighbour]

struct Tile {
  b: u32,
  h: u32,
  kv_h: u32,
  group: vec2<u32>,    // (gx, gy): the dilation group
  length: vec2<u32>,   // positions of the group along x and y
  first: vec2<u32>,    // group coordinates of the tile's first query
  region: vec2<i32>,   // group coordinates of the region's first key
}

fn region_width() -> u32 { return TILE_X + KERNEL_X - 1u; }
fn region_size() -> u32 { return (TILE_Y + KERNEL_Y - 1u) * region_width(); }
fn tile_queries() -> u32 { return TILE_Y * TILE_X; }
fn neighbours() -> u32 { return KERNEL_Y * KERNEL_X; }

// Group coordinates of the first key of the window of query m (negative before a causal start).
fn window_start(m: vec2<u32>, length: vec2<u32>) -> vec2<i32> {
  let mi = vec2<i32>(m);
  let kernel = vec2<i32>(i32(KERNEL_X), i32(KERNEL_Y));
  let centred = clamp(mi - (kernel - 1) / 2, vec2<i32>(0), vec2<i32>(length) - kernel);
  return select(centred, mi - kernel + 1, vec2<bool>(IS_CAUSAL_X, IS_CAUSAL_Y));
}

fn dilation() -> vec2<u32> { return vec2<u32>(params.dilation_x, params.dilation_y); }

fn locate_tile(wid: u32) -> Tile {
  var rest = wid;
  let tile = vec2<u32>(rest % params.tiles_x, (rest / params.tiles_x) % params.tiles_y);
  rest /= params.tiles_x * params.tiles_y;
  let group = vec2<u32>(rest % params.dilation_x, (rest / params.dilation_x) % params.dilation_y);
  rest /= params.dilation_x * params.dilation_y;
  let h = rest % params.q_heads;
  let length = (vec2<u32>(params.map_x, params.map_y) - group + dilation() - 1u) / dilation();
  let first = tile * vec2<u32>(TILE_X, TILE_Y);
  let region = max(window_start(min(first, length - 1u), length), vec2<i32>(0));
  return Tile(rest / params.q_heads, h, h / params.kv_group, group, length, first, region);
}

// Group coordinates of tile query qi, clamped into the group (a query past the end computes as the last).
fn query_at(t: Tile, qi: u32) -> vec2<u32> {
  return min(t.first + vec2<u32>(qi % TILE_X, qi / TILE_X), t.length - 1u);
}

fn query_in_group(t: Tile, qi: u32) -> bool {
  return all(t.first + vec2<u32>(qi % TILE_X, qi / TILE_X) < t.length);
}

// kv_tile key index of neighbour (u, w) (row u, column w) of a window starting at `start`.
// A causal neighbour before position 0 reads key 0; it is masked in the softmax.
fn region_key(t: Tile, start: vec2<i32>, u: u32, w: u32) -> u32 {
  let rel = max(start + vec2<i32>(i32(w), i32(u)) - t.region, vec2<i32>(0));
  return u32(rel.y) * region_width() + u32(rel.x);
}

// Lanes of the vec4 starting at element d that lie inside a head dim of `dim` (0 … 4).
fn lanes(dim: u32, d: u32) -> u32 {
  return min(dim - min(d, dim), 4u);
}

// Element e of f16 storage from the word that holds it: half e % 2, widened exactly.
fn half_at(word: u32, e: u32) -> f32 {
  let pair = unpack2x16float(word);
  return select(pair.x, pair.y, (e & 1u) == 1u);
}

// Halves e … e+3 from the words w0 (holds e), w1, w2: an odd e straddles three words.
fn halves4(w0: u32, w1: u32, w2: u32, odd: bool) -> vec4<f32> {
  let low = select(w0, (w0 >> 16u) | (w1 << 16u), odd);
  let high = select(w1, (w1 >> 16u) | (w2 << 16u), odd);
  return vec4<f32>(unpack2x16float(low), unpack2x16float(high));
}

// 4 consecutive elements from element `at` (lanes at or past `count` are 0), in the storage type.
fn load_q4(at: u32, count: u32) -> vec4<f32> {
  if (Q_F16) {
    let w = at >> 1u;
    let odd = (at & 1u) == 1u;
    if (count >= 4u) { return halves4(q[w], q[w + 1u], q[w + select(1u, 2u, odd)], odd); }
    var h = vec4<f32>(0.0);
    for (var c = 0u; c < count; c++) { h[c] = half_at(q[(at + c) >> 1u], at + c); }
    return h;
  }
  if (count >= 4u) {
    return vec4<f32>(bitcast<f32>(q[at]), bitcast<f32>(q[at + 1u]), bitcast<f32>(q[at + 2u]), bitcast<f32>(q[at + 3u]));
  }
  var r = vec4<f32>(0.0);
  for (var c = 0u; c < count; c++) { r[c] = bitcast<f32>(q[at + c]); }
  return r;
}

fn load_k4(at: u32, count: u32) -> vec4<f32> {
  if (K_F16) {
    let w = at >> 1u;
    let odd = (at & 1u) == 1u;
    if (count >= 4u) { return halves4(k[w], k[w + 1u], k[w + select(1u, 2u, odd)], odd); }
    var h = vec4<f32>(0.0);
    for (var c = 0u; c < count; c++) { h[c] = half_at(k[(at + c) >> 1u], at + c); }
    return h;
  }
  if (count >= 4u) {
    return vec4<f32>(bitcast<f32>(k[at]), bitcast<f32>(k[at + 1u]), bitcast<f32>(k[at + 2u]), bitcast<f32>(k[at + 3u]));
  }
  var r = vec4<f32>(0.0);
  for (var c = 0u; c < count; c++) { r[c] = bitcast<f32>(k[at + c]); }
  return r;
}

fn load_v4(at: u32, count: u32) -> vec4<f32> {
  if (V_F16) {
    let w = at >> 1u;
    let odd = (at & 1u) == 1u;
    if (count >= 4u) { return halves4(v[w], v[w + 1u], v[w + select(1u, 2u, odd)], odd); }
    var h = vec4<f32>(0.0);
    for (var c = 0u; c < count; c++) { h[c] = half_at(v[(at + c) >> 1u], at + c); }
    return h;
  }
  if (count >= 4u) {
    return vec4<f32>(bitcast<f32>(v[at]), bitcast<f32>(v[at + 1u]), bitcast<f32>(v[at + 2u]), bitcast<f32>(v[at + 3u]));
  }
  var r = vec4<f32>(0.0);
  for (var c = 0u; c < count; c++) { r[c] = bitcast<f32>(v[at + c]); }
  return r;
}

// Element e of the relative position bias, in its storage type.
fn rpb_at(e: u32) -> f32 {
  if (RPB_F16) { return half_at(rpb[e >> 1u], e); }
  return bitcast<f32>(rpb[e]);
}

fn load_q_chunk(t: Tile, chunk: u32, tid: u32) {
  let base = params.q_offset + t.b * params.q_stride_b + t.h * params.q_stride_h;
  for (var idx = tid; idx < tile_queries() * CHUNK_VEC4; idx += WORKGROUP_SIZE) {
    let pos = t.group + query_at(t, idx / CHUNK_VEC4) * dilation();
    let d = (chunk * CHUNK_VEC4 + idx % CHUNK_VEC4) * 4u;
    q_tile[idx] = load_q4(base + pos.y * params.q_stride_y + pos.x * params.q_stride_x + d, lanes(params.head_dim, d));
  }
}

fn load_k_chunk(t: Tile, chunk: u32, tid: u32) {
  let base = params.k_offset + t.b * params.k_stride_b + t.kv_h * params.k_stride_h;
  for (var idx = tid; idx < region_size() * CHUNK_VEC4; idx += WORKGROUP_SIZE) {
    let key = idx % region_size();
    let d = (chunk * CHUNK_VEC4 + idx / region_size()) * 4u;
    let m = vec2<u32>(t.region) + vec2<u32>(key % region_width(), key / region_width());
    var value = vec4<f32>(0.0);
    if (all(m < t.length)) {
      let pos = t.group + m * dilation();
      value = load_k4(base + pos.y * params.k_stride_y + pos.x * params.k_stride_x + d, lanes(params.head_dim, d));
    }
    kv_tile[idx] = value;
  }
}

fn load_v_chunk(t: Tile, chunk: u32, tid: u32) {
  // Zero-filled past the group and past Dv: a masked neighbour's P is 0, and 0 · garbage could be NaN.
  let base = params.v_offset + t.b * params.v_stride_b + t.kv_h * params.v_stride_h;
  for (var idx = tid; idx < region_size() * CHUNK_VEC4; idx += WORKGROUP_SIZE) {
    let key = idx % region_size();
    let d = (chunk * CHUNK_VEC4 + idx / region_size()) * 4u;
    let m = vec2<u32>(t.region) + vec2<u32>(key % region_width(), key / region_width());
    var value = vec4<f32>(0.0);
    if (all(m < t.length)) {
      let pos = t.group + m * dilation();
      value = load_v4(base + pos.y * params.v_stride_y + pos.x * params.v_stride_x + d, lanes(params.value_dim, d));
    }
    kv_tile[idx] = value;
  }
}

fn accumulate_scores(t: Tile, chunk: u32, tid: u32) {
  for (var item = tid; item < tile_queries() * neighbours(); item += WORKGROUP_SIZE) {
    let qi = item / neighbours();
    let n = item % neighbours();
    let key = region_key(t, window_start(query_at(t, qi), t.length), n / KERNEL_X, n % KERNEL_X);
    var s = 0.0;
    for (var c = 0u; c < CHUNK_VEC4; c++) {
      s += dot(q_tile[qi * CHUNK_VEC4 + c], kv_tile[c * region_size() + key]);
    }
    scores[item] = select(s, scores[item] + s, chunk > 0u);
  }
}

fn bias(t: Tile, m: vec2<u32>, start: vec2<i32>, u: u32, w: u32) -> f32 {
  if (!HAS_RPB) { return 0.0; }
  // (key − query) / dilation + kernel − 1 per axis, in 0 … 2·kernel − 2.
  let rel = vec2<u32>(start + vec2<i32>(i32(w), i32(u)) - vec2<i32>(m) + vec2<i32>(i32(KERNEL_X), i32(KERNEL_Y)) - 1);
  let width = 2u * KERNEL_X - 1u;
  return rpb_at(params.rpb_offset + (t.h * (2u * KERNEL_Y - 1u) + rel.y) * width + rel.x);
}

fn softmax_rows(t: Tile, tid: u32) {
  // One invocation per query row: logits (scale, bias, causal mask), max, exp, sum, normalise.
  for (var qi = tid; qi < tile_queries(); qi += WORKGROUP_SIZE) {
    let m = query_at(t, qi);
    let start = window_start(m, t.length);
    let row = qi * neighbours();
    var row_max = params.minus_infinity;
    for (var u = 0u; u < params.kernel_y; u++) {
      for (var w = 0u; w < params.kernel_x; w++) {
        let n = row + u * KERNEL_X + w;
        // Only a causal window starts before 0: a key before it does not exist.
        let exists = all(start + vec2<i32>(i32(w), i32(u)) >= vec2<i32>(0));
        let logit = select(params.minus_infinity, scores[n] * params.scale + bias(t, m, start, u, w), exists);
        scores[n] = logit;
        row_max = max(row_max, logit);
      }
    }
    // A row of only −∞ subtracts 0, so −∞ − (−∞) never makes a NaN.
    let shift = select(row_max, 0.0, row_max == params.minus_infinity);
    var sum = 0.0;
    let end = row + params.kernel_x * params.kernel_y;
    for (var n = row; n < end; n++) {
      let logit = scores[n];
      let removed = logit == params.minus_infinity;
      let d = logit - shift;  // NaN for a NaN logit, and for +∞ − (+∞)
      let p = select(select(exp(d), d, is_nan(d)), 0.0, removed);
      scores[n] = select(p, REMOVED, removed);
      sum += p;
    }
    var inverse = select(1.0 / sum, 0.0, sum == 0.0);  // 0: every key removed
    inverse = select(inverse, sum, is_nan(sum));
    for (var n = row; n < end; n++) {
      let p = scores[n];
      scores[n] = select(p * inverse, REMOVED, p == REMOVED);
    }
  }
}

// Element d of tile query qi's output row.
fn output_at(t: Tile, qi: u32, d: u32) -> u32 {
  let pos = t.group + query_at(t, qi) * dilation();
  return params.o_offset + t.b * params.o_stride_b + t.h * params.o_stride_h + pos.y * params.o_stride_y + pos.x * params.o_stride_x + d;
}

fn write_outputs(t: Tile, chunk: u32, tid: u32) {
  for (var item = tid; item < tile_queries() * CHUNK_VEC4; item += WORKGROUP_SIZE) {
    let qi = item % tile_queries();
    let c = item / tile_queries();
    let m = query_at(t, qi);
    let start = window_start(m, t.length);
    let row = qi * neighbours();
    var acc = vec4<f32>(0.0);
    for (var u = 0u; u < params.kernel_y; u++) {
      for (var w = 0u; w < params.kernel_x; w++) {
        let p = scores[row + u * KERNEL_X + w];
        if (!(p == REMOVED)) { acc += p * kv_tile[c * region_size() + region_key(t, start, u, w)]; }
      }
    }
    let d = (chunk * CHUNK_VEC4 + c) * 4u;
    if (query_in_group(t, qi)) {
      // The address is computed inside the index: wgsl_reflect's race detector (test/node/races-local)
      // shares a user function's result between invocations when it is bound to a `let` first.
      for (var lane = 0u; lane < lanes(params.value_dim, d); lane++) { out[output_at(t, qi, d) + lane] = acc[lane]; }
    }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn local_neighborhood(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let wid = wg.x + wg.y * params.groups_x;
  let groups = params.dilation_x * params.dilation_y * params.tiles_x * params.tiles_y;
  if (wid >= params.batch * params.q_heads * groups) { return; }
  let t = locate_tile(wid);
  if (any(t.first >= t.length)) { return; }  // a tile past the end of a shorter dilation group
  for (var chunk = 0u; chunk < params.qk_chunks; chunk++) {
    load_q_chunk(t, chunk, tid);
    load_k_chunk(t, chunk, tid);
    workgroupBarrier();
    accumulate_scores(t, chunk, tid);
    workgroupBarrier();
  }
  softmax_rows(t, tid);  // ordered before write_outputs by the barrier after the first V load
  for (var chunk = 0u; chunk < params.v_chunks; chunk++) {
    load_v_chunk(t, chunk, tid);
    workgroupBarrier();
    write_outputs(t, chunk, tid);
    workgroupBarrier();
  }
}
