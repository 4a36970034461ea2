// linear-attention.wgsl — kernelised (linear) attention, Katharopoulos et al. 2020:
//   out_i = φ(q_i)·S / (φ(q_i)·z + eps),   S = Σ_j φ(k_j)ᵀ v_j  [D × Dv],   z = Σ_j φ(k_j)  [D],
// the sums over every key, or (IS_CAUSAL) over j ≤ i. φ is elu(x) + 1 or (FEATURE_RELU) relu(x).
// Cost O(L·D·Dv); no L × L anything, no [L, D, Dv] tensor.
//
// The rows (keys, or queries) of each (batch, head) are cut into chunks of CHUNK rows, and the
// chunks into `segments` runs of segment_chunks; a workgroup owns one segment of one (batch, head)
// and one tile of TILE_DV = 4·VALUE_TILE_VEC4 value columns (dv_tiles tiles cover Dv), and keeps
// that tile's state S[:, tile] and z in workgroup memory while it walks its chunks in order.
//
//   linear_attention_state   (b, kv head, segment s, tile): S_s, z_s = the sums over segment s's keys,
//                            written to `partials_out` [B·Hkv][kv_segments][D][Dv] (z_s from z_at,
//                            [B·Hkv][kv_segments][D], by tile 0 only).
//     start:      S, z = 0                                               ─ barrier
//     per chunk:  load φ(k), v                                           ─ barrier
//                 S += φ(k)ᵀ·v, z += Σ φ(k)                              ─ barrier
//   linear_attention_output  (b, query head h, segment s, tile):
//     start:      S, z = Σ of the partials of kv segments < s (causal: the prefix; the scan over
//                 segments happens here), or of every kv segment (not causal)   ─ barrier
//     per chunk, not causal:  load φ(q)                                 ─ barrier ─ barrier
//                             out = φ(q)·S / (φ(q)·z + eps)             ─ barrier ─ barrier
//     per chunk, causal:      load φ(q), φ(k), v                        ─ barrier
//                             A[i][j] = φ(q_i)·φ(k_j) for j ≤ i, else 0 (CHUNK × CHUNK) ─ barrier
//                             out_i = (φ(q_i)·S + Σ_j A[i][j]·v_j) / (φ(q_i)·z + Σ_j A[i][j] + eps)
//                                                                       ─ barrier
//                             S += φ(k)ᵀ·v, z += Σ φ(k)                 ─ barrier
// so the causal output pass is the chunked prefix sum: each chunk sees the state of every chunk
// before it plus its own lower triangle. With one segment (short inputs) the causal call runs the
// output pass alone, from S = 0.
//
// Work items are strided over the WORKGROUP_SIZE invocations; each phase's items are column-fastest
// (neighbouring invocations read neighbouring state and v entries; φ reads are broadcasts). Values
// that differ between invocations are computed inline, never bound to a `let` from a user function:
// wgsl_reflect's race detector (test/node/races-linear-attention.test.ts) shares such a result
// between invocations.
//
// Workgroup memory (bytes) = 16·4·HEAD_DIM_VEC4·VALUE_TILE_VEC4     (state: S[d][c4], d < 4·HEAD_DIM_VEC4)
//                          + 16·HEAD_DIM_VEC4                        (zsum)
//                          + 16·2·CHUNK·HEAD_DIM_VEC4                (phi_q, phi_k)
//                          + 16·CHUNK·VALUE_TILE_VEC4                (v_tile)
//                          + 4·CHUNK·CHUNK                           (scores, causal)
// e.g. D = 64 (HEAD_DIM_VEC4 = 16), 16 value columns, CHUNK = 16: 4096 + 256 + 8192 + 1024 + 1024
// = 14592 ≤ 16384 (WebGPU's minimum).
//
// Index legend: B batch, Hq query heads, Hkv = Hq / kv_group key/value heads (query head h reads kv
// head h / kv_group), Lq = q_len, Lk = kv_len (causal: Lq = Lk), D = head_dim, Dv = value_dim; all
// tensors bhsd and contiguous: q (b, h, i, d) at q_offset + ((b·Hq + h)·Lq + i)·D + d, k and v
// likewise with Hkv and Lk, out (b, h, i, c) at ((b·Hq + h)·Lq + i)·Dv + c.
//
// Edge rules: rows past L and head-dim lanes past D are zero after φ (φ(0) = 1 for elu + 1, so φ
// is applied to real elements only); value columns past Dv are zero and not written. The
// denominator is ≥ eps > 0, so a row whose products are all 0 (relu) outputs 0. NaN and ±∞ inputs
// are not specified (docs/semantics.md §15).
//
// Storage types: q, k, v are u32 words of f32 bits or, with Q_F16 / K_F16 / V_F16, of two f16
// halves (element e is half e % 2 of word e / 2), widened exactly with unpack2x16float; the
// arithmetic, the partials and the output are f32.

