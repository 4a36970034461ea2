// sdpa.wgsl — tiled (FlashAttention-2 style) forward pass of scaled-dot-product attention.
//
// Rows are packed per (batch b, key/value head g): the kv_group query heads that read kv head g
// (grouped-query attention) and their Lq queries form group_rows = kv_group·Lq rows, row
// ρ = (h − g·kv_group)·Lq + i for query i of head h. One workgroup owns BLOCK_Q consecutive rows of
// one (b, g), so every K/V tile it loads serves all the heads of the group: with one query (decoding)
// and 8 query heads per kv head, one block of 8 rows reads K and V once where 8 workgroups of one
// row would read them 8 times. It keeps the rows' Q tile in workgroup memory for the whole run and
// streams K and V through one shared tile of TILE_KV keys. With paired blocks (block_groups <
// q_blocks, see locate_tile) a workgroup runs two blocks in turn, p and q_blocks − 1 − p:
//
//   for each of the workgroup's blocks (1 or 2):
//     load Q tile                                   ─ barrier
//     for each key tile of its split the causal/window band allows:  (others are never loaded)
//       load K tile                                 ─ barrier
//       S = Q·Kᵀ, scaled, softcapped, masked        ─ barrier   each invocation: 4 rows × 4 keys, or 8 × 8,
//                                                               or pairs: 8 × 8, half of d each (+ a barrier)
//       online softmax → P, α, flags   ┐            ─ barrier   one lane group per 4 rows (vec4)
//       load V tile (into the K tile)  ┘
//       O = α·O + P·V                               ─ barrier   each invocation: PV_ROWS rows × 4·PV_COLS columns
//     (flags: whether any of 4 rows' keys in the tile is removed; P·V guards removed keys only where so)
//     O /= row sum; write O (and the log-sum-exp)   ─ barrier
//
// Split-K (flash decoding): with kv_splits > 1 the key tiles are shared out among kv_splits
// workgroups per block (tiles_per_split each), which write their unnormalised O, running max and
// sum (WRITE_PARTIAL: `out` and `lse` are then the partials' scratch, [row][split][Dv] and
// [row][split][2]); sdpa-merge.wgsl combines them exactly. Few rows and many keys (decoding) then
// keep more workgroups busy than B·Hkv alone would.
//
// No Lq × Lk matrix reaches global memory; the running max, running sum and O stay in f32.
//
// Prelude (src/shaders.ts, sdpaShader): this file is compiled after the directives, the aliases
// tile_scalar / tile_vec4 and the lane functions that the device's features call for.
// - Lane groups (shaders/prelude/lanes-*.wgsl): with subgroups, the online softmax gives each block
//   of 4 rows to one subgroup, whose lanes share the tile's keys and combine their max and sum with
//   subgroupMax / subgroupAdd; without, each block of 4 rows is one invocation's (the workgroup-
//   memory path). Subgroups number themselves with an atomic at the start, and nothing depends on
//   their size (4 to 128) or on which invocations form one.
// - Tiles: tile_vec4 is vec4<f32>, or with f16 arithmetic (shader-f16, all of q, k, v f16) vec4<f16>:
//   q_tile and kv_tile then take half the bytes, Q·K widens them to f32 (exact products; f16 ones
//   could overflow), and P·V multiplies in f16 (P ≤ 1: no overflow, f16 rounding) and sums in f32.
//
// Storage types: q, k, v (and a float mask) are read as u32 words, each either f32 bits or, with
// Q_F16 / K_F16 / V_F16 / MASK_F16, two f16 halves (element e is half e % 2 of word e / 2, so an
// offset or stride may be odd). Halves are widened exactly with unpack2x16float, which needs no
// device feature (no `enable f16`); arithmetic, softmax state and outputs stay f32. Each input's
// type is an override, so every mix of types is its own pipeline and the f32 path is unchanged.
// Scores stay in natural units (a float mask is added as it is, however large its magnitude);
// softmax takes exp2((s − max)·log₂e), so only differences are scaled and nothing overflows.
//
// Invocations: WORKGROUP_SIZE = (BLOCK_Q / PV_ROWS) · (VALUE_DIM_VEC4 / PV_COLS); with C =
// VALUE_DIM_VEC4 / PV_COLS, invocation t owns output rows PV_ROWS·(t / C) … +PV_ROWS−1 and columns
// 4·(t % C) … +3 in registers (PV_ROWS vec4s), with PV_COLS = 2 also columns 4·(t % C + C) … +3.
// The plan gives 16 rows where BLOCK_Q allows, as 8 rows × 2 column vec4s where Dv's vec4s pair up,
// else 8, else 4: each V read then serves more rows, and fewer invocations meet at each barrier (on
// SwiftShader 8 rows ran 1.25× the speed of 4, 16 rows 1.14–1.17× that of 8, and 8 × 2 about 1.03×
// that of 16 × 1: 4 vec4 reads per key instead of 5, as many accumulators). Q·Kᵀ gives each
// invocation blocks of 4 rows × 4 keys, as many as it takes to cover the tile, or with QK_BLOCK = 8
// blocks of 8 rows × 8 keys, half the reads per multiply-add: whole ones where the invocations
// divide the tile's blocks (D = Dv = 32), one per pair of invocations with QK_PAIRS where the
// workgroup is twice the blocks (D = Dv = 64; compute_scores_in_pairs).
//
// Workgroup memory (bytes) = 16·BLOCK_Q·HEAD_DIM_VEC4          (q_tile; 8· with f16 tiles)
//                          + 16·TILE_KV·KV_STRIDE              (kv_tile, K then V; 8· with f16 tiles)
//                          + 4·TILE_KV·BLOCK_Q                 (p_tile)
//                          + 13·BLOCK_Q + 4                    (row_max, row_sum, row_alpha, rows_removing;
//                                                               lane_groups)
// e.g. BLOCK_Q = 32, TILE_KV = 32, D = Dv = 64 (KV_STRIDE = 17): 8192 + 8704 + 4096 + 420 = 21412.
// KV_STRIDE ≥ max(HEAD_DIM_VEC4, VALUE_DIM_VEC4) is odd, so neighbouring invocations that read
// neighbouring keys hit different banks; Q and P reads are broadcasts. P and the row statistics
// are vec4s over 4 consecutive rows, always written whole (see online_softmax).
//
// Index legend: B batch, Hq query heads, Hkv = Hq / kv_group key/value heads, Lq queries, Lk keys,
// D = head_dim (q·k), Dv = value_dim. Element (b, h, i, d) of a tensor sits at
// offset + b·stride_b + h·stride_h + i·stride_s + d, which covers both `bhsd` and `bshd` layouts.
// Workgroup w (folded over x and y) is ((b·Hkv + g)·block_groups + p)·kv_splits + split: group p runs
// block p, and with paired blocks (block_groups < q_blocks) block q_blocks − 1 − p after it.
//
// Edge rules (docs/semantics.md §3–4): query i sits at position p = i + causal_offset. A key is
// allowed when j < Lk, (not causal or j ≤ p), the window allows it, a boolean mask holds 1 there,
// and (HAS_KEY_PADDING) byte b·kp_stride_b + j of key_padding is 0 (1 = padding, PyTorch's
// key_padding_mask: a [B, Lk] mask that combines with all of the above without an Lq × Lk copy).
// The window (HAS_WINDOW) allows p − window_left ≤ j ≤ p + window_right (a side < 0 is unbounded)
// with (j − p) a multiple of dilation; with HAS_GLOBAL, a key or a query position whose bit is set
// in the global-token bitset is allowed whatever the window, and so is a key j < sink_tokens
// (StreamingLLM's sinks). With HAS_ALIBI, ALiBi's −slope_h·|p − j| joins the logit after the
// softcap; with HAS_SINKS, head h's learned sink logit starts each row's running max and sum (so
// it joins the denominator and has no value; a row with no key then outputs zeros and lse = sink).
// The logit of a key that is not allowed is −∞ and
// never computed; an allowed key's logit is scale·q·k (softcapped) plus the float mask, whatever
// either holds. A logit of −∞ is a removed key: weight 0, and its V row is not read (P holds
// REMOVED there, so P·V skips it; 0·NaN would otherwise leak). NaN and +∞ logits are not repaired:
// they make the row NaN. A row whose every logit is −∞ outputs zeros and a log-sum-exp of −∞.
//
// Key tiles: a block visits the tiles of its split that hold keys of its rows' band (causal and
// window; a block whose rows span two heads has the band of all queries); with HAS_GLOBAL it walks
// every tile up to the causal end and skips, workgroup-uniformly, those holding neither a band key
// nor a global key, unless one of its own rows is global.

