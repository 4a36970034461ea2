// additive.wgsl — tiled additive (Bahdanau) attention with an online softmax:
//   score(i, j) = Σ_a va[a]·tanh(pq[i, a] + pk[j, a]),  out[i] = Σ_j softmax_j(score + mask)·v[j]
// where pq = q·wqᵀ + bias and pk = k·wkᵀ are the projections the GEMM (linear.wgsl) wrote before,
// [B·Lq, A] and [B·Lk, A] row-major f32. The [Lq, Lk, A] tensor of tanh terms never exists: each
// term is made in registers and summed into its score.
//
// additive_forward: one workgroup owns BLOCK_Q consecutive queries of one batch b. It keeps their
// pq rows and va in workgroup memory for the whole run and streams pk and v through one shared tile
// of TILE_KV keys, as sdpa.wgsl does:
//
//   load pq rows, va; O = 0                       (once)        ─ barrier
//   for each key tile causal allows:              (the others are never loaded)
//     load pk tile                                              ─ barrier
//     S = Σ_a va·tanh(pq + pk), masked            blocks of 4 queries × 1 key ─ barrier
//     online softmax → P, α  ┐                    one invocation per 4 queries (vec4)
//     load v tile (into the pk tile)  ┘                          ─ barrier
//     O = α·O + P·V                               each invocation: 4 queries × 4 columns ─ barrier
//   O /= row sum; write O (and, with WRITE_STATS, each row's max and sum)
//
// The work per tile is BLOCK_Q·TILE_KV·A tanh terms, far more than the BLOCK_Q·TILE_KV·Dv products
// of P·V, so WORKGROUP_SIZE is planned for the scores ((BLOCK_Q/4)·(TILE_KV/4) invocations, 4
// blocks of 4 queries × 1 key each) and the output accumulates in workgroup memory (o_tile),
// whatever Dv is: every loop is strided by WORKGROUP_SIZE, and an o_tile entry is only ever
// touched by the invocation that owns its index.
//
// additive_weights (returnWeights): one invocation per (b, i, j) recomputes the score and writes
// weight = exp(s − max)/sum from the row's max and sum that the forward left in `stats`: the weights
// are those the output was made with, and no [Lq, Lk] matrix is needed to make the output.
//
// Workgroup memory (bytes) = 16·BLOCK_Q·ATT_DIM_VEC4        (q_tile: pq rows)
//                          + 16·TILE_KV·KV_STRIDE           (kv_tile: pk, then v)
//                          + 4·TILE_KV·BLOCK_Q              (p_tile)
//                          + 16·BLOCK_Q·VALUE_DIM_VEC4      (o_tile)
//                          + 16·ATT_DIM_VEC4                (va_tile)
//                          + 12·BLOCK_Q                     (row_max, row_sum, row_alpha)
// e.g. BLOCK_Q = TILE_KV = 32, A = Dv = 64 (KV_STRIDE = 17): 8192 + 8704 + 4096 + 8192 + 256 + 384
// = 29824. KV_STRIDE ≥ max(ATT_DIM_VEC4, VALUE_DIM_VEC4) is odd (neighbouring keys, other banks).
//
// Index legend: B batch, Lq queries, Lk keys, A = att_dim (the projections' width), Dv = value_dim.
// pq element (b, i, a) at (b·Lq + i)·A + a; pk (b, j, a) at (b·Lk + j)·A + a; v (b, j, c) at
// v_offset + (b·Lk + j)·Dv + c; out (b, i, c) at (b·Lq + i)·Dv + c; stats of row (b, i) at
// 2·(b·Lq + i) (max) and + 1 (sum); weights (b, i, j) at (b·Lq + i)·Lk + j. Mask element (b, i, j)
// at m_offset + b·m_stride_b + i·m_stride_q + j·m_stride_k (0 strides broadcast).
// Workgroup w of the forward (folded over x and y) is b·q_blocks + block.
//
// Edge rules (docs/semantics.md §3–4, §14): a key is allowed when j < Lk, (not causal or j ≤ i) and
// a boolean mask holds 1 there; the logit of a key that is not allowed is −∞ and never used. A
// float mask is added to the score as it is; a logit of −∞ removes the key (weight 0, its v row not
// read: P holds REMOVED there). NaN and +∞ logits are not repaired: they make the row NaN. A row
// whose every logit is −∞ outputs zeros and weights 0. tanh is taken of the argument clamped to
// ±15 (tanh(15) is 1 in f32), NaN kept: SwiftShader's tanh is NaN from |x| ≥ 89.
//
// Storage types: v, va and a float mask are u32 words of f32 bits or, with V_F16 / VA_F16 /
// MASK_F16, of two f16 halves (element e is half e % 2 of word e / 2), widened exactly with
// unpack2x16float. q, k, the projection weights and the bias are read by the GEMM, which widens them.

