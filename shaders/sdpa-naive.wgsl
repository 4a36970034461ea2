// sdpa-naive.wgsl — the plain three-pass attention that materialises the scores.
//
// It is the baseline the tiled kernel (sdpa.wgsl) is measured against, and the path that returns
// the attention weights themselves. Three entry points, dispatched in order in one compute pass:
//
//   sdpa_naive_scores   one invocation per (b, h, i, j): logits[b, h, i, j] = scale·q·k (softcap,
//                       + the float mask); a key that is not allowed holds −∞, never computed
//   sdpa_naive_softmax  one invocation per (b, h, i): logits → probabilities in place, log-sum-exp;
//                       a removed key (logit −∞) holds REMOVED (−1: no probability is negative)
//   sdpa_naive_output   one invocation per (b, h, i, c): out = Σ_j P[i, j] · V[j, c] over the keys
//                       that are not removed (their V is not read: 0·NaN would otherwise leak)
//   sdpa_naive_head_mean  (optional, after softmax) one invocation per (b, i, j):
//                       out[b, i, j] = mean over h of P[b, h, i, j] (a layer's averaged weights)
//   sdpa_naive_weights  (when the weights are returned, last) one invocation per (b, h, i, j):
//                       REMOVED → 0, so the weights hold probabilities only
//
// Workgroups are flat (WORKGROUP_SIZE invocations); a dispatch past the x limit is folded into y
// and the flat index is rebuilt from groups_x. No workgroup memory is used.
// Global memory: the weights buffer holds B·Hq·Lq·Lk f32 (the host checks it can exist).
// Storage types: q, k, v and a float mask are u32 words of f32 bits, or (Q_F16, K_F16, V_F16,
// MASK_F16) of two f16 halves each, element e being half e % 2 of word e / 2, widened exactly with
// unpack2x16float (no `enable f16`); every computation and output is f32.
//
// Index legend: B batch, Hq query heads, Hkv = Hq / kv_group, Lq queries, Lk keys, D = head_dim,
// Dv = value_dim; element (b, h, i, d) of q/k/v/out sits at offset + b·stride_b + h·stride_h +
// i·stride_s + d. Edge rules (causal, window, dilation, global and sink tokens, ALiBi, learned
// sinks, masks, key padding, −∞ and NaN logits) as in sdpa.wgsl: a row whose every logit is −∞
// has weights 0, output 0 and log-sum-exp −∞ (with a sink: lse = the sink).

override WORKGROUP_SIZE: u32 = 256;
override IS_CAUSAL: bool = false;
override HAS_MASK: bool = false;
override MASK_IS_BOOL: bool = false;
override HAS_SOFTCAP: bool = false;
override WRITE_LSE: bool = false;
override HAS_WINDOW: bool = false;
override HAS_GLOBAL: bool = false;
override HAS_KEY_PADDING: bool = false;
override HAS_ALIBI: bool = false;
override HAS_SINKS: bool = false;
override Q_F16: bool = false;
override K_F16: bool = false;
override V_F16: bool = false;
override MASK_F16: bool = false;
override IS_SIGMOID: bool = false;      // weights sigmoid(s + sigmoid_bias), not normalised, no lse
override HAS_TOPK: bool = false;        // only the top_k largest logits of a row join its softmax
override HAS_BLOCK_MASK: bool = false;  // a bit per (query block, key block), as in sdpa.wgsl

const REMOVED: f32 = -1.0;  // the weight of a removed key until sdpa_naive_weights

// NaN, tested on the bits: float comparisons may be compiled as ordered (false for any NaN), and
// exp or log of a NaN need not return NaN on every device (SwiftShader's do not).
fn is_nan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

// tanh that stays ±1 for large |x| and ±∞: SwiftShader's tanh is NaN from |x| ≥ 89 (exp overflows).
// tanh(±15) is ±1 in f32 already; a NaN is kept (clamp would turn it into a bound).
fn safe_tanh(x: f32) -> f32 {
  return select(tanh(clamp(x, -15.0, 15.0)), x, is_nan(x));
}