override BLOCK_Q: u32 = 32;        // query rows per workgroup, multiple of 4
override TILE_KV: u32 = 32;        // keys per tile, multiple of 4
override HEAD_DIM_VEC4: u32 = 16;  // ceil(D / 4)
override VALUE_DIM_VEC4: u32 = 16; // ceil(Dv / 4)
override KV_STRIDE: u32 = 17;      // vec4s per key row in kv_tile
override WORKGROUP_SIZE: u32 = 128;
override IS_CAUSAL: bool = false;
override HAS_MASK: bool = false;
override MASK_IS_BOOL: bool = false;
override HAS_SOFTCAP: bool = false;
override WRITE_LSE: bool = false;
override HAS_WINDOW: bool = false;  // sliding window and/or dilation
override HAS_GLOBAL: bool = false;  // global tokens (only with HAS_WINDOW)
override HAS_KEY_PADDING: bool = false;  // key_padding masks keys per batch
override HAS_ALIBI: bool = false;        // ALiBi slopes in tables from alibi_at
override HAS_SINKS: bool = false;        // sink logits in tables from sinks_at
override WRITE_PARTIAL: bool = false;    // split-K: write partials for sdpa-merge.wgsl
override Q_F16: bool = false;            // q holds f16 halves (else f32)
override K_F16: bool = false;            // k holds f16 halves
override V_F16: bool = false;            // v holds f16 halves
override MASK_F16: bool = false;         // a float mask holds f16 halves
override PAGED: bool = false;            // k and v are read through a page table (sdpaPaged)
override IS_SIGMOID: bool = false;       // weights sigmoid(s + sigmoid_bias), not normalised (no split)
override HAS_BLOCK_MASK: bool = false;   // block-sparse: a bit per (query block, key block); tiles off skipped
override ONE_ROW: bool = false;          // BLOCK_Q = 4 holding one real row (decoding without GQA): lane 0 only
override PV_ROWS: u32 = 4;               // output rows per invocation in P·V: 4, 8 or 16 (1, 2 or 4 row blocks)
override PV_COLS: u32 = 1;               // output column vec4s per invocation in P·V: 1, or 2 with PV_ROWS = 8
override QK_BLOCK: u32 = 4;              // Q·Kᵀ register blocks: 4 (4 rows × 4 keys) or 8 (8 × 8)
override QK_PAIRS: bool = false;         // QK_BLOCK = 8: each block shared by two invocations, half of d each

const REMOVED: f32 = -1.0;  // P of a removed key: no probability is negative
const LOG2E: f32 = 1.4426950408889634;

// NaN, tested on the bits. Float comparisons may be compiled as ordered (false for any NaN), and
// exp2 or log of a NaN need not return NaN on every device (SwiftShader's do not): where a NaN
// must reach the output, the kernel carries it explicitly.
fn is_nan(x: vec4<f32>) -> vec4<bool> {
  return (bitcast<vec4<u32>>(x) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u);
}

// tanh that stays ±1 for large |x| and ±∞: SwiftShader's tanh is NaN from |x| ≥ 89 (exp overflows).
// tanh(±15) is ±1 in f32 already; a NaN is kept (clamp would turn it into a bound).
fn safe_tanh(x: vec4<f32>) -> vec4<f32> {
  return select(tanh(clamp(x, vec4<f32>(-15.0), vec4<f32>(15.0))), x, is_nan(x));
}

struct SdpaParams {
  batch: u32,
  q_heads: u32,
  kv_group: u32,        // Hq / Hkv
  q_len: u32,
  kv_len: u32,
  head_dim: u32,
  value_dim: u32,
  group_rows: u32,      // kv_group · Lq: the packed rows of one (b, kv head)
  q_blocks: u32,        // ceil(group_rows / BLOCK_Q)
  block_groups: u32,    // workgroups per (b, kv head) and split: q_blocks, or with paired blocks ceil(q_blocks / 2)
  kv_splits: u32,       // workgroups sharing one block's key tiles (1: no split)
  tiles_per_split: u32, // key tiles of one split
  head_dim_vec4: u32,   // HEAD_DIM_VEC4 and TILE_KV as uniforms: loop bounds that compilers do not
  tile_kv: u32,         // unroll fully (unrolled hot loops lengthen SwiftShader's compiles)
  groups_x: u32,        // workgroups along x (the dispatch is folded into y past the x limit)
  causal_offset: i32,   // 0 (upper-left) or Lk − Lq (lower-right)
  score_scale: f32,     // scale, or scale / softcap with a softcap
  softcap: f32,         // c of c·tanh(s / c); unused without HAS_SOFTCAP
  minus_infinity: f32,  // −∞, from the host: WGSL has no literal for it
  window_left: i32,     // keys before p the window reaches (left · dilation), < 0 = unbounded
  window_right: i32,    // keys after p (right · dilation), < 0 = unbounded
  dilation: i32,        // ≥ 1
  sink_tokens: i32,     // keys j < sink_tokens are visible whatever the window (0: none)
  alibi_at: u32,        // word of tables where the ALiBi slopes start (one per query head)
  sinks_at: u32,        // word of tables where the sink logits start (one per query head)
  lse_offset: u32,      // element of lse where row 0's log-sum-exp goes (0 with WRITE_PARTIAL)
  page_size: u32,       // PAGED: tokens per page (else unused)
  page_table_at: u32,   // PAGED: word of tables where the sequence's page numbers start
  sigmoid_bias: f32,    // IS_SIGMOID: b of sigmoid(s + b)
  top_k: u32,           // sdpa_topk: keys kept per query (1 … TOPK_MAX)
  bm_at: u32,           // HAS_BLOCK_MASK: word of tables where the block bits start; bit
  bm_stride_b: u32,     //   b·bm_stride_b + h·bm_stride_h + (i / bm_block_q)·bm_k_blocks + j / bm_block_k
  bm_stride_h: u32,     //   is block (i, j)'s of batch b, query head h (1 = on)
  bm_k_blocks: u32,
  bm_block_q: u32,
  bm_block_k: u32,
  tile_bits_at: u32,    // HAS_BLOCK_MASK: word where the per-block key-tile bits start (1 = some block on)
  tile_words: u32,      //   words of tile bits per block of rows
  q_offset: u32, q_stride_b: u32, q_stride_h: u32, q_stride_s: u32,
  k_offset: u32, k_stride_b: u32, k_stride_h: u32, k_stride_s: u32,
  v_offset: u32, v_stride_b: u32, v_stride_h: u32, v_stride_s: u32,
  o_offset: u32, o_stride_b: u32, o_stride_h: u32, o_stride_s: u32,
  m_offset: u32, m_stride_b: u32, m_stride_h: u32, m_stride_q: u32, m_stride_k: u32,
  kp_offset: u32, kp_stride_b: u32,  // key_padding byte of (b, j): kp_offset + b·kp_stride_b + j
}

@group(0) @binding(0) var<uniform> params: SdpaParams;
// q, k, v: f32 bits, or f16 halves two to a word (Q_F16, K_F16, V_F16).
@group(0) @binding(1) var<storage, read> q: array<u32>;
@group(0) @binding(2) var<storage, read> k: array<u32>;
@group(0) @binding(3) var<storage, read> v: array<u32>;
// Boolean masks are bytes packed four to a word; float masks are f32 bits or f16 halves (MASK_F16).
// Unused: a dummy buffer.
@group(0) @binding(4) var<storage, read> mask: array<u32>;
// Small per-call tables, u32 words: the global-token bitset from word 0 (bit j = key position j is
// global), the ALiBi slopes (f32 bits) from alibi_at, the sink logits from sinks_at, the page table
// (PAGED) from page_table_at. Unused: a dummy.
@group(0) @binding(5) var<storage, read> tables: array<u32>;
// Key-padding mask [B, Lk]: bytes packed four to a word, 1 = padding. Unused: a dummy buffer.
@group(0) @binding(6) var<storage, read> key_padding: array<u32>;
// With WRITE_PARTIAL, out holds [row][split][Dv] unnormalised outputs and lse [row][split][2] (max,
// sum), row = (b·Hq + h)·Lq + i.
@group(0) @binding(7) var<storage, read_write> out: array<f32>;
@group(0) @binding(8) var<storage, read_write> lse: array<f32>;

var<workgroup> q_tile: array<tile_vec4, BLOCK_Q * HEAD_DIM_VEC4>;     // [row][d4]
var<workgroup> kv_tile: array<tile_vec4, TILE_KV * KV_STRIDE>;        // [key][d4], K then V
var<workgroup> p_tile: array<vec4<f32>, TILE_KV * (BLOCK_Q / 4)>;     // [key][row / 4], S then P
var<workgroup> row_max: array<vec4<f32>, BLOCK_Q / 4>;                // lanes = 4 consecutive rows
var<workgroup> row_sum: array<vec4<f32>, BLOCK_Q / 4>;
var<workgroup> row_alpha: array<vec4<f32>, BLOCK_Q / 4>;
var<workgroup> rows_removing: array<u32, BLOCK_Q / 4>;                // 1: some P of the 4 rows is REMOVED in this tile
var<workgroup> lane_groups: atomic<u32>;                              // subgroups counted (LANES_ARE_SUBGROUPS)