override BLOCK_Q: u32 = 32;         // queries per workgroup, multiple of 4
override TILE_KV: u32 = 32;         // keys per tile, multiple of 4
override ATT_DIM_VEC4: u32 = 16;    // ceil(A / 4)
override VALUE_DIM_VEC4: u32 = 16;  // ceil(Dv / 4)
override KV_STRIDE: u32 = 17;       // vec4s per key row in kv_tile
override WORKGROUP_SIZE: u32 = 64;
override IS_CAUSAL: bool = false;
override HAS_MASK: bool = false;
override MASK_IS_BOOL: bool = false;
override MASK_F16: bool = false;    // a float mask holds f16 halves
override V_F16: bool = false;       // v holds f16 halves
override VA_F16: bool = false;      // va holds f16 halves
override WRITE_STATS: bool = false; // the forward writes each row's (max, sum) for additive_weights

const REMOVED: f32 = -1.0;  // P of a removed key: no probability is negative
const LOG2E: f32 = 1.4426950408889634;

struct AdditiveParams {
  batch: u32,
  q_len: u32,
  kv_len: u32,
  att_dim: u32,       // A
  value_dim: u32,     // Dv
  q_blocks: u32,      // ceil(Lq / BLOCK_Q)
  att_dim_vec4: u32,  // ATT_DIM_VEC4 and TILE_KV as uniforms: loop bounds compilers do not unroll
  tile_kv: u32,
  groups_x: u32,      // workgroups along x (the dispatch is folded into y past the x limit)
  minus_infinity: f32,
  va_offset: u32,
  v_offset: u32,
  m_offset: u32,
  m_stride_b: u32,
  m_stride_q: u32,
  m_stride_k: u32,
}

@group(0) @binding(0) var<uniform> params: AdditiveParams;
@group(0) @binding(1) var<storage, read> pq: array<f32>;
@group(0) @binding(2) var<storage, read> pk: array<f32>;
// va, v: f32 bits or f16 halves (VA_F16, V_F16). Boolean masks are bytes packed four to a word.
@group(0) @binding(3) var<storage, read> va: array<u32>;
@group(0) @binding(4) var<storage, read> v: array<u32>;
@group(0) @binding(5) var<storage, read> mask: array<u32>;  // unused: a dummy buffer
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<storage, read_write> stats: array<f32>;  // without returnWeights: a dummy
@group(0) @binding(8) var<storage, read_write> weights: array<f32>;

var<workgroup> q_tile: array<vec4<f32>, BLOCK_Q * ATT_DIM_VEC4>;     // [row][a4]
var<workgroup> kv_tile: array<vec4<f32>, TILE_KV * KV_STRIDE>;       // [key][a4 | c4], pk then v
var<workgroup> p_tile: array<vec4<f32>, TILE_KV * (BLOCK_Q / 4)>;    // [key][row / 4], S then P
var<workgroup> o_tile: array<vec4<f32>, BLOCK_Q * VALUE_DIM_VEC4>;   // [row][c4], unnormalised O
var<workgroup> va_tile: array<vec4<f32>, ATT_DIM_VEC4>;
var<workgroup> row_max: array<vec4<f32>, BLOCK_Q / 4>;               // lanes = 4 consecutive rows
var<workgroup> row_sum: array<vec4<f32>, BLOCK_Q / 4>;
var<workgroup> row_alpha: array<vec4<f32>, BLOCK_Q / 4>;