struct SdpaNaiveParams {
  batch: u32,
  q_heads: u32,
  kv_group: u32,
  q_len: u32,
  kv_len: u32,
  head_dim: u32,
  value_dim: u32,
  groups_x: u32,
  causal_offset: i32,
  scale: f32,
  softcap: f32,
  minus_infinity: f32,
  window_left: i32,    // reach in key positions, < 0 = unbounded
  window_right: i32,
  dilation: i32,
  sink_tokens: i32,    // keys j < sink_tokens are visible whatever the window
  alibi_at: u32,       // tables word of the first ALiBi slope (one per query head)
  sinks_at: u32,       // tables word of the first sink logit (one per query head)
  sigmoid_bias: f32,   // IS_SIGMOID: b of sigmoid(s + b)
  top_k: u32,          // HAS_TOPK: logits kept per row
  bm_at: u32,          // HAS_BLOCK_MASK: the block bits, addressed as in sdpa.wgsl
  bm_stride_b: u32,
  bm_stride_h: u32,
  bm_k_blocks: u32,
  bm_block_q: u32,
  bm_block_k: u32,
  q_offset: u32, q_stride_b: u32, q_stride_h: u32, q_stride_s: u32,
  k_offset: u32, k_stride_b: u32, k_stride_h: u32, k_stride_s: u32,
  v_offset: u32, v_stride_b: u32, v_stride_h: u32, v_stride_s: u32,
  o_offset: u32, o_stride_b: u32, o_stride_h: u32, o_stride_s: u32,
  m_offset: u32, m_stride_b: u32, m_stride_h: u32, m_stride_q: u32, m_stride_k: u32,
  kp_offset: u32, kp_stride_b: u32,  // key_padding byte of (b, j): kp_offset + b·kp_stride_b + j
}

@group(0) @binding(0) var<uniform> params: SdpaNaiveParams;
@group(0) @binding(1) var<storage, read> q: array<u32>;  // f32 bits, or f16 halves (Q_F16)
@group(0) @binding(2) var<storage, read> k: array<u32>;
@group(0) @binding(3) var<storage, read> v: array<u32>;
@group(0) @binding(4) var<storage, read> mask: array<u32>;  // bool: bytes packed in words; float: f32 bits or f16 halves
// Per-call tables as in sdpa.wgsl: the global-token bitset from word 0, ALiBi slopes, sink logits.
@group(0) @binding(5) var<storage, read> tables: array<u32>;
@group(0) @binding(6) var<storage, read> key_padding: array<u32>;  // [B, Lk] bytes in words, 1 = padding
@group(0) @binding(7) var<storage, read_write> weights: array<f32>;  // [B, Hq, Lq, Lk]
@group(0) @binding(8) var<storage, read_write> out: array<f32>;
@group(0) @binding(9) var<storage, read_write> lse: array<f32>;     // [B, Hq, Lq]

// Element e of f16 storage from the word that holds it: half e % 2, widened exactly.
fn half_at(word: u32, e: u32) -> f32 {
  let pair = unpack2x16float(word);
  return select(pair.x, pair.y, (e & 1u) == 1u);
}

// Element e of q, k or v, in its storage type.
fn q_at(e: u32) -> f32 {
  if (Q_F16) { return half_at(q[e >> 1u], e); }
  return bitcast<f32>(q[e]);
}

fn k_at(e: u32) -> f32 {
  if (K_F16) { return half_at(k[e >> 1u], e); }
  return bitcast<f32>(k[e]);
}

fn v_at(e: u32) -> f32 {
  if (V_F16) { return half_at(v[e >> 1u], e); }
  return bitcast<f32>(v[e]);
}

fn flat_index(wg: vec3<u32>, lid: u32) -> u32 {
  return (wg.x + wg.y * params.groups_x) * WORKGROUP_SIZE + lid;
}

fn is_global(position: i32) -> bool {
  if (position < 0 || position >= i32(params.kv_len)) { return false; }
  return ((tables[u32(position) / 32u] >> (u32(position) % 32u)) & 1u) != 0u;
}

fn table_f32(word: u32) -> f32 {
  return bitcast<f32>(tables[word]);
}

fn window_allows(p: i32, j: i32) -> bool {
  if (HAS_GLOBAL && (is_global(j) || is_global(p))) { return true; }
  if (j < params.sink_tokens) { return true; }
  let delta = j - p;
  if (params.window_left >= 0 && delta < -params.window_left) { return false; }
  if (params.window_right >= 0 && delta > params.window_right) { return false; }
  return delta % params.dilation == 0;
}