struct Tile {
  b: u32,
  kv_h: u32,
  row_start: u32,  // the block's first packed row
  split: u32,
  row_block: u32,  // (b·Hkv + kv_h)·q_blocks + the block: its row of the block mask's tile bits
}

// The query head and query of packed row ρ (ρ < group_rows) of the tile's kv head.
fn row_head(t: Tile, rho: u32) -> u32 {
  return t.kv_h * params.kv_group + rho / params.q_len;
}

fn row_query(rho: u32) -> u32 {
  return rho % params.q_len;
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

// Gathers 4 consecutive elements of q, k or v starting at element `at`; lanes at or past `count`
// are 0. The whole-vec4 case (every lane in range: D a multiple of 4, or not the last vec4) has no
// loop: four words of f32, or the two or three words holding four halves (never a word past the
// fourth element, so nothing outside the tensor's range is read).
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

fn load_q_tile(t: Tile, tid: u32) {
  for (var idx = tid; idx < BLOCK_Q * HEAD_DIM_VEC4; idx += WORKGROUP_SIZE) {
    let row = idx / HEAD_DIM_VEC4;
    let d = (idx % HEAD_DIM_VEC4) * 4u;
    let rho = t.row_start + row;
    var value = vec4<f32>(0.0);
    if (rho < params.group_rows) {
      let h = row_head(t, rho);
      let i = row_query(rho);
      let base = params.q_offset + t.b * params.q_stride_b + h * params.q_stride_h + i * params.q_stride_s + d;
      value = load_q4(base, params.head_dim - d);
    }
    q_tile[idx] = tile_vec4(value);
  }
  for (var rb = tid; rb < BLOCK_Q / 4u; rb += WORKGROUP_SIZE) {
    var start = vec4<f32>(params.minus_infinity);
    if (HAS_SINKS && t.split == 0u) {  // the sink joins one split only, so the merge counts it once
      let rows = min(vec4<u32>(t.row_start + rb * 4u) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.group_rows - 1u));
      let heads = vec4<u32>(t.kv_h * params.kv_group) + rows / vec4<u32>(params.q_len);
      start = vec4<f32>(table_f32(params.sinks_at + heads.x), table_f32(params.sinks_at + heads.y),
                        table_f32(params.sinks_at + heads.z), table_f32(params.sinks_at + heads.w));
    }
    row_max[rb] = start;
    row_sum[rb] = select(vec4<f32>(1.0), vec4<f32>(0.0), start == vec4<f32>(params.minus_infinity));
  }
}

// A float of the tables (ALiBi slopes, sink logits).
fn table_f32(word: u32) -> f32 {
  return bitcast<f32>(tables[word]);
}

// Where key row j starts, from the (b, kv head) base: j rows on, or with PAGED row j % page_size of
// page tables[page_table_at + j / page_size]. A paged call has B = 1, and the batch stride of k and
// v is the stride between pages ([pages, Hkv, page_size, D], the pool of a paged cache).
fn kv_row(j: u32, page_stride: u32, row_stride: u32) -> u32 {
  if (PAGED) {
    return tables[params.page_table_at + j / params.page_size] * page_stride + (j % params.page_size) * row_stride;
  }
  return j * row_stride;
}

fn load_k_tile(t: Tile, key_start: u32, tid: u32) {
  let offset = params.k_offset + t.b * params.k_stride_b + t.kv_h * params.k_stride_h;
  for (var idx = tid; idx < TILE_KV * HEAD_DIM_VEC4; idx += WORKGROUP_SIZE) {
    let key = idx / HEAD_DIM_VEC4;
    let d4 = idx % HEAD_DIM_VEC4;
    let j = key_start + key;
    var value = vec4<f32>(0.0);
    if (j < params.kv_len) { value = load_k4(offset + kv_row(j, params.k_stride_b, params.k_stride_s) + d4 * 4u, params.head_dim - d4 * 4u); }
    kv_tile[key * KV_STRIDE + d4] = tile_vec4(value);
  }
}

fn load_v_tile(t: Tile, key_start: u32, tid: u32) {
  // Keys past Lk are zero-filled: their P is 0, and 0 · garbage could be NaN.
  let offset = params.v_offset + t.b * params.v_stride_b + t.kv_h * params.v_stride_h;
  for (var idx = tid; idx < TILE_KV * VALUE_DIM_VEC4; idx += WORKGROUP_SIZE) {
    let key = idx / VALUE_DIM_VEC4;
    let c4 = idx % VALUE_DIM_VEC4;
    let j = key_start + key;
    var value = vec4<f32>(0.0);
    if (j < params.kv_len) { value = load_v4(offset + kv_row(j, params.v_stride_b, params.v_stride_s) + c4 * 4u, params.value_dim - c4 * 4u); }
    kv_tile[key * KV_STRIDE + c4] = tile_vec4(value);
  }
}

fn mask_at(b: u32, h: u32, i: u32, j: u32) -> u32 {
  return params.m_offset + b * params.m_stride_b + h * params.m_stride_h + i * params.m_stride_q + j * params.m_stride_k;
}

// A float mask's term, added to the logit as it is (−∞ included).
fn float_mask(b: u32, h: u32, i: u32, j: u32) -> f32 {
  let at = mask_at(b, h, i, j);
  if (MASK_F16) { return half_at(mask[at >> 1u], at); }
  return bitcast<f32>(mask[at]);
}

// Whether a boolean mask lets query i of head h see key j (a byte, packed four to a word).
fn bool_mask(b: u32, h: u32, i: u32, j: u32) -> bool {
  let at = mask_at(b, h, i, j);
  return ((mask[at / 4u] >> ((at % 4u) * 8u)) & 0xffu) != 0u;
}

// Whether key j (clamped into the keys) of batch b is padding. Plain arithmetic, no branch: it is
// inlined 16 times in the score loop.
fn key_is_padding(b: u32, j: u32) -> bool {
  let at = params.kp_offset + b * params.kp_stride_b + min(j, params.kv_len - 1u);
  return ((key_padding[at / 4u] >> ((at % 4u) * 8u)) & 0xffu) != 0u;
}

// 32 bits of the global-token bitset from key position `start` on (positions outside the keys read 0). The host
// zero-fills the last word past Lk. Plain word arithmetic: short-circuit control flow inlined in the
// score loop made SwiftShader's compiler hang.
fn global_run(start: i32) -> u32 {
  let word = start >> 5u;  // floor(start / 32), also for negative positions
  let shift = u32(start & 31);
  let low = global_word(word) >> shift;
  let high = select(global_word(word + 1) << (32u - shift), 0u, shift == 0u);
  return low | high;
}

fn global_word(word: i32) -> u32 {
  let words = i32((params.kv_len + 31u) / 32u);
  return select(0u, tables[u32(clamp(word, 0, words - 1))], (word >= 0) & (word < words));
}

// Which of rows ρ … ρ+3 (bits of `row_bits` from the block's first row) and which key (bit of
// `key_bits` from the tile's first key) are global tokens; `globals` = (row_bits, key_bits).
fn window_allows(positions: vec4<i32>, j: u32, row_in_block: u32, key_in_tile: u32, globals: vec2<u32>) -> vec4<bool> {
  let delta = vec4<i32>(i32(j)) - positions;
  var inside = (delta % vec4<i32>(params.dilation)) == vec4<i32>(0);
  inside &= (delta >= vec4<i32>(-params.window_left)) | vec4<bool>(params.window_left < 0);
  inside &= (delta <= vec4<i32>(params.window_right)) | vec4<bool>(params.window_right < 0);
  inside |= vec4<bool>(i32(j) < params.sink_tokens);
  if (HAS_GLOBAL) {
    let rows = (vec4<u32>(globals.x) >> (vec4<u32>(row_in_block) + vec4<u32>(0u, 1u, 2u, 3u))) & vec4<u32>(1u);
    let key = (globals.y >> key_in_tile) & 1u;
    inside |= (rows | vec4<u32>(key)) != vec4<u32>(0u);
  }
  return inside;
}

// Whether the block of query i and key j (batch b, query head h) is on in the block mask.
fn block_allows(b: u32, h: u32, i: u32, j: u32) -> bool {
  let bit = b * params.bm_stride_b + h * params.bm_stride_h + (i / params.bm_block_q) * params.bm_k_blocks +
            j / params.bm_block_k;
  return ((tables[params.bm_at + bit / 32u] >> (bit % 32u)) & 1u) != 0u;
}

// Whether key tile `key_tile` holds a key of an on block for some row of the workgroup's block of
// rows `row_block` (the host's bits): tiles without one are skipped, so the cost follows the blocks on.
fn tile_on(row_block: u32, key_tile: u32) -> bool {
  let word = tables[params.tile_bits_at + row_block * params.tile_words + key_tile / 32u];
  return ((word >> (key_tile % 32u)) & 1u) != 0u;
}