// NaN, tested on the bits (float comparisons may be compiled as ordered; exp2 of a NaN need not be NaN).
fn is_nan(x: vec4<f32>) -> vec4<bool> {
  return (bitcast<vec4<u32>>(x) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u);
}

fn safe_tanh(x: vec4<f32>) -> vec4<f32> {
  return select(tanh(clamp(x, vec4<f32>(-15.0), vec4<f32>(15.0))), x, is_nan(x));
}

// The part of a score that 4 attention dims give: Σ va·tanh(pq + pk) over them.
fn term(q4: vec4<f32>, k4: vec4<f32>, w4: vec4<f32>) -> f32 {
  return dot(w4, safe_tanh(q4 + k4));
}

fn half_at(word: u32, e: u32) -> f32 {
  let pair = unpack2x16float(word);
  return select(pair.x, pair.y, (e & 1u) == 1u);
}

// 4 consecutive elements of a projection from element `at`; lanes at or past `count` are 0.
fn load_pq4(at: u32, count: u32) -> vec4<f32> {
  if (count >= 4u) { return vec4<f32>(pq[at], pq[at + 1u], pq[at + 2u], pq[at + 3u]); }
  var r = vec4<f32>(0.0);
  for (var c = 0u; c < min(count, 4u); c++) { r[c] = pq[at + c]; }
  return r;
}

fn load_pk4(at: u32, count: u32) -> vec4<f32> {
  if (count >= 4u) { return vec4<f32>(pk[at], pk[at + 1u], pk[at + 2u], pk[at + 3u]); }
  var r = vec4<f32>(0.0);
  for (var c = 0u; c < min(count, 4u); c++) { r[c] = pk[at + c]; }
  return r;
}

fn load_va4(at: u32, count: u32) -> vec4<f32> {
  var r = vec4<f32>(0.0);
  for (var c = 0u; c < min(count, 4u); c++) {
    let e = params.va_offset + at + c;
    if (VA_F16) { r[c] = half_at(va[e >> 1u], e); } else { r[c] = bitcast<f32>(va[e]); }
  }
  return r;
}

fn load_v4(at: u32, count: u32) -> vec4<f32> {
  var r = vec4<f32>(0.0);
  for (var c = 0u; c < min(count, 4u); c++) {
    let e = params.v_offset + at + c;
    if (V_F16) { r[c] = half_at(v[e >> 1u], e); } else { r[c] = bitcast<f32>(v[e]); }
  }
  return r;
}

fn mask_at(b: u32, i: u32, j: u32) -> u32 {
  return params.m_offset + b * params.m_stride_b + i * params.m_stride_q + j * params.m_stride_k;
}

fn float_mask(b: u32, i: u32, j: u32) -> f32 {
  let at = mask_at(b, i, j);
  if (MASK_F16) { return half_at(mask[at >> 1u], at); }
  return bitcast<f32>(mask[at]);
}

fn bool_mask(b: u32, i: u32, j: u32) -> bool {
  let at = mask_at(b, i, j);
  return ((mask[at / 4u] >> ((at % 4u) * 8u)) & 0xffu) != 0u;
}