override HEAD_DIM_VEC4: u32 = 16;     // ceil(D / 4)
override VALUE_TILE_VEC4: u32 = 4;    // value columns per workgroup / 4
override CHUNK: u32 = 16;             // rows per chunk
override WORKGROUP_SIZE: u32 = 64;
override FEATURE_RELU: bool = false;  // φ = relu (else elu + 1)
override IS_CAUSAL: bool = false;
override Q_F16: bool = false;
override K_F16: bool = false;
override V_F16: bool = false;

struct LinearAttentionParams {
  q_heads: u32,          // Hq
  kv_heads: u32,         // Hkv
  q_len: u32,
  kv_len: u32,
  head_dim: u32,
  value_dim: u32,
  dv_tiles: u32,         // ceil(Dv / TILE_DV)
  segments: u32,         // segments of this dispatch per (batch, head)
  segment_chunks: u32,   // chunks per segment
  kv_segments: u32,      // partials held per (batch, kv head)
  workgroups: u32,       // workgroups of the dispatch: B·heads·segments·dv_tiles
  groups_x: u32,         // workgroups along x (the grid is folded into y past the x limit)
  q_offset: u32,
  k_offset: u32,
  v_offset: u32,
  z_at: u32,             // element of the partials where the z partials start
  eps: f32,
}

@group(0) @binding(0) var<uniform> params: LinearAttentionParams;
@group(0) @binding(1) var<storage, read> q: array<u32>;  // f32 bits, or f16 halves (Q_F16)
@group(0) @binding(2) var<storage, read> k: array<u32>;
@group(0) @binding(3) var<storage, read> v: array<u32>;
@group(0) @binding(4) var<storage, read> partials: array<f32>;  // a dummy buffer when nothing is summed
@group(0) @binding(5) var<storage, read_write> partials_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

var<workgroup> state: array<vec4<f32>, 4u * HEAD_DIM_VEC4 * VALUE_TILE_VEC4>;  // [d][c4]
var<workgroup> zsum: array<vec4<f32>, HEAD_DIM_VEC4>;
var<workgroup> phi_q: array<vec4<f32>, CHUNK * HEAD_DIM_VEC4>;              // [i][d4]
var<workgroup> phi_k: array<vec4<f32>, CHUNK * HEAD_DIM_VEC4>;              // [j][d4]
var<workgroup> v_tile: array<vec4<f32>, CHUNK * VALUE_TILE_VEC4>;           // [j][c4]
var<workgroup> scores: array<f32, CHUNK * CHUNK>;                           // [i][j]

// What one workgroup owns.
struct Work {
  bh: u32,       // b·heads + head (heads: Hq in the output pass, Hkv in the state pass)
  bkv: u32,      // b·Hkv + kv head
  segment: u32,
  tile: u32,
}

fn locate(wid: u32, heads: u32) -> Work {
  let tile = wid % params.dv_tiles;
  let rest = wid / params.dv_tiles;
  let bh = rest / params.segments;
  let group = heads / params.kv_heads;
  let bkv = (bh / heads) * params.kv_heads + (bh % heads) / group;
  return Work(bh, bkv, rest % params.segments, tile);
}

fn lanes(dim: u32, d: u32) -> u32 {
  return min(dim - min(d, dim), 4u);
}