fn finish_scores(t: Tile, dots: vec4<f32>, rho: u32, j: u32, key_in_tile: u32, globals: vec2<u32>) -> vec4<f32> {
  // Logits of packed rows ρ … ρ+3 against key j; −∞ where the key is not allowed. Each lane has its
  // own head and query (the rows may cross from one head of the group to the next).
  // Written without branches on the causal test: short-circuit control flow, inlined 16 times,
  // made SwiftShader's compiler run for minutes.
  let rows = vec4<u32>(rho) + vec4<u32>(0u, 1u, 2u, 3u);
  let r = min(rows, vec4<u32>(params.group_rows - 1u));  // padding rows read the last row's mask
  let queries = r % vec4<u32>(params.q_len);
  let heads = vec4<u32>(t.kv_h * params.kv_group) + r / vec4<u32>(params.q_len);
  let positions = vec4<i32>(queries) + vec4<i32>(params.causal_offset);
  var allowed = (rows < vec4<u32>(params.group_rows)) & vec4<bool>(j < params.kv_len);
  if (IS_CAUSAL) {
    allowed &= vec4<i32>(i32(j)) <= positions;
  }
  if (HAS_WINDOW) {
    allowed &= window_allows(positions, j, rho - t.row_start, key_in_tile, globals);
  }
  if (HAS_KEY_PADDING) {
    allowed &= vec4<bool>(!key_is_padding(t.b, j));
  }
  if (HAS_BLOCK_MASK) {
    let jj = min(j, params.kv_len - 1u);
    allowed &= vec4<bool>(block_allows(t.b, heads.x, queries.x, jj), block_allows(t.b, heads.y, queries.y, jj),
                          block_allows(t.b, heads.z, queries.z, jj), block_allows(t.b, heads.w, queries.w, jj));
  }
  var s = dots * params.score_scale;
  if (HAS_SOFTCAP) { s = params.softcap * safe_tanh(s); }
  if (HAS_ALIBI) {
    let slopes = vec4<f32>(table_f32(params.alibi_at + heads.x), table_f32(params.alibi_at + heads.y),
                           table_f32(params.alibi_at + heads.z), table_f32(params.alibi_at + heads.w));
    s -= slopes * vec4<f32>(abs(positions - vec4<i32>(i32(j))));
  }
  if (HAS_MASK) {
    let jj = min(j, params.kv_len - 1u);
    let b = t.b;
    if (MASK_IS_BOOL) {
      allowed &= vec4<bool>(bool_mask(b, heads.x, queries.x, jj), bool_mask(b, heads.y, queries.y, jj),
                            bool_mask(b, heads.z, queries.z, jj), bool_mask(b, heads.w, queries.w, jj));
    } else {
      s += vec4<f32>(float_mask(b, heads.x, queries.x, jj), float_mask(b, heads.y, queries.y, jj),
                     float_mask(b, heads.z, queries.z, jj), float_mask(b, heads.w, queries.w, jj));
    }
  }
  return select(vec4<f32>(params.minus_infinity), s, allowed);
}

// One real row (ONE_ROW): the lanes are 4 keys kb + n·(TILE_KV / 4) of row 0, so no work goes to the
// three padding rows a vec4 of rows would carry; each key's logit is finished alone (rows 1–3: −∞).
fn compute_scores_one_row(t: Tile, key_start: u32, globals: vec2<u32>, tid: u32) {
  let key_blocks = TILE_KV / 4u;
  for (var kb = tid; kb < key_blocks; kb += WORKGROUP_SIZE) {
    var s = vec4<f32>(0.0);
    for (var d = 0u; d < params.head_dim_vec4; d++) {
      let q0 = q_at(0u, d);
      s += vec4<f32>(dot(q0, k_at(kb, d)), dot(q0, k_at(kb + key_blocks, d)), dot(q0, k_at(kb + 2u * key_blocks, d)),
                     dot(q0, k_at(kb + 3u * key_blocks, d)));
    }
    store_scores(t, vec4<f32>(s.x, 0.0, 0.0, 0.0), 0u, kb, key_start, globals);
    store_scores(t, vec4<f32>(s.y, 0.0, 0.0, 0.0), 0u, kb + key_blocks, key_start, globals);
    store_scores(t, vec4<f32>(s.z, 0.0, 0.0, 0.0), 0u, kb + 2u * key_blocks, key_start, globals);
    store_scores(t, vec4<f32>(s.w, 0.0, 0.0, 0.0), 0u, kb + 3u * key_blocks, key_start, globals);
  }
}

// Q·K reads widen the tiles to f32: products of two f16 values are exact in f32, and q·k in f16
// could overflow (|q|, |k| of a few hundred suffice).
fn q_at(row: u32, d: u32) -> vec4<f32> {
  return vec4<f32>(q_tile[row * HEAD_DIM_VEC4 + d]);
}

fn k_at(key: u32, d: u32) -> vec4<f32> {
  return vec4<f32>(kv_tile[key * KV_STRIDE + d]);
}

fn compute_scores(t: Tile, key_start: u32, globals: vec2<u32>, tid: u32) {
  if (ONE_ROW) {
    compute_scores_one_row(t, key_start, globals, tid);
    return;
  }
  if (QK_BLOCK == 8u) {
    if (QK_PAIRS) { compute_scores_in_pairs(t, key_start, globals, tid); } else { compute_scores_8x8(t, key_start, globals, tid); }
    return;
  }
  // Register block: rows 4·rb … +3 against keys kb + n·(TILE_KV / 4), n = 0 … 3.
  let key_blocks = TILE_KV / 4u;
  for (var blk = tid; blk < (BLOCK_Q / 4u) * key_blocks; blk += WORKGROUP_SIZE) {
    let rb = blk / key_blocks;
    let kb = blk % key_blocks;
    var s0 = vec4<f32>(0.0);  // one vec4 per key, lanes = the 4 rows
    var s1 = vec4<f32>(0.0);
    var s2 = vec4<f32>(0.0);
    var s3 = vec4<f32>(0.0);
    for (var d = 0u; d < params.head_dim_vec4; d++) {
      let q0 = q_at(rb * 4u, d);
      let q1 = q_at(rb * 4u + 1u, d);
      let q2 = q_at(rb * 4u + 2u, d);
      let q3 = q_at(rb * 4u + 3u, d);
      let k0 = k_at(kb, d);
      let k1 = k_at(kb + key_blocks, d);
      let k2 = k_at(kb + 2u * key_blocks, d);
      let k3 = k_at(kb + 3u * key_blocks, d);
      s0 += dots4(q0, q1, q2, q3, k0);
      s1 += dots4(q0, q1, q2, q3, k1);
      s2 += dots4(q0, q1, q2, q3, k2);
      s3 += dots4(q0, q1, q2, q3, k3);
    }
    store_scores(t, s0, rb, kb, key_start, globals);
    store_scores(t, s1, rb, kb + key_blocks, key_start, globals);
    store_scores(t, s2, rb, kb + 2u * key_blocks, key_start, globals);
    store_scores(t, s3, rb, kb + 3u * key_blocks, key_start, globals);
  }
}

// Logits of 4 rows × 1 key: q0 … q3 · k, as a vec4 over the rows.
fn dots4(q0: vec4<f32>, q1: vec4<f32>, q2: vec4<f32>, q3: vec4<f32>, k: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(dot(q0, k), dot(q1, k), dot(q2, k), dot(q3, k));
}

// The logits of one 8 × 8 register block (8 rows × keys kb + n·kb8, n = 0 … 7): lo_n holds rows 0–3
// and hi_n rows 4–7 against key n, as vec4s over the rows.
struct Block8x8 {
  lo0: vec4<f32>, lo1: vec4<f32>, lo2: vec4<f32>, lo3: vec4<f32>, lo4: vec4<f32>, lo5: vec4<f32>, lo6: vec4<f32>, lo7: vec4<f32>,
  hi0: vec4<f32>, hi1: vec4<f32>, hi2: vec4<f32>, hi3: vec4<f32>, hi4: vec4<f32>, hi5: vec4<f32>, hi6: vec4<f32>, hi7: vec4<f32>,
}