// Logits of queries i0 … i0+3 against key j from their scores s: −∞ where the key is not allowed,
// else s plus a float mask. Branch-free on the causal test (inlined 16 times in the score loop).
fn finish_scores(b: u32, s: vec4<f32>, i0: u32, j: u32) -> vec4<f32> {
  let rows = vec4<u32>(i0) + vec4<u32>(0u, 1u, 2u, 3u);
  let r = min(rows, vec4<u32>(params.q_len - 1u));  // padding rows read the last row's mask
  var allowed = (rows < vec4<u32>(params.q_len)) & vec4<bool>(j < params.kv_len);
  if (IS_CAUSAL) { allowed &= vec4<u32>(j) <= rows; }
  var logits = s;
  if (HAS_MASK) {
    let jj = min(j, params.kv_len - 1u);
    if (MASK_IS_BOOL) {
      allowed &= vec4<bool>(bool_mask(b, r.x, jj), bool_mask(b, r.y, jj), bool_mask(b, r.z, jj), bool_mask(b, r.w, jj));
    } else {
      logits += vec4<f32>(float_mask(b, r.x, jj), float_mask(b, r.y, jj), float_mask(b, r.z, jj), float_mask(b, r.w, jj));
    }
  }
  return select(vec4<f32>(params.minus_infinity), logits, allowed);
}

fn load_rows(b: u32, row_start: u32, tid: u32) {
  let a_len = params.att_dim;
  for (var idx = tid; idx < BLOCK_Q * ATT_DIM_VEC4; idx += WORKGROUP_SIZE) {
    let i = row_start + idx / ATT_DIM_VEC4;
    let a = (idx % ATT_DIM_VEC4) * 4u;
    var value = vec4<f32>(0.0);
    if (i < params.q_len) { value = load_pq4((b * params.q_len + i) * a_len + a, a_len - a); }
    q_tile[idx] = value;
  }
  for (var a4 = tid; a4 < ATT_DIM_VEC4; a4 += WORKGROUP_SIZE) { va_tile[a4] = load_va4(a4 * 4u, a_len - a4 * 4u); }
  for (var idx = tid; idx < BLOCK_Q * VALUE_DIM_VEC4; idx += WORKGROUP_SIZE) { o_tile[idx] = vec4<f32>(0.0); }
  for (var rb = tid; rb < BLOCK_Q / 4u; rb += WORKGROUP_SIZE) {
    row_max[rb] = vec4<f32>(params.minus_infinity);
    row_sum[rb] = vec4<f32>(0.0);
  }
}

fn load_pk_tile(b: u32, key_start: u32, tid: u32) {
  for (var idx = tid; idx < TILE_KV * ATT_DIM_VEC4; idx += WORKGROUP_SIZE) {
    let key = idx / ATT_DIM_VEC4;
    let a = (idx % ATT_DIM_VEC4) * 4u;
    let j = key_start + key;
    var value = vec4<f32>(0.0);
    if (j < params.kv_len) { value = load_pk4((b * params.kv_len + j) * params.att_dim + a, params.att_dim - a); }
    kv_tile[key * KV_STRIDE + idx % ATT_DIM_VEC4] = value;
  }
}

fn load_v_tile(b: u32, key_start: u32, tid: u32) {
  // Keys past Lk are zero-filled: their P is REMOVED, and garbage could hold NaN.
  for (var idx = tid; idx < TILE_KV * VALUE_DIM_VEC4; idx += WORKGROUP_SIZE) {
    let key = idx / VALUE_DIM_VEC4;
    let c = (idx % VALUE_DIM_VEC4) * 4u;
    let j = key_start + key;
    var value = vec4<f32>(0.0);
    if (j < params.kv_len) { value = load_v4((b * params.kv_len + j) * params.value_dim + c, params.value_dim - c); }
    kv_tile[key * KV_STRIDE + idx % VALUE_DIM_VEC4] = value;
  }
}