fn key_is_padding(b: u32, j: u32) -> bool {
  let at = params.kp_offset + b * params.kp_stride_b + j;
  return ((key_padding[at / 4u] >> ((at % 4u) * 8u)) & 0xffu) != 0u;
}

fn is_allowed(b: u32, h: u32, i: u32, j: u32) -> bool {
  let p = i32(i) + params.causal_offset;
  if (HAS_KEY_PADDING && key_is_padding(b, j)) { return false; }
  if (IS_CAUSAL && i32(j) > p) { return false; }
  if (HAS_WINDOW && !window_allows(p, i32(j))) { return false; }
  if (HAS_BLOCK_MASK) {
    let bit = b * params.bm_stride_b + h * params.bm_stride_h + (i / params.bm_block_q) * params.bm_k_blocks +
              j / params.bm_block_k;
    if (((tables[params.bm_at + bit / 32u] >> (bit % 32u)) & 1u) == 0u) { return false; }
  }
  if (HAS_MASK && MASK_IS_BOOL) {
    let at = params.m_offset + b * params.m_stride_b + h * params.m_stride_h + i * params.m_stride_q + j * params.m_stride_k;
    return ((mask[at / 4u] >> ((at % 4u) * 8u)) & 0xffu) != 0u;
  }
  return true;
}