// s += the block's products over the vec4s [d_start, d_end) of d: 16 vec4 reads per 256 multiply-adds,
// half the workgroup-memory reads of 4 × 4 blocks (8 per 64), the cost that dominates this pass on
// GPUs' shared memory and on SwiftShader (an emulated gather per read). Written out, not looped over
// the keys: SwiftShader's compiler keeps the accumulators in registers only so.
fn add_dots_8x8(s: ptr<function, Block8x8>, rb: u32, kb: u32, d_start: u32, d_end: u32) {
  let kb8 = TILE_KV / 8u;
  let r = rb * 4u;
  for (var d = d_start; d < d_end; d++) {
    let q0 = q_at(r, d);
    let q1 = q_at(r + 1u, d);
    let q2 = q_at(r + 2u, d);
    let q3 = q_at(r + 3u, d);
    let q4 = q_at(r + 4u, d);
    let q5 = q_at(r + 5u, d);
    let q6 = q_at(r + 6u, d);
    let q7 = q_at(r + 7u, d);
    var k = k_at(kb, d);
    (*s).lo0 += dots4(q0, q1, q2, q3, k);
    (*s).hi0 += dots4(q4, q5, q6, q7, k);
    k = k_at(kb + kb8, d);
    (*s).lo1 += dots4(q0, q1, q2, q3, k);
    (*s).hi1 += dots4(q4, q5, q6, q7, k);
    k = k_at(kb + 2u * kb8, d);
    (*s).lo2 += dots4(q0, q1, q2, q3, k);
    (*s).hi2 += dots4(q4, q5, q6, q7, k);
    k = k_at(kb + 3u * kb8, d);
    (*s).lo3 += dots4(q0, q1, q2, q3, k);
    (*s).hi3 += dots4(q4, q5, q6, q7, k);
    k = k_at(kb + 4u * kb8, d);
    (*s).lo4 += dots4(q0, q1, q2, q3, k);
    (*s).hi4 += dots4(q4, q5, q6, q7, k);
    k = k_at(kb + 5u * kb8, d);
    (*s).lo5 += dots4(q0, q1, q2, q3, k);
    (*s).hi5 += dots4(q4, q5, q6, q7, k);
    k = k_at(kb + 6u * kb8, d);
    (*s).lo6 += dots4(q0, q1, q2, q3, k);
    (*s).hi6 += dots4(q4, q5, q6, q7, k);
    k = k_at(kb + 7u * kb8, d);
    (*s).lo7 += dots4(q0, q1, q2, q3, k);
    (*s).hi7 += dots4(q4, q5, q6, q7, k);
  }
}

// Q·Kᵀ in 8 × 8 register blocks, each invocation whole ones (QK_BLOCK = 8 without QK_PAIRS; the plan
// sets it where the invocations divide the tile's blocks, see qkBlock in plan.ts). Block blk holds
// row blocks rb = 2·(blk / kb8), rb + 1 against keys kb + n·kb8, n = 0 … 7 (kb8 = TILE_KV / 8).
fn compute_scores_8x8(t: Tile, key_start: u32, globals: vec2<u32>, tid: u32) {
  let kb8 = TILE_KV / 8u;
  for (var blk = tid; blk < (BLOCK_Q / 8u) * kb8; blk += WORKGROUP_SIZE) {
    let rb = (blk / kb8) * 2u;
    let kb = blk % kb8;
    var s = Block8x8();  // zeroed explicitly: a bare declaration was not re-zeroed per iteration here
    add_dots_8x8(&s, rb, kb, 0u, params.head_dim_vec4);
    store_scores(t, s.lo0, rb, kb, key_start, globals);
    store_scores(t, s.lo1, rb, kb + kb8, key_start, globals);
    store_scores(t, s.lo2, rb, kb + 2u * kb8, key_start, globals);
    store_scores(t, s.lo3, rb, kb + 3u * kb8, key_start, globals);
    store_scores(t, s.lo4, rb, kb + 4u * kb8, key_start, globals);
    store_scores(t, s.lo5, rb, kb + 5u * kb8, key_start, globals);
    store_scores(t, s.lo6, rb, kb + 6u * kb8, key_start, globals);
    store_scores(t, s.lo7, rb, kb + 7u * kb8, key_start, globals);
    store_scores(t, s.hi0, rb + 1u, kb, key_start, globals);
    store_scores(t, s.hi1, rb + 1u, kb + kb8, key_start, globals);
    store_scores(t, s.hi2, rb + 1u, kb + 2u * kb8, key_start, globals);
    store_scores(t, s.hi3, rb + 1u, kb + 3u * kb8, key_start, globals);
    store_scores(t, s.hi4, rb + 1u, kb + 4u * kb8, key_start, globals);
    store_scores(t, s.hi5, rb + 1u, kb + 5u * kb8, key_start, globals);
    store_scores(t, s.hi6, rb + 1u, kb + 6u * kb8, key_start, globals);
    store_scores(t, s.hi7, rb + 1u, kb + 7u * kb8, key_start, globals);
  }
}

// Q·Kᵀ in 8 × 8 register blocks, each shared by two neighbouring invocations (QK_BLOCK = 8 with
// QK_PAIRS; the plan sets it where the workgroup is twice the tile's 8 × 8 blocks): as few reads per
// multiply-add as compute_scores_8x8, with every invocation busy where that would leave half of them
// idle. Block tid / 2 holds row blocks rb = 2·(blk / kb8), rb + 1 against keys kb + n·kb8. The lower
// invocation sums the vec4s d < ⌊HEAD_DIM_VEC4 / 2⌋, the upper the rest; each hands the other the
// partial logits of the 4 rows that one finishes, through the P slots where those logits end up, and
// after a barrier finishes its own 4 rows (the lower rows 0–3). The split changes the order of the
// sum over d, not its precision. On SwiftShader the whole kernel runs 1.10–1.15× faster than with
// 4 × 4 blocks (D = 64, dense and causal); with the hand-over and stores looped over the 8 keys it
// gained nothing.
fn compute_scores_in_pairs(t: Tile, key_start: u32, globals: vec2<u32>, tid: u32) {
  let kb8 = TILE_KV / 8u;
  let row_blocks = BLOCK_Q / 4u;
  let blk = tid / 2u;
  let upper = (tid & 1u) == 1u;
  let rb = (blk / kb8) * 2u;
  let kb = blk % kb8;
  let half_d = params.head_dim_vec4 / 2u;
  var s = Block8x8();
  add_dots_8x8(&s, rb, kb, select(0u, half_d, upper), select(half_d, params.head_dim_vec4, upper));
  // Hand over the partials of the rows the partner finishes: the lower invocation's rows 4–7, the upper's 0–3.
  let given = select(rb + 1u, rb, upper);
  p_tile[kb * row_blocks + given] = select(s.hi0, s.lo0, upper);
  p_tile[(kb + kb8) * row_blocks + given] = select(s.hi1, s.lo1, upper);
  p_tile[(kb + 2u * kb8) * row_blocks + given] = select(s.hi2, s.lo2, upper);
  p_tile[(kb + 3u * kb8) * row_blocks + given] = select(s.hi3, s.lo3, upper);
  p_tile[(kb + 4u * kb8) * row_blocks + given] = select(s.hi4, s.lo4, upper);
  p_tile[(kb + 5u * kb8) * row_blocks + given] = select(s.hi5, s.lo5, upper);
  p_tile[(kb + 6u * kb8) * row_blocks + given] = select(s.hi6, s.lo6, upper);
  p_tile[(kb + 7u * kb8) * row_blocks + given] = select(s.hi7, s.lo7, upper);
  workgroupBarrier();
  let kept = select(rb, rb + 1u, upper);
  store_scores(t, select(s.lo0, s.hi0, upper) + p_tile[kb * row_blocks + kept], kept, kb, key_start, globals);
  store_scores(t, select(s.lo1, s.hi1, upper) + p_tile[(kb + kb8) * row_blocks + kept], kept, kb + kb8, key_start, globals);
  store_scores(t, select(s.lo2, s.hi2, upper) + p_tile[(kb + 2u * kb8) * row_blocks + kept], kept, kb + 2u * kb8, key_start, globals);
  store_scores(t, select(s.lo3, s.hi3, upper) + p_tile[(kb + 3u * kb8) * row_blocks + kept], kept, kb + 3u * kb8, key_start, globals);
  store_scores(t, select(s.lo4, s.hi4, upper) + p_tile[(kb + 4u * kb8) * row_blocks + kept], kept, kb + 4u * kb8, key_start, globals);
  store_scores(t, select(s.lo5, s.hi5, upper) + p_tile[(kb + 5u * kb8) * row_blocks + kept], kept, kb + 5u * kb8, key_start, globals);
  store_scores(t, select(s.lo6, s.hi6, upper) + p_tile[(kb + 6u * kb8) * row_blocks + kept], kept, kb + 6u * kb8, key_start, globals);
  store_scores(t, select(s.lo7, s.hi7, upper) + p_tile[(kb + 7u * kb8) * row_blocks + kept], kept, kb + 7u * kb8, key_start, globals);
}

fn store_scores(t: Tile, s: vec4<f32>, rb: u32, key: u32, key_start: u32, globals: vec2<u32>) {
  let rho = t.row_start + rb * 4u;
  let j = key_start + key;
  p_tile[key * (BLOCK_Q / 4u) + rb] = finish_scores(t, s, rho, j, key, globals);
}