fn compute_scores(b: u32, row_start: u32, key_start: u32, tid: u32) {
  // One block: queries 4·rb … +3 against one key. Four terms per step, not sixteen: each term is a
  // tanh, which dominates the work, and a larger register block multiplies the code that shader
  // compilers (SwiftShader's above all) take seconds over.
  for (var blk = tid; blk < (BLOCK_Q / 4u) * TILE_KV; blk += WORKGROUP_SIZE) {
    let rb = blk / TILE_KV;
    let key = blk % TILE_KV;
    var s = vec4<f32>(0.0);  // lanes = the 4 queries
    for (var a = 0u; a < params.att_dim_vec4; a++) {
      let w = va_tile[a];
      let k4 = kv_tile[key * KV_STRIDE + a];
      s += vec4<f32>(term(q_tile[(rb * 4u) * ATT_DIM_VEC4 + a], k4, w), term(q_tile[(rb * 4u + 1u) * ATT_DIM_VEC4 + a], k4, w),
                     term(q_tile[(rb * 4u + 2u) * ATT_DIM_VEC4 + a], k4, w), term(q_tile[(rb * 4u + 3u) * ATT_DIM_VEC4 + a], k4, w));
    }
    p_tile[key * (BLOCK_Q / 4u) + rb] = finish_scores(b, s, row_start + rb * 4u, key_start + key);
  }
}

fn online_softmax(tid: u32) {
  // As in sdpa.wgsl: new running max, the rescale α of what was accumulated, P = exp2((S − max)·log₂e),
  // REMOVED for a −∞ logit. While a row has seen only −∞ its max is −∞ and 0 is subtracted instead.
  let minus_infinity = vec4<f32>(params.minus_infinity);
  for (var rb = tid; rb < BLOCK_Q / 4u; rb += WORKGROUP_SIZE) {
    let old_max = row_max[rb];
    var new_max = old_max;
    for (var j = 0u; j < params.tile_kv; j++) { new_max = max(new_max, p_tile[j * (BLOCK_Q / 4u) + rb]); }
    let shift = select(new_max, vec4<f32>(0.0), new_max == minus_infinity);
    let alpha = exp2((old_max - shift) * LOG2E);
    var sum = vec4<f32>(0.0);
    for (var j = 0u; j < params.tile_kv; j++) {
      let at = j * (BLOCK_Q / 4u) + rb;
      let s = p_tile[at];
      let removed = s == minus_infinity;
      let d = s - shift;  // NaN for a NaN logit, and for +∞ − (+∞)
      let p = select(exp2(d * LOG2E), d, is_nan(d));
      p_tile[at] = select(p, vec4<f32>(REMOVED), removed);
      sum += select(p, vec4<f32>(0.0), removed);
    }
    row_max[rb] = new_max;
    row_sum[rb] = row_sum[rb] * alpha + sum;
    row_alpha[rb] = alpha;
  }
}

fn accumulate(tid: u32) {
  let none = vec4<f32>(0.0);
  for (var idx = tid; idx < (BLOCK_Q / 4u) * VALUE_DIM_VEC4; idx += WORKGROUP_SIZE) {
    let rb = idx / VALUE_DIM_VEC4;
    let c = idx % VALUE_DIM_VEC4;
    let alpha = row_alpha[rb];
    var a0 = o_tile[(rb * 4u) * VALUE_DIM_VEC4 + c] * alpha.x;
    var a1 = o_tile[(rb * 4u + 1u) * VALUE_DIM_VEC4 + c] * alpha.y;
    var a2 = o_tile[(rb * 4u + 2u) * VALUE_DIM_VEC4 + c] * alpha.z;
    var a3 = o_tile[(rb * 4u + 3u) * VALUE_DIM_VEC4 + c] * alpha.w;
    for (var j = 0u; j < params.tile_kv; j++) {
      let p = p_tile[j * (BLOCK_Q / 4u) + rb];
      let value = kv_tile[j * KV_STRIDE + c];
      let kept = !(p == vec4<f32>(REMOVED));  // a removed key's v is not read (NaN there stays out)
      a0 += select(none, p.x * value, kept.x);
      a1 += select(none, p.y * value, kept.y);
      a2 += select(none, p.z * value, kept.z);
      a3 += select(none, p.w * value, kept.w);
    }
    o_tile[(rb * 4u) * VALUE_DIM_VEC4 + c] = a0;
    o_tile[(rb * 4u + 1u) * VALUE_DIM_VEC4 + c] = a1;
    o_tile[(rb * 4u + 2u) * VALUE_DIM_VEC4 + c] = a2;
    o_tile[(rb * 4u + 3u) * VALUE_DIM_VEC4 + c] = a3;
  }
}