// φ of 4 elements, of which the first `count` are real (the rest are 0, not φ(0)).
fn phi4(x: vec4<f32>, count: u32) -> vec4<f32> {
  var f = x + vec4<f32>(1.0);
  f = select(exp(min(x, vec4<f32>(0.0))), f, x > vec4<f32>(0.0));
  if (FEATURE_RELU) { f = max(x, vec4<f32>(0.0)); }
  return select(vec4<f32>(0.0), f, vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(count));
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
  var r = vec4<f32>(0.0);
  if (Q_F16) {
    if (count >= 4u) {
      let w = at >> 1u;
      let odd = (at & 1u) == 1u;
      return halves4(q[w], q[w + 1u], q[w + select(1u, 2u, odd)], odd);
    }
    for (var c = 0u; c < count; c++) { r[c] = half_at(q[(at + c) >> 1u], at + c); }
    return r;
  }
  if (count >= 4u) {
    return vec4<f32>(bitcast<f32>(q[at]), bitcast<f32>(q[at + 1u]), bitcast<f32>(q[at + 2u]), bitcast<f32>(q[at + 3u]));
  }
  for (var c = 0u; c < count; c++) { r[c] = bitcast<f32>(q[at + c]); }
  return r;
}

fn load_k4(at: u32, count: u32) -> vec4<f32> {
  var r = vec4<f32>(0.0);
  if (K_F16) {
    if (count >= 4u) {
      let w = at >> 1u;
      let odd = (at & 1u) == 1u;
      return halves4(k[w], k[w + 1u], k[w + select(1u, 2u, odd)], odd);
    }
    for (var c = 0u; c < count; c++) { r[c] = half_at(k[(at + c) >> 1u], at + c); }
    return r;
  }
  if (count >= 4u) {
    return vec4<f32>(bitcast<f32>(k[at]), bitcast<f32>(k[at + 1u]), bitcast<f32>(k[at + 2u]), bitcast<f32>(k[at + 3u]));
  }
  for (var c = 0u; c < count; c++) { r[c] = bitcast<f32>(k[at + c]); }
  return r;
}

fn load_v4(at: u32, count: u32) -> vec4<f32> {
  var r = vec4<f32>(0.0);
  if (V_F16) {
    if (count >= 4u) {
      let w = at >> 1u;
      let odd = (at & 1u) == 1u;
      return halves4(v[w], v[w + 1u], v[w + select(1u, 2u, odd)], odd);
    }
    for (var c = 0u; c < count; c++) { r[c] = half_at(v[(at + c) >> 1u], at + c); }
    return r;
  }
  if (count >= 4u) {
    return vec4<f32>(bitcast<f32>(v[at]), bitcast<f32>(v[at + 1u]), bitcast<f32>(v[at + 2u]), bitcast<f32>(v[at + 3u]));
  }
  for (var c = 0u; c < count; c++) { r[c] = bitcast<f32>(v[at + c]); }
  return r;
}

// φ(q) of the chunk's rows (zero past q_len).
fn load_phi_q(w: Work, first: u32, tid: u32) {
  for (var idx = tid; idx < CHUNK * HEAD_DIM_VEC4; idx += WORKGROUP_SIZE) {
    let row = first + idx / HEAD_DIM_VEC4;
    let d = (idx % HEAD_DIM_VEC4) * 4u;
    let count = select(0u, min(params.head_dim - min(d, params.head_dim), 4u), row < params.q_len);
    let at = params.q_offset + (w.bh * params.q_len + min(row, params.q_len - 1u)) * params.head_dim + d;
    phi_q[idx] = phi4(load_q4(at, count), count);
  }
}

// φ(k) and the tile's v columns of the chunk's rows (zero past kv_len and past Dv).
fn load_phi_k_v(w: Work, first: u32, tid: u32) {
  for (var idx = tid; idx < CHUNK * HEAD_DIM_VEC4; idx += WORKGROUP_SIZE) {
    let row = first + idx / HEAD_DIM_VEC4;
    let d = (idx % HEAD_DIM_VEC4) * 4u;
    let count = select(0u, min(params.head_dim - min(d, params.head_dim), 4u), row < params.kv_len);
    let at = params.k_offset + (w.bkv * params.kv_len + min(row, params.kv_len - 1u)) * params.head_dim + d;
    phi_k[idx] = phi4(load_k4(at, count), count);
  }
  for (var idx = tid; idx < CHUNK * VALUE_TILE_VEC4; idx += WORKGROUP_SIZE) {
    let row = first + idx / VALUE_TILE_VEC4;
    let c = w.tile * VALUE_TILE_VEC4 * 4u + (idx % VALUE_TILE_VEC4) * 4u;
    let count = select(0u, min(params.value_dim - min(c, params.value_dim), 4u), row < params.kv_len);
    let at = params.v_offset + (w.bkv * params.kv_len + min(row, params.kv_len - 1u)) * params.value_dim + c;
    v_tile[idx] = load_v4(at, count);
  }
}