// Sigmoid attention: P = sigmoid(S + b) = 1 / (1 + 2^(−(S + b)·log₂e)), REMOVED for a −∞ logit, NaN
// kept; nothing to rescale (α = 1) and no sum (the output is not divided).
fn sigmoid_weights(tid: u32) {
  for (var rb = tid; rb < BLOCK_Q / 4u; rb += WORKGROUP_SIZE) {
    var removing = false;
    for (var j = 0u; j < params.tile_kv; j++) {
      let at = j * (BLOCK_Q / 4u) + rb;
      let s = p_tile[at];
      let x = s + vec4<f32>(params.sigmoid_bias);
      let p = select(1.0 / (1.0 + exp2(-x * LOG2E)), x, is_nan(x));
      let removed = s == vec4<f32>(params.minus_infinity);
      p_tile[at] = select(p, vec4<f32>(REMOVED), removed);
      removing |= any(removed);
    }
    row_alpha[rb] = vec4<f32>(1.0);
    rows_removing[rb] = u32(removing);
  }
}

// The invocation's lane group: itself alone, or with LANES_ARE_SUBGROUPS (the prelude decides) its
// subgroup, which it joins before a barrier (the subgroups number themselves with an atomic, once
// per workgroup) and whose count it reads after it (see sdpa_forward).
struct LaneGroup {
  id: u32,     // 0 … count − 1; one per subgroup, in no particular order
  lane: u32,   // 0 … size − 1 within the group
  size: u32,
  count: u32,  // groups in the workgroup
}

fn join_subgroup() -> LaneGroup {
  var id = 0u;
  if (lanes_elect()) { id = atomicAdd(&lane_groups, 1u); }
  return LaneGroup(lanes_broadcast_first(id), lanes_index(), lanes_count(), 0u);
}

fn online_softmax(g: LaneGroup) {
  // One lane group per 4 rows (a vec4 of P), its lanes sharing the tile's keys: new running max, the
  // rescale α of what was accumulated, P = exp2((S − max)·log₂e), REMOVED for a −∞ logit. While a
  // row has seen only −∞ its max is −∞; 0 is subtracted instead, so −∞ − (−∞) never makes a NaN (α
  // and P are 0 then). A NaN logit makes its row NaN whichever max a device's reduction returns (P
  // keeps the NaN). Every lane of a group runs the same iterations (id and count are the group's),
  // so the collectives see the whole group. Whole-vec4 writes only: a write to one lane of a shared
  // vec4 may be carried out as a read-modify-write of the vector, a race between neighbours.
  let minus_infinity = vec4<f32>(params.minus_infinity);
  for (var rb = g.id; rb < BLOCK_Q / 4u; rb += g.count) {
    let old_max = row_max[rb];
    let old_sum = row_sum[rb];
    var new_max = old_max;
    for (var j = g.lane; j < params.tile_kv; j += g.size) {
      new_max = max(new_max, p_tile[j * (BLOCK_Q / 4u) + rb]);
    }
    new_max = lanes_max(new_max);
    let shift = select(new_max, vec4<f32>(0.0), new_max == minus_infinity);
    let alpha = exp2((old_max - shift) * LOG2E);
    var sum = vec4<f32>(0.0);
    var removing = vec4<f32>(0.0);  // 1 in a lane once one of its row's keys is removed
    for (var j = g.lane; j < params.tile_kv; j += g.size) {
      let at = j * (BLOCK_Q / 4u) + rb;
      let s = p_tile[at];
      let removed = s == minus_infinity;
      let d = s - shift;  // NaN for a NaN logit, and for +∞ − (+∞)
      let p = select(exp2(d * LOG2E), d, is_nan(d));
      p_tile[at] = select(p, vec4<f32>(REMOVED), removed);
      sum += select(p, vec4<f32>(0.0), removed);
      removing = select(removing, vec4<f32>(1.0), removed);
    }
    sum = lanes_sum(sum);
    removing = lanes_max(removing);
    if (g.lane == 0u) {
      row_max[rb] = new_max;
      row_sum[rb] = old_sum * alpha + sum;
      row_alpha[rb] = alpha;
      rows_removing[rb] = u32(any(removing > vec4<f32>(0.0)));
    }
  }
}

// A weight times a V row, in the tiles' precision: with f16 tiles a half-precision product (P ≤ 1,
// so |P·v| ≤ |v| cannot overflow; its rounding is f16's, within the f16 tolerance), summed in f32.
fn pv(p: f32, value: tile_vec4) -> vec4<f32> {
  return vec4<f32>(tile_scalar(p) * value);
}

// Four output rows of one column vec4 (the lanes of a P vec4).
struct Rows4 {
  r0: vec4<f32>,
  r1: vec4<f32>,
  r2: vec4<f32>,
  r3: vec4<f32>,
}

fn rows_of(acc: ptr<function, array<vec4<f32>, 16>>, first: u32) -> Rows4 {
  return Rows4((*acc)[first], (*acc)[first + 1u], (*acc)[first + 2u], (*acc)[first + 3u]);
}

// rows · α, row by row: the rescale when a row's running max grew.
fn rescale(rows: Rows4, alpha: vec4<f32>) -> Rows4 {
  return Rows4(rows.r0 * alpha.x, rows.r1 * alpha.y, rows.r2 * alpha.z, rows.r3 * alpha.w);
}

// rows + P·v for one key: P's lanes are the 4 rows' weights. `guarded`: some P of the tile may be
// REMOVED, whose v is then not read (NaN or ±∞ there stays out); unguarded, every product is added
// (16 selects fewer per key: 1.07× the whole kernel on SwiftShader, dense).
fn add_pv(rows: Rows4, p: vec4<f32>, value: tile_vec4, guarded: bool) -> Rows4 {
  if (!guarded) {
    return Rows4(rows.r0 + pv(p.x, value), rows.r1 + pv(p.y, value), rows.r2 + pv(p.z, value), rows.r3 + pv(p.w, value));
  }
  let kept = !(p == vec4<f32>(REMOVED));
  let none = vec4<f32>(0.0);
  return Rows4(rows.r0 + select(none, pv(p.x, value), kept.x), rows.r1 + select(none, pv(p.y, value), kept.y),
               rows.r2 + select(none, pv(p.z, value), kept.z), rows.r3 + select(none, pv(p.w, value), kept.w));
}

// b0 … b3 += P·V over the tile's keys (see add_pv for `guarded`): row blocks rb … rb + PV_ROWS/4 − 1
// of column vec4 c, and with PV_COLS = 2 (PV_ROWS = 8) b2, b3 the same two row blocks of column vec4
// c + VALUE_DIM_VEC4 / 2 (the vec4 reads per key: 2 of P and 2 of V, against 4 and 1 for 16 rows).
fn add_pv_tile(b0: ptr<function, Rows4>, b1: ptr<function, Rows4>, b2: ptr<function, Rows4>, b3: ptr<function, Rows4>,
               rb: u32, c: u32, guarded: bool) {
  for (var j = 0u; j < params.tile_kv; j++) {
    let value = kv_tile[j * KV_STRIDE + c];
    let at = j * (BLOCK_Q / 4u) + rb;
    let p0 = p_tile[at];
    *b0 = add_pv(*b0, p0, value, guarded);
    if (PV_COLS == 2u) {
      let p1 = p_tile[at + 1u];
      let second = kv_tile[j * KV_STRIDE + c + VALUE_DIM_VEC4 / 2u];
      *b1 = add_pv(*b1, p1, value, guarded);
      *b2 = add_pv(*b2, p0, second, guarded);
      *b3 = add_pv(*b3, p1, second, guarded);
      continue;
    }
    if (PV_ROWS >= 8u) { *b1 = add_pv(*b1, p_tile[at + 1u], value, guarded); }
    if (PV_ROWS >= 16u) {
      *b2 = add_pv(*b2, p_tile[at + 2u], value, guarded);
      *b3 = add_pv(*b3, p_tile[at + 3u], value, guarded);
    }
  }
}

// Whether some P of row blocks rb … rb + PV_ROWS/4 − 1 is REMOVED in this tile (the softmax's flags).
fn tile_removes(rb: u32) -> bool {
  var flags = rows_removing[rb];
  if (PV_ROWS >= 8u) { flags |= rows_removing[rb + 1u]; }
  if (PV_ROWS >= 16u) { flags |= rows_removing[rb + 2u] | rows_removing[rb + 3u]; }
  return flags != 0u;
}