// Plain arithmetic for every index written: wgsl_reflect's race detector shares a user function's
// result between invocations when it is bound to a `let` (test/node/races-additive.test.ts).
fn write_output(b: u32, row_start: u32, tid: u32) {
  for (var idx = tid; idx < BLOCK_Q * VALUE_DIM_VEC4; idx += WORKGROUP_SIZE) {
    let row = idx / VALUE_DIM_VEC4;
    let c = (idx % VALUE_DIM_VEC4) * 4u;
    if (row_start + row < params.q_len) {
      let sum = vec4<f32>(row_sum[row / 4u][row % 4u]);
      var value = select(o_tile[idx] / sum, vec4<f32>(0.0), sum == vec4<f32>(0.0));  // 0: no key
      value = select(value, sum, is_nan(sum));
      for (var lane = 0u; lane < min(params.value_dim - c, 4u); lane++) {
        out[(b * params.q_len + row_start + row) * params.value_dim + c + lane] = value[lane];
      }
    }
  }
}

fn write_stats(b: u32, row_start: u32, tid: u32) {
  for (var row = tid; row < BLOCK_Q; row += WORKGROUP_SIZE) {
    if (row_start + row < params.q_len) {
      stats[(b * params.q_len + row_start + row) * 2u] = row_max[row / 4u][row % 4u];
      stats[(b * params.q_len + row_start + row) * 2u + 1u] = row_sum[row / 4u][row % 4u];
    }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn additive_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let wid = wg.x + wg.y * params.groups_x;
  if (wid >= params.batch * params.q_blocks) { return; }
  let b = wid / params.q_blocks;
  let row_start = (wid % params.q_blocks) * BLOCK_Q;
  load_rows(b, row_start, tid);
  workgroupBarrier();
  // Causal: the block's last query sees keys up to its own index, so later tiles are never loaded.
  var last_key = params.kv_len - 1u;
  if (IS_CAUSAL) { last_key = min(last_key, min(row_start + BLOCK_Q, params.q_len) - 1u); }
  let tiles = last_key / TILE_KV + 1u;
  for (var tile = 0u; tile < tiles; tile++) {
    let key_start = tile * TILE_KV;
    load_pk_tile(b, key_start, tid);
    workgroupBarrier();
    compute_scores(b, row_start, key_start, tid);
    workgroupBarrier();
    online_softmax(tid);
    load_v_tile(b, key_start, tid);
    workgroupBarrier();
    accumulate(tid);
    workgroupBarrier();
  }
  write_output(b, row_start, tid);
  if (WRITE_STATS) { write_stats(b, row_start, tid); }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn additive_weights(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let e = (wg.x + wg.y * params.groups_x) * WORKGROUP_SIZE + tid;
  if (e >= params.batch * params.q_len * params.kv_len) { return; }
  let j = e % params.kv_len;
  let row = e / params.kv_len;  // b·Lq + i
  let b = row / params.q_len;
  let i = row % params.q_len;
  var raw = 0.0;
  for (var a = 0u; a < params.att_dim; a += 4u) {
    raw += term(load_pq4(row * params.att_dim + a, params.att_dim - a),
                load_pk4((b * params.kv_len + j) * params.att_dim + a, params.att_dim - a),
                load_va4(a, params.att_dim - a));
  }
  let s = finish_scores(b, vec4<f32>(raw), i, j).x;
  let peak = stats[row * 2u];
  let sum = stats[row * 2u + 1u];
  let d = vec4<f32>(s - select(peak, 0.0, peak == params.minus_infinity));
  let p = select(exp2(d * LOG2E), d, is_nan(d)).x;
  var weight = select(p / sum, 0.0, sum == 0.0);
  weight = select(weight, sum, is_nan(vec4<f32>(sum)).x);
  weights[e] = select(weight, 0.0, s == params.minus_infinity);  // a removed key: exactly 0
}