// S += φ(k)ᵀ·v and z += Σ φ(k) over the chunk: item (d4, c4) owns state rows 4·d4 … +3 of column vec4 c4.
fn update_state(tid: u32) {
  for (var idx = tid; idx < HEAD_DIM_VEC4 * VALUE_TILE_VEC4; idx += WORKGROUP_SIZE) {
    let d4 = idx / VALUE_TILE_VEC4;
    let c4 = idx % VALUE_TILE_VEC4;
    let row = 4u * d4 * VALUE_TILE_VEC4 + c4;
    var s0 = state[row];
    var s1 = state[row + VALUE_TILE_VEC4];
    var s2 = state[row + 2u * VALUE_TILE_VEC4];
    var s3 = state[row + 3u * VALUE_TILE_VEC4];
    var z = vec4<f32>(0.0);
    for (var j = 0u; j < CHUNK; j++) {
      let f = phi_k[j * HEAD_DIM_VEC4 + d4];
      let x = v_tile[j * VALUE_TILE_VEC4 + c4];
      s0 += f.x * x;
      s1 += f.y * x;
      s2 += f.z * x;
      s3 += f.w * x;
      z += f;
    }
    state[row] = s0;
    state[row + VALUE_TILE_VEC4] = s1;
    state[row + 2u * VALUE_TILE_VEC4] = s2;
    state[row + 3u * VALUE_TILE_VEC4] = s3;
    if (c4 == 0u) { zsum[d4] += z; }
  }
}

// A[i][j] = φ(q_i)·φ(k_j) for j ≤ i within the chunk, else 0.
fn chunk_scores(tid: u32) {
  for (var idx = tid; idx < CHUNK * CHUNK; idx += WORKGROUP_SIZE) {
    let i = idx / CHUNK;
    let j = idx % CHUNK;
    var s = 0.0;
    for (var d4 = 0u; d4 < HEAD_DIM_VEC4; d4++) { s += dot(phi_q[i * HEAD_DIM_VEC4 + d4], phi_k[j * HEAD_DIM_VEC4 + d4]); }
    scores[idx] = select(0.0, s, j <= i);
  }
}

// out rows of the chunk: (φ(q)·S [+ A·v]) / (φ(q)·z [+ Σ A] + eps), item (i, c4).
fn write_outputs(w: Work, first: u32, tid: u32) {
  for (var idx = tid; idx < CHUNK * VALUE_TILE_VEC4; idx += WORKGROUP_SIZE) {
    let i = idx / VALUE_TILE_VEC4;
    let c4 = idx % VALUE_TILE_VEC4;
    var num = vec4<f32>(0.0);
    var den = params.eps;
    for (var d4 = 0u; d4 < HEAD_DIM_VEC4; d4++) {
      let f = phi_q[i * HEAD_DIM_VEC4 + d4];
      let row = 4u * d4 * VALUE_TILE_VEC4 + c4;
      num += f.x * state[row] + f.y * state[row + VALUE_TILE_VEC4] + f.z * state[row + 2u * VALUE_TILE_VEC4] +
             f.w * state[row + 3u * VALUE_TILE_VEC4];
      den += dot(f, zsum[d4]);
    }
    if (IS_CAUSAL) {
      for (var j = 0u; j < CHUNK; j++) {
        let a = scores[i * CHUNK + j];
        num += a * v_tile[j * VALUE_TILE_VEC4 + c4];
        den += a;
      }
    }
    let row = first + i;
    let c = w.tile * VALUE_TILE_VEC4 * 4u + c4 * 4u;
    if (row < params.q_len) {
      let at = (w.bh * params.q_len + row) * params.value_dim + c;
      for (var lane = 0u; lane < lanes(params.value_dim, c); lane++) { out[at + lane] = num[lane] / den; }
    }
  }
}