// O = α·O + P·V for the invocation's PV_ROWS rows (row blocks rb … rb + PV_ROWS/4 − 1, in acc[0 …])
// and column vec4 c, with PV_COLS = 2 also column vec4 c + VALUE_DIM_VEC4 / 2 (in acc[8 …]); see
// the header for why. A tile where none of these rows has a
// removed key (in dense attention every tile but the last, with causal all but the diagonal ones)
// takes the loop without the guards.
fn accumulate(acc: ptr<function, array<vec4<f32>, 16>>, rb: u32, c: u32) {
  if (ONE_ROW) {  // rows 1–3 are padding: their P is REMOVED and their output never written
    var a = (*acc)[0] * row_alpha[rb].x;
    for (var j = 0u; j < params.tile_kv; j++) {
      let p = p_tile[j * (BLOCK_Q / 4u) + rb][0];
      a += select(vec4<f32>(0.0), pv(p, kv_tile[j * KV_STRIDE + c]), !(p == REMOVED));
    }
    (*acc)[0] = a;
    return;
  }
  var b0 = rescale(rows_of(acc, 0u), row_alpha[rb]);
  var b1 = rows_of(acc, 4u);
  var b2 = rows_of(acc, 8u);
  var b3 = rows_of(acc, 12u);
  if (PV_ROWS >= 8u) { b1 = rescale(b1, row_alpha[rb + 1u]); }
  if (PV_ROWS >= 16u) {
    b2 = rescale(b2, row_alpha[rb + 2u]);
    b3 = rescale(b3, row_alpha[rb + 3u]);
  }
  if (PV_COLS == 2u) {  // the same two row blocks, second column vec4
    b2 = rescale(b2, row_alpha[rb]);
    b3 = rescale(b3, row_alpha[rb + 1u]);
  }
  if (tile_removes(rb)) {
    add_pv_tile(&b0, &b1, &b2, &b3, rb, c, true);
  } else {
    add_pv_tile(&b0, &b1, &b2, &b3, rb, c, false);
  }
  *acc = array<vec4<f32>, 16>(b0.r0, b0.r1, b0.r2, b0.r3, b1.r0, b1.r1, b1.r2, b1.r3,
                               b2.r0, b2.r1, b2.r2, b2.r3, b3.r0, b3.r1, b3.r2, b3.r3);
}

// Block n (0, or 1 for the second of a pair) of workgroup wid's group. With paired blocks
// (block_groups < q_blocks) group p of a (b, kv head) holds blocks p and q_blocks − 1 − p: with
// causal their key tiles add up to the same count in every group (the first block's few, the last
// block's many), and a workgroup's fixed costs (zero-initialised workgroup memory, the Q and output
// traffic around the tiles) are paid once per two blocks.
fn locate_tile(wid: u32, n: u32) -> Tile {
  let group_index = wid / params.kv_splits;
  let bg = group_index / params.block_groups;  // b·Hkv + g
  let pair = group_index % params.block_groups;
  let row_block = select(pair, params.q_blocks - 1u - pair, n == 1u);  // not `block`: wgsl_reflect refuses the name
  let kv_heads = params.q_heads / params.kv_group;
  return Tile(bg / kv_heads, bg % kv_heads, row_block * BLOCK_Q, wid % params.kv_splits, bg * params.q_blocks + row_block);
}

// How many blocks workgroup wid runs: 1, or 2 with paired blocks (1 for the middle of an odd count).
fn group_blocks(wid: u32) -> u32 {
  let pair = (wid / params.kv_splits) % params.block_groups;
  let paired = params.block_groups != params.q_blocks && pair != params.q_blocks - 1u - pair;
  return select(1u, 2u, paired);
}

// The positions of the block's queries, [first, last]: consecutive within one head, and every
// query when the block's rows run from one head of the group into the next.
fn block_positions(t: Tile) -> vec2<i32> {
  let last_row = min(t.row_start + BLOCK_Q, params.group_rows) - 1u;
  var span = vec2<u32>(row_query(t.row_start), row_query(last_row));
  if (t.row_start / params.q_len != last_row / params.q_len) { span = vec2<u32>(0u, params.q_len - 1u); }
  return vec2<i32>(span) + vec2<i32>(params.causal_offset);
}

// The keys [first, last] some row of the block may see through causal and the window alone.
// Tiles wholly outside it are skipped, not loaded and masked.
fn band_keys(t: Tile, window: bool) -> vec2<i32> {
  let p = block_positions(t);
  var first = 0;
  var last = i32(params.kv_len) - 1;
  if (IS_CAUSAL) { last = min(last, p.y); }
  if (window && params.window_left >= 0) { first = max(first, p.x - params.window_left); }
  if (window && params.window_right >= 0) { last = min(last, p.y + params.window_right); }
  return vec2<i32>(first, last);
}

// Whether keys outside the window's band may be visible (global or sink tokens): then the block walks
// every tile causal allows and tile_needed() skips the rest. Uniform per dispatch.
fn walks_past_band() -> bool {
  return HAS_WINDOW && (HAS_GLOBAL || params.sink_tokens > 0);
}

// Key tiles [x, y) the block walks: its split's share of the tiles, within the band.
fn key_tile_range(t: Tile) -> vec2<u32> {
  let keys = band_keys(t, HAS_WINDOW && !walks_past_band());
  if (keys.y < keys.x) { return vec2<u32>(0u); }
  let first = max(u32(keys.x) / TILE_KV, t.split * params.tiles_per_split);
  let end = min(u32(keys.y) / TILE_KV + 1u, (t.split + 1u) * params.tiles_per_split);
  return vec2<u32>(first, max(first, end));
}

// Bit r set: the position of the block's row r is a global token (once per block).
fn global_rows(t: Tile) -> u32 {
  var bits = 0u;
  let rows = min(params.group_rows - t.row_start, BLOCK_Q);
  for (var r = 0u; r < rows; r++) {
    let position = i32(row_query(t.row_start + r)) + params.causal_offset;
    bits |= (global_run(position) & 1u) << r;
  }
  return bits;
}

// Past the band: whether a key tile holds a band key, a global key or a sink token (uniform per workgroup).
fn tile_needed(t: Tile, tile: u32, key_bits: u32, block_is_global: bool) -> bool {
  let first = i32(tile * TILE_KV);
  let last = first + i32(TILE_KV) - 1;
  let band = band_keys(t, true);
  return block_is_global | ((first <= band.y) & (last >= band.x)) | (key_bits != 0u) | (first < params.sink_tokens);
}

// Whether the block skips key tile `tile` of its range (workgroup-uniform): past the band, one that
// holds neither a band key, a global key nor a sink (globals.y then holds the tile's global keys),
// or one the block mask leaves off for every row of the block.
fn skips_tile(t: Tile, tile: u32, globals: ptr<function, vec2<u32>>) -> bool {
  if (walks_past_band()) {
    if (HAS_GLOBAL) { (*globals).y = global_run(i32(tile * TILE_KV)) & (0xffffffffu >> (32u - TILE_KV)); }
    if (!tile_needed(t, tile, (*globals).y, (*globals).x != 0u)) { return true; }
  }
  return HAS_BLOCK_MASK && !tile_on(t.row_block, tile);
}

// Outputs are addressed with plain arithmetic on ρ, not through row_head()/row_query():
// wgsl_reflect's race detector (test/node/races.test.ts) shares a user function's result between
// invocations when it is bound to a `let`, and would report races that do not exist.
fn write_output(t: Tile, acc: array<vec4<f32>, 16>, rb: u32, c: u32) {
  for (var n = 0u; n < PV_ROWS * PV_COLS; n++) {
    let r = n % PV_ROWS;
    let rho = t.row_start + rb * 4u + r;
    let d = (c + (n / PV_ROWS) * (VALUE_DIM_VEC4 / 2u)) * 4u;  // PV_COLS = 2: acc[8 …] is column vec4 c + Dv/8
    if (rho >= params.group_rows) { continue; }
    let h = t.kv_h * params.kv_group + rho / params.q_len;
    let i = rho % params.q_len;
    let sum = vec4<f32>(row_sum[rb + r / 4u][r % 4u]);
    var value = acc[n];
    var base = (((t.b * params.q_heads + h) * params.q_len + i) * params.kv_splits + t.split) * params.value_dim + d;
    if (!WRITE_PARTIAL) {  // the final output: normalised (softmax), where the caller's layout puts it
      if (!IS_SIGMOID) {
        value = select(value / sum, vec4<f32>(0.0), sum == vec4<f32>(0.0));  // 0: no key
        value = select(value, sum, is_nan(sum));
      }
      base = params.o_offset + t.b * params.o_stride_b + h * params.o_stride_h + i * params.o_stride_s + d;
    }
    for (var lane = 0u; lane < min(params.value_dim - d, 4u); lane++) {
      out[base + lane] = value[lane];
    }
  }
}