fn float_mask(b: u32, h: u32, i: u32, j: u32) -> f32 {
  let at = params.m_offset + b * params.m_stride_b + h * params.m_stride_h + i * params.m_stride_q + j * params.m_stride_k;
  if (MASK_F16) { return half_at(mask[at >> 1u], at); }
  return bitcast<f32>(mask[at]);  // added as it is, −∞ included
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sdpa_naive_scores(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let index = flat_index(wg, lid);
  if (index >= params.batch * params.q_heads * params.q_len * params.kv_len) { return; }
  let j = index % params.kv_len;
  let i = (index / params.kv_len) % params.q_len;
  let bh = index / (params.kv_len * params.q_len);
  let h = bh % params.q_heads;
  let b = bh / params.q_heads;
  if (!is_allowed(b, h, i, j)) {
    weights[index] = params.minus_infinity;
    return;
  }
  let q_base = params.q_offset + b * params.q_stride_b + h * params.q_stride_h + i * params.q_stride_s;
  let k_base = params.k_offset + b * params.k_stride_b + (h / params.kv_group) * params.k_stride_h + j * params.k_stride_s;
  var s = 0.0;
  for (var d = 0u; d < params.head_dim; d++) {
    s += q_at(q_base + d) * k_at(k_base + d);
  }
  s *= params.scale;
  if (HAS_SOFTCAP) { s = params.softcap * safe_tanh(s / params.softcap); }
  if (HAS_ALIBI) { s -= table_f32(params.alibi_at + h) * f32(abs(i32(i) + params.causal_offset - i32(j))); }
  if (HAS_MASK && !MASK_IS_BOOL) { s += float_mask(b, h, i, j); }
  weights[index] = s;
}

// Top-k's order of logits as u32 (x < y ⇔ key(x) < key(y); −0 as +0, so equal logits tie).
fn order_key(x: f32) -> u32 {
  let bits = bitcast<u32>(select(x, 0.0, x == 0.0));
  return select(bits | 0x80000000u, ~bits, (bits & 0x80000000u) != 0u);
}

// Logits of the row (neither −∞ nor NaN) whose key is at least t.
fn count_at_least(base: u32, t: u32) -> u32 {
  var n = 0u;
  for (var j = 0u; j < params.kv_len; j++) {
    let s = weights[base + j];
    if (!(s == params.minus_infinity) && !is_nan(s) && order_key(s) >= t) { n++; }
  }
  return n;
}

// Top-k: removes (−∞) every logit of the row but the top_k largest, ties to the lower key. The k-th
// largest key T is found bit by bit (the largest T with at least top_k keys ≥ T), then keys above T
// stay and keys equal to T stay in key order while places remain.
fn keep_top_k(base: u32) {
  if (count_at_least(base, 0u) <= params.top_k) { return; }
  var threshold = 0u;
  for (var bit = 32u; bit > 0u; bit--) {
    let candidate = threshold | (1u << (bit - 1u));
    if (count_at_least(base, candidate) >= params.top_k) { threshold = candidate; }
  }
  var ties = params.top_k - count_at_least(base, threshold + 1u);
  for (var j = 0u; j < params.kv_len; j++) {
    let s = weights[base + j];
    if (s == params.minus_infinity || is_nan(s)) { continue; }
    let key = order_key(s);
    var keep = key > threshold;
    if (key == threshold && ties > 0u) {
      keep = true;
      ties--;
    }
    if (!keep) { weights[base + j] = params.minus_infinity; }
  }
}

// Sigmoid attention's weights: sigmoid(s + b), REMOVED for −∞, NaN kept; no sum, no lse.
fn sigmoid_row(base: u32) {
  for (var j = 0u; j < params.kv_len; j++) {
    let logit = weights[base + j];
    let x = logit + params.sigmoid_bias;
    let p = select(1.0 / (1.0 + exp(-x)), x, is_nan(x));
    weights[base + j] = select(p, REMOVED, logit == params.minus_infinity);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sdpa_naive_softmax(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = flat_index(wg, lid);
  if (row >= params.batch * params.q_heads * params.q_len) { return; }
  let base = row * params.kv_len;
  if (IS_SIGMOID) {
    sigmoid_row(base);
    return;
  }
  if (HAS_TOPK) { keep_top_k(base); }
  // A sink logit joins the max and the sum (it has no weight of its own).
  var sink = params.minus_infinity;
  if (HAS_SINKS) { sink = table_f32(params.sinks_at + (row / params.q_len) % params.q_heads); }
  var row_max = sink;
  for (var j = 0u; j < params.kv_len; j++) { row_max = max(row_max, weights[base + j]); }
  // A row of only −∞ so far subtracts 0, so −∞ − (−∞) never makes a NaN.
  let shift = select(row_max, 0.0, row_max == params.minus_infinity);
  var sum = select(exp(sink - shift), 0.0, sink == params.minus_infinity);
  for (var j = 0u; j < params.kv_len; j++) {
    let logit = weights[base + j];
    let removed = logit == params.minus_infinity;
    let d = logit - shift;  // NaN for a NaN logit, and for +∞ − (+∞)
    let p = select(select(exp(d), d, is_nan(d)), 0.0, removed);
    weights[base + j] = select(p, REMOVED, removed);
    sum += p;
  }
  // A sum of 0 means no key is kept: every weight is REMOVED, none is divided.
  let nan_row = is_nan(sum);
  for (var j = 0u; j < params.kv_len; j++) {
    let w = weights[base + j];
    if (!(w == REMOVED)) { weights[base + j] = select(w / sum, sum, nan_row); }
  }
  if (WRITE_LSE) {
    lse[row] = select(select(shift + log(sum), params.minus_infinity, sum == 0.0), sum, nan_row);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sdpa_naive_output(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let index = flat_index(wg, lid);
  if (index >= params.batch * params.q_heads * params.q_len * params.value_dim) { return; }
  let c = index % params.value_dim;
  let row = index / params.value_dim;
  let i = row % params.q_len;
  let bh = row / params.q_len;
  let h = bh % params.q_heads;
  let b = bh / params.q_heads;
  let v_base = params.v_offset + b * params.v_stride_b + (h / params.kv_group) * params.v_stride_h + c;
  var acc = 0.0;
  for (var j = 0u; j < params.kv_len; j++) {
    let w = weights[row * params.kv_len + j];
    if (!(w == REMOVED)) { acc += w * v_at(v_base + j * params.v_stride_s); }
  }
  out[params.o_offset + b * params.o_stride_b + h * params.o_stride_h + i * params.o_stride_s + c] = acc;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sdpa_naive_head_mean(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  // Reads the probabilities sdpa_naive_softmax left in weights; out is a separate [B, Lq, Lk] buffer.
  let index = flat_index(wg, lid);
  let plane = params.q_len * params.kv_len;
  if (index >= params.batch * plane) { return; }
  let b = index / plane;
  let at = index - b * plane;
  var sum = 0.0;
  for (var h = 0u; h < params.q_heads; h++) {
    let w = weights[(b * params.q_heads + h) * plane + at];
    sum += select(w, 0.0, w == REMOVED);
  }
  out[index] = sum / f32(params.q_heads);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sdpa_naive_weights(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let index = flat_index(wg, lid);
  if (index >= params.batch * params.q_heads * params.q_len * params.kv_len) { return; }
  if (weights[index] == REMOVED) { weights[index] = 0.0; }
}