// S, z = the sums of the first `count` kv segments' partials (0 when count = 0).
fn init_state(w: Work, count: u32, tid: u32) {
  let first = w.bkv * params.kv_segments;
  for (var idx = tid; idx < 4u * HEAD_DIM_VEC4 * VALUE_TILE_VEC4; idx += WORKGROUP_SIZE) {
    let d = idx / VALUE_TILE_VEC4;
    let c = w.tile * VALUE_TILE_VEC4 * 4u + (idx % VALUE_TILE_VEC4) * 4u;
    var sum = vec4<f32>(0.0);
    if (d < params.head_dim) {
      for (var s = 0u; s < count; s++) {
        let at = ((first + s) * params.head_dim + d) * params.value_dim + c;
        for (var lane = 0u; lane < lanes(params.value_dim, c); lane++) { sum[lane] += partials[at + lane]; }
      }
    }
    state[idx] = sum;
  }
  for (var d4 = tid; d4 < HEAD_DIM_VEC4; d4 += WORKGROUP_SIZE) {
    var z = vec4<f32>(0.0);
    for (var s = 0u; s < count; s++) {
      let at = params.z_at + (first + s) * params.head_dim + d4 * 4u;
      for (var lane = 0u; lane < lanes(params.head_dim, d4 * 4u); lane++) { z[lane] += partials[at + lane]; }
    }
    zsum[d4] = z;
  }
}

// The segment's chunks: [first, end) of ceil(rows / CHUNK).
fn chunk_range(w: Work, rows: u32) -> vec2<u32> {
  let chunks = (rows + CHUNK - 1u) / CHUNK;
  let first = w.segment * params.segment_chunks;
  return vec2<u32>(first, min(first + params.segment_chunks, chunks));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn linear_attention_state(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let wid = wg.x + wg.y * params.groups_x;
  if (wid >= params.workgroups) { return; }
  let w = locate(wid, params.kv_heads);
  init_state(w, 0u, tid);
  let range = chunk_range(w, params.kv_len);
  workgroupBarrier();
  for (var chunk = range.x; chunk < range.y; chunk++) {
    load_phi_k_v(w, chunk * CHUNK, tid);
    workgroupBarrier();
    update_state(tid);
    workgroupBarrier();
  }
  let first = w.bkv * params.kv_segments + w.segment;
  for (var idx = tid; idx < 4u * HEAD_DIM_VEC4 * VALUE_TILE_VEC4; idx += WORKGROUP_SIZE) {
    let d = idx / VALUE_TILE_VEC4;
    let c = w.tile * VALUE_TILE_VEC4 * 4u + (idx % VALUE_TILE_VEC4) * 4u;
    if (d < params.head_dim) {
      let at = (first * params.head_dim + d) * params.value_dim + c;
      for (var lane = 0u; lane < lanes(params.value_dim, c); lane++) { partials_out[at + lane] = state[idx][lane]; }
    }
  }
  if (w.tile == 0u) {
    for (var d = tid; d < params.head_dim; d += WORKGROUP_SIZE) {
      partials_out[params.z_at + first * params.head_dim + d] = zsum[d / 4u][d % 4u];
    }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn linear_attention_output(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let wid = wg.x + wg.y * params.groups_x;
  if (wid >= params.workgroups) { return; }
  let w = locate(wid, params.q_heads);
  init_state(w, select(params.kv_segments, w.segment, IS_CAUSAL), tid);
  let range = chunk_range(w, params.q_len);
  workgroupBarrier();
  // The barriers stand outside the `if (IS_CAUSAL)` blocks: wgsl_reflect's race detector does not
  // order accesses by a barrier inside an `if`, even one on an override.
  for (var chunk = range.x; chunk < range.y; chunk++) {
    load_phi_q(w, chunk * CHUNK, tid);
    if (IS_CAUSAL) { load_phi_k_v(w, chunk * CHUNK, tid); }
    workgroupBarrier();
    if (IS_CAUSAL) { chunk_scores(tid); }
    workgroupBarrier();
    write_outputs(w, chunk * CHUNK, tid);
    workgroupBarrier();
    if (IS_CAUSAL) { update_state(tid); }
    workgroupBarrier();
  }
}