// The log-sum-exp of each row, at (b·Hq + h)·Lq + i; with WRITE_PARTIAL, the split's (max, sum).
fn write_stats(t: Tile, tid: u32) {
  for (var row = tid; row < BLOCK_Q; row += WORKGROUP_SIZE) {
    let rho = t.row_start + row;
    if (rho < params.group_rows) {
      let at = (t.b * params.q_heads + t.kv_h * params.kv_group + rho / params.q_len) * params.q_len + rho % params.q_len;
      let sum = row_sum[row / 4u][row % 4u];
      let peak = row_max[row / 4u][row % 4u];
      if (WRITE_PARTIAL) {
        lse[(at * params.kv_splits + t.split) * 2u] = peak;
        lse[(at * params.kv_splits + t.split) * 2u + 1u] = sum;
      } else {
        var value = select(peak + log(sum), params.minus_infinity, sum == 0.0);
        value = select(value, sum, is_nan(vec4<f32>(sum)).x);
        lse[params.lse_offset + at] = value;
      }
    }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sdpa_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let wid = wg.x + wg.y * params.groups_x;
  if (wid >= params.batch * (params.q_heads / params.kv_group) * params.block_groups * params.kv_splits) { return; }
  // Built inline, not returned by a function: wgsl_reflect's race detector (test/node/races.test.ts)
  // would share one invocation's result among all.
  var lanes = LaneGroup(tid, 0u, 1u, WORKGROUP_SIZE);
  if (LANES_ARE_SUBGROUPS) { lanes = join_subgroup(); }
  let rb = (tid / (VALUE_DIM_VEC4 / PV_COLS)) * (PV_ROWS / 4u);  // the invocation's first row block in P·V
  let c = tid % (VALUE_DIM_VEC4 / PV_COLS);  // its (first) column vec4
  var acc: array<vec4<f32>, 16>;
  var globals = vec2<u32>(0u);  // (global rows of the block, global keys of the tile), as bits
  let block_count = group_blocks(wid);
  for (var n = 0u; n < block_count; n++) {
    // One block of rows: its Q tile, the key tiles of its band, its outputs.
    let t = locate_tile(wid, n);
    acc = array<vec4<f32>, 16>();
    load_q_tile(t, tid);
    workgroupBarrier();  // row statistics must be initialised even when no key tile follows; groups counted
    if (LANES_ARE_SUBGROUPS) { lanes.count = atomicLoad(&lane_groups); }
    let tiles = key_tile_range(t);
    globals = vec2<u32>(0u);
    if (HAS_GLOBAL) { globals.x = global_rows(t); }
    for (var tile = tiles.x; tile < tiles.y; tile++) {
      if (skips_tile(t, tile, &globals)) { continue; }
      let key_start = tile * TILE_KV;
      load_k_tile(t, key_start, tid);
      workgroupBarrier();
      compute_scores(t, key_start, globals, tid);
      workgroupBarrier();
      if (IS_SIGMOID) { sigmoid_weights(tid); } else { online_softmax(lanes); }
      load_v_tile(t, key_start, tid);
      workgroupBarrier();
      accumulate(&acc, rb, c);
      workgroupBarrier();
    }
    write_output(t, acc, rb, c);
    if (WRITE_LSE || WRITE_PARTIAL) { write_stats(t, tid); }
    workgroupBarrier();  // the next block's Q tile and row statistics replace what these outputs read
  }
}

// ── Top-k attention (entry sdpa_topk) ──────────────────────────────────────────────────────────
// Each query keeps the top_k (≤ TOPK_MAX) largest logits — after causal, windows, masks, key padding
// and the block mask, exactly as the flash pass computes them — and softmaxes over those alone.
// WORKGROUP_SIZE = BLOCK_Q / 4: invocation t owns packed rows 4t … 4t+3 (the lanes of a vec4) and
// keeps each row's list sorted in private memory while the K tiles stream past (no Lq × Lk matrix
// anywhere). Keys arrive in increasing order, and a logit enters only when strictly larger than the
// list's last, so ties go to the lower key. −∞ (removed) never enters; a NaN logit makes its row NaN.
// Then each row's weights over its list, and P·V reading the kept V rows straight from v.
const TOPK_MAX: u32 = 32u;

// A NaN at run time (a NaN constant is not a valid WGSL constant): −∞ − (−∞).
fn quiet_nan() -> f32 {
  return params.minus_infinity - params.minus_infinity;
}

// Puts logit x of key j into lane r's sorted list, if it is among the top_k so far.
fn insert_top(top_s: ptr<function, array<vec4<f32>, TOPK_MAX>>, top_j: ptr<function, array<vec4<u32>, TOPK_MAX>>,
              x: f32, j: u32, r: u32) {
  if (!(x > (*top_s)[params.top_k - 1u][r])) { return; }
  var at = params.top_k - 1u;
  while (at > 0u && x > (*top_s)[at - 1u][r]) {
    (*top_s)[at][r] = (*top_s)[at - 1u][r];
    (*top_j)[at][r] = (*top_j)[at - 1u][r];
    at--;
  }
  (*top_s)[at][r] = x;
  (*top_j)[at][r] = j;
}

// Scores of the invocation's 4 rows against the tile's keys, into the lists.
fn score_tile_top(t: Tile, rb: u32, key_start: u32, globals: vec2<u32>, top_s: ptr<function, array<vec4<f32>, TOPK_MAX>>,
                  top_j: ptr<function, array<vec4<u32>, TOPK_MAX>>) -> vec4<bool> {
  var nan_rows = vec4<bool>(false);
  for (var key = 0u; key < params.tile_kv; key++) {
    var dots = vec4<f32>(0.0);
    for (var d = 0u; d < params.head_dim_vec4; d++) {
      dots += dots4(q_at(rb * 4u, d), q_at(rb * 4u + 1u, d), q_at(rb * 4u + 2u, d), q_at(rb * 4u + 3u, d), k_at(key, d));
    }
    let s = finish_scores(t, dots, t.row_start + rb * 4u, key_start + key, key, globals);
    nan_rows |= is_nan(s);
    for (var r = 0u; r < 4u; r++) { insert_top(top_s, top_j, s[r], key_start + key, r); }
  }
  return nan_rows;
}

// Row ρ = 4·rb + r's output (its list's softmax times the kept V rows) and log-sum-exp.
fn write_top_row(t: Tile, rb: u32, r: u32, top_s: ptr<function, array<vec4<f32>, TOPK_MAX>>,
                 top_j: ptr<function, array<vec4<u32>, TOPK_MAX>>, nan_row: bool) {
  let rho = t.row_start + rb * 4u + r;
  let h = t.kv_h * params.kv_group + rho / params.q_len;
  let i = rho % params.q_len;
  let peak = (*top_s)[0][r];
  let shift = select(peak, 0.0, peak == params.minus_infinity);
  var sum = 0.0;
  for (var n = 0u; n < params.top_k; n++) {
    let d = (*top_s)[n][r] - shift;
    sum += select(select(exp2(d * LOG2E), d, is_nan(vec4<f32>(d)).x), 0.0, (*top_s)[n][r] == params.minus_infinity);
  }
  let nan = nan_row | is_nan(vec4<f32>(sum)).x;
  let v_base = params.v_offset + t.b * params.v_stride_b + t.kv_h * params.v_stride_h;
  let o_base = params.o_offset + t.b * params.o_stride_b + h * params.o_stride_h + i * params.o_stride_s;
  for (var c4 = 0u; c4 < VALUE_DIM_VEC4; c4++) {
    var acc = vec4<f32>(0.0);
    for (var n = 0u; n < params.top_k; n++) {
      let s = (*top_s)[n][r];
      if (s == params.minus_infinity) { break; }
      let d = s - shift;
      let p = select(exp2(d * LOG2E), d, is_nan(vec4<f32>(d)).x);
      let row = v_base + kv_row((*top_j)[n][r], params.v_stride_b, params.v_stride_s);
      acc += p * load_v4(row + c4 * 4u, params.value_dim - c4 * 4u);
    }
    var value = select(acc / sum, vec4<f32>(0.0), sum == 0.0);
    value = select(value, vec4<f32>(quiet_nan()), nan);
    for (var lane = 0u; lane < min(params.value_dim - c4 * 4u, 4u); lane++) {
      out[o_base + c4 * 4u + lane] = value[lane];
    }
  }
  if (WRITE_LSE) {
    let at = (t.b * params.q_heads + h) * params.q_len + i;
    var value = select(shift + log(sum), params.minus_infinity, sum == 0.0);
    lse[params.lse_offset + at] = select(value, quiet_nan(), nan);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sdpa_topk(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let wid = wg.x + wg.y * params.groups_x;
  if (wid >= params.batch * (params.q_heads / params.kv_group) * params.q_blocks) { return; }
  let t = locate_tile(wid, 0u);  // top-k: one block a workgroup (block_groups = q_blocks), one split
  var top_s: array<vec4<f32>, TOPK_MAX>;
  var top_j: array<vec4<u32>, TOPK_MAX>;
  for (var n = 0u; n < TOPK_MAX; n++) { top_s[n] = vec4<f32>(params.minus_infinity); }
  var nan_rows = vec4<bool>(false);
  load_q_tile(t, tid);
  workgroupBarrier();
  let tiles = key_tile_range(t);
  var globals = vec2<u32>(0u);
  if (HAS_GLOBAL) { globals.x = global_rows(t); }
  for (var tile = tiles.x; tile < tiles.y; tile++) {
    if (skips_tile(t, tile, &globals)) { continue; }
    let key_start = tile * TILE_KV;
    load_k_tile(t, key_start, tid);
    workgroupBarrier();
    nan_rows |= score_tile_top(t, tid, key_start, globals, &top_s, &top_j);
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    if (t.row_start + tid * 4u + r >= params.group_rows) { break; }
    write_top_row(t, tid, r, &top_s, &top_j, nan_rows[r]);
  }
}
