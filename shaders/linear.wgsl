// linear.wgsl — tiled GEMM of a linear layer, C = X · Wᵀ + bias, with an epilogue that writes C
// straight into an attention layout (head split) and can apply rotary position embedding.
//
// One workgroup owns a TILE_M × TILE_N block of C. X [M, K] and W [N, K] (PyTorch's nn.Linear
// layout [out, in]) are both read along K, so each K step loads a TILE_M × TILE_K tile of X and a
// TILE_N × TILE_K tile of W into workgroup memory, K-contiguous as vec4s (zero past M, N and K):
//
//   for each K tile:   load x_tile, w_tile   ─ barrier
//                      acc += x_tile · w_tileᵀ  ─ barrier   each invocation: 4·ROW_BLOCKS rows × 4·COL_BLOCKS columns
//   epilogue: + bias, rotary, scatter to the output layout
//
// Invocations: WORKGROUP_SIZE = (TILE_M / (4·ROW_BLOCKS)) · (TILE_N / (4·COL_BLOCKS)). With
// row_span = TILE_M / (4·ROW_BLOCKS) and col_span = TILE_N / (4·COL_BLOCKS), invocation t owns the
// 4 × 4 blocks at row blocks q_row = t / col_span (and q_row + row_span when ROW_BLOCKS = 2) and
// column blocks q_col = t % col_span (and q_col + col_span when COL_BLOCKS = 2): block (i, j) covers
// rows 4·i … +3 and columns 4·j … +3 of the tile, held as 4 vec4 accumulators (a Block: one per
// row, lanes = the 4 columns). The plan's prefill tiling is 64 × 64 with 2 × 2 blocks (8 × 8
// outputs, 64 invocations): per 4-wide K step an invocation reads 16 vec4s of workgroup memory for
// 256 multiply-adds, where 1 × 1 blocks read 8 for 64. The second block sits half a tile away, not
// next to the first, so neighbouring invocations still read neighbouring w_tile slots and write
// neighbouring columns. Every pair of columns (2i, 2i+1) that rotary rotates sits in one block.
//
// Workgroup memory (bytes) = 16·TILE_M·K_STRIDE    (x_tile)
//                          + 16·TILE_N·K_STRIDE    (w_tile)
// K_STRIDE = TILE_K / 4 + 1 vec4s per row (odd, so neighbouring rows sit in different banks);
// e.g. TILE_M = TILE_N = 64, TILE_K = 16 (K_STRIDE = 5): 5120 + 5120 = 10240;
//      TILE_M = TILE_N = 64, TILE_K = 32 (K_STRIDE = 9): 9216 + 9216 = 18432;
//      TILE_M = 4, TILE_N = 64, TILE_K = 32 (decoding):  576 + 9216 = 9792.
// w_tile stores row n at slot (n % 4)·(TILE_N/4) + n / 4, so the invocations of one row block,
// which read rows 4·c + j for consecutive c, read consecutive slots.
//
// Index legend: M rows (= B·rows_per_batch), N columns (= heads·head_dim), K the reduced dim.
// X element (m, k) at x_offset + m·x_stride_m + k; W element (n, k) at w_offset + n·K + k.
// Epilogue: m = b·rows_per_batch + l, n = head·head_dim + d, and C[m, n] goes to
//   out[o_offset + b·o_stride_b + l·o_stride_l + head·o_stride_h + d]
// (plain [M, N]: rows_per_batch = M, head_dim = N, o_stride_l = N; bshd and bhsd are strides).
//
// Rotary (HAS_ROTARY; GPT-J adjacent pairs): for rot_col_begin ≤ n < rot_col_end and d < rot_dim,
// the pair (d, d+1) = (2i, 2i+1) at position pos = l + position_offset becomes
//   y[2i] = x[2i]·cos − x[2i+1]·sin,  y[2i+1] = x[2i]·sin + x[2i+1]·cos,
// with cos, sin of pos·base^(−2i/rot_dim) read from rot_table[rot_offset + 2·(pos·rot_dim/2 + i)]
// (+1 for sin), a float64 → f32 table made on the host. Needs head_dim, rot_dim, rot_col_begin and
// rot_col_end even, and pos < rot_positions (clamped, never read out of range). Bias is added first.
//
// GPT-NeoX rotary (ROTARY_HALF_SPLIT, with HAS_ROTARY) rotates pairs (i, i + rot_dim/2) instead. No
// weight is copied: for a rotated column n = head·head_dim + d (d < rot_dim) the W tile loads weight
// row head·head_dim + perm(d) (bias likewise), perm(2i) = i, perm(2i+1) = i + rot_dim/2. The head's
// rotated dims then come out interleaved, (x[i], x[i + rot_dim/2]) adjacent, and the GPT-J epilogue
// rotates each such pair. Attention is unchanged when q and k share the permutation (q·k is a sum
// over d); V is never permuted.
//
// Edge rules: tiles past M, N, K are zero-filled; rows ≥ M and columns ≥ N are never written.
//
// Storage types: x, weight and bias are u32 words of f32 bits or, with X_F16 / W_F16 / BIAS_F16, of
// two f16 halves (element e is half e % 2 of word e / 2), widened exactly with unpack2x16float (no
// `enable f16`); accumulation is f32. out is f32, or with OUT_F16 f16 halves (a KV cache's store):
// each value is rounded to the nearest f16, ties to even, by f16_bits, and the two columns of a pair
// (n0, n0+1), (n0+2, n0+3), which one invocation holds, are written as one whole word. That needs
// head_dim, o_offset and the output strides even (the host's rule), so no word is shared between
// invocations and no write is partial.

override TILE_M: u32 = 64;         // rows of C per workgroup, multiple of 4
override TILE_N: u32 = 64;         // columns of C per workgroup, multiple of 4
override TILE_K: u32 = 16;         // K per step, multiple of 4
override K_STRIDE: u32 = 5;        // vec4s per tile row: TILE_K / 4 + 1
override WORKGROUP_SIZE: u32 = 256;  // (TILE_M / (4·ROW_BLOCKS)) · (TILE_N / (4·COL_BLOCKS))
override ROW_BLOCKS: u32 = 1;      // 4-row blocks per invocation: 1 or 2
override COL_BLOCKS: u32 = 1;      // 4-column blocks per invocation: 1 or 2
override HAS_BIAS: bool = false;
override HAS_ROTARY: bool = false;
override ROTARY_HALF_SPLIT: bool = false;  // GPT-NeoX pairs by permuted weight rows (with HAS_ROTARY)
override X_F16: bool = false;      // x holds f16 halves (else f32)
override W_F16: bool = false;      // weight holds f16 halves
override BIAS_F16: bool = false;   // bias holds f16 halves
override OUT_F16: bool = false;    // write f16 halves, a pair of columns per word (else f32)

struct MatmulParams {
  m: u32,
  n: u32,
  k: u32,
  tiles_n: u32,          // ceil(N / TILE_N)
  tiles: u32,            // ceil(M / TILE_M) · ceil(N / TILE_N)
  groups_x: u32,         // workgroups along x (the dispatch is folded into y past the x limit)
  x_offset: u32,
  x_stride_m: u32,
  w_offset: u32,
  bias_offset: u32,
  o_offset: u32,
  rows_per_batch: u32,
  head_dim: u32,
  o_stride_b: u32,
  o_stride_l: u32,
  o_stride_h: u32,
  rot_offset: u32,
  rot_positions: u32,    // positions the table holds
  rot_dim: u32,
  rot_col_begin: u32,
  rot_col_end: u32,
  position_offset: u32,
}

@group(0) @binding(0) var<uniform> params: MatmulParams;
// x, weight, bias: f32 bits, or f16 halves two to a word (X_F16, W_F16, BIAS_F16).
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> weight: array<u32>;
// Absent bias or rotary: a dummy buffer, never read.
@group(0) @binding(3) var<storage, read> bias: array<u32>;
@group(0) @binding(4) var<storage, read> rot_table: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<u32>;  // f32 bits, or f16 pairs (OUT_F16)

var<workgroup> x_tile: array<vec4<f32>, TILE_M * K_STRIDE>;  // [row][k4]
var<workgroup> w_tile: array<vec4<f32>, TILE_N * K_STRIDE>;  // [slot(row)][k4]

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

// Gathers 4 consecutive elements starting at element `at`, in the storage type; lanes at or past
// `count` are 0.
fn load_x4(at: u32, count: u32) -> vec4<f32> {
  if (X_F16) {
    let w = at >> 1u;
    let odd = (at & 1u) == 1u;
    if (count >= 4u) { return halves4(x[w], x[w + 1u], x[w + select(1u, 2u, odd)], odd); }
    var h = vec4<f32>(0.0);
    for (var c = 0u; c < count; c++) { h[c] = half_at(x[(at + c) >> 1u], at + c); }
    return h;
  }
  if (count >= 4u) {
    return vec4<f32>(bitcast<f32>(x[at]), bitcast<f32>(x[at + 1u]), bitcast<f32>(x[at + 2u]), bitcast<f32>(x[at + 3u]));
  }
  var r = vec4<f32>(0.0);
  for (var c = 0u; c < count; c++) { r[c] = bitcast<f32>(x[at + c]); }
  return r;
}

fn load_w4(at: u32, count: u32) -> vec4<f32> {
  if (W_F16) {
    let w = at >> 1u;
    let odd = (at & 1u) == 1u;
    if (count >= 4u) { return halves4(weight[w], weight[w + 1u], weight[w + select(1u, 2u, odd)], odd); }
    var h = vec4<f32>(0.0);
    for (var c = 0u; c < count; c++) { h[c] = half_at(weight[(at + c) >> 1u], at + c); }
    return h;
  }
  if (count >= 4u) {
    return vec4<f32>(bitcast<f32>(weight[at]), bitcast<f32>(weight[at + 1u]), bitcast<f32>(weight[at + 2u]),
                     bitcast<f32>(weight[at + 3u]));
  }
  var r = vec4<f32>(0.0);
  for (var c = 0u; c < count; c++) { r[c] = bitcast<f32>(weight[at + c]); }
  return r;
}

// Element e of the bias, in its storage type.
fn bias_at(e: u32) -> f32 {
  if (BIAS_F16) { return half_at(bias[e >> 1u], e); }
  return bitcast<f32>(bias[e]);
}

fn load_bias4(at: u32, count: u32) -> vec4<f32> {
  var r = vec4<f32>(0.0);
  for (var c = 0u; c < min(count, 4u); c++) { r[c] = bias_at(at + c); }
  return r;
}

// The binary16 bits nearest to v (ties to even), in u32 arithmetic: the same on every device, where
// pack2x16float leaves the rounding direction, and any value past 65504, to the implementation.
// NaN → 0x7e00 (signed), |v| ≥ 65520 → ±∞, below 2⁻¹⁴ subnormals (units of 2⁻²⁴), signed zeros kept.
fn f16_bits(v: f32) -> u32 {
  let b = bitcast<u32>(v);
  let sign = (b >> 16u) & 0x8000u;
  let a = b & 0x7fffffffu;
  if (a > 0x7f800000u) { return sign | 0x7e00u; }
  if (a >= 0x477ff000u) { return sign | 0x7c00u; }
  if (a >= 0x38800000u) { return sign | ((a + 0xfffu + ((a >> 13u) & 1u) - 0x38000000u) >> 13u); }
  let m = (a & 0x7fffffu) | 0x800000u;
  let s = min(126u - (a >> 23u), 25u);
  let kept = m >> s;
  let rest = m & ((1u << s) - 1u);
  let half = 1u << (s - 1u);
  return sign | (kept + select(0u, 1u, (rest > half) | ((rest == half) & ((kept & 1u) == 1u))));
}

// The weight (and bias) row output column n reads: n itself, or its half-split permutation.
fn source_row(n: u32) -> u32 {
  if (!ROTARY_HALF_SPLIT) { return n; }
  let d = n % params.head_dim;
  let permuted = d / 2u + (d % 2u) * (params.rot_dim / 2u);
  let on = (n >= params.rot_col_begin) & (n < params.rot_col_end) & (d < params.rot_dim);
  return select(n, n - d + permuted, on);
}

fn load_bias_block(n0: u32, count: u32) -> vec4<f32> {
  if (!ROTARY_HALF_SPLIT) { return load_bias4(params.bias_offset + n0, count); }
  var r = vec4<f32>(0.0);
  for (var j = 0u; j < count; j++) { r[j] = bias_at(params.bias_offset + source_row(n0 + j)); }
  return r;
}

fn load_tiles(m_start: u32, n_start: u32, k_start: u32, tid: u32) {
  let k_vec4 = TILE_K / 4u;
  for (var idx = tid; idx < TILE_M * k_vec4; idx += WORKGROUP_SIZE) {
    let row = idx / k_vec4;
    let k4 = idx % k_vec4;
    let m = m_start + row;
    let k = k_start + k4 * 4u;
    var value = vec4<f32>(0.0);
    if (m < params.m && k < params.k) { value = load_x4(params.x_offset + m * params.x_stride_m + k, params.k - k); }
    x_tile[row * K_STRIDE + k4] = value;
  }
  for (var idx = tid; idx < TILE_N * k_vec4; idx += WORKGROUP_SIZE) {
    let row = idx / k_vec4;
    let k4 = idx % k_vec4;
    let n = n_start + row;
    let k = k_start + k4 * 4u;
    var value = vec4<f32>(0.0);
    if (n < params.n && k < params.k) { value = load_w4(params.w_offset + source_row(n) * params.k + k, params.k - k); }
    w_tile[((row % 4u) * (TILE_N / 4u) + row / 4u) * K_STRIDE + k4] = value;
  }
}

fn rotate(value: vec4<f32>, n0: u32, d: vec4<u32>, l: u32) -> vec4<f32> {
  // Pairs (n0, n0+1) and (n0+2, n0+3); n0 and d are even, so each pair lies in one head.
  let cols = vec2<u32>(n0, n0 + 2u);
  let dims = vec2<u32>(d.x, d.z);
  let on = (cols >= vec2<u32>(params.rot_col_begin)) & (cols < vec2<u32>(params.rot_col_end)) & (dims < vec2<u32>(params.rot_dim));
  let half_dim = max(params.rot_dim / 2u, 1u);
  let row = min(l + params.position_offset, params.rot_positions - 1u) * half_dim;
  let at = params.rot_offset + 2u * (row + min(dims / 2u, vec2<u32>(half_dim - 1u)));
  let cs0 = select(vec2<f32>(1.0, 0.0), vec2<f32>(rot_table[at.x], rot_table[at.x + 1u]), on.x);
  let cs1 = select(vec2<f32>(1.0, 0.0), vec2<f32>(rot_table[at.y], rot_table[at.y + 1u]), on.y);
  return value * vec4<f32>(cs0.x, cs0.x, cs1.x, cs1.x) + value.yxwz * vec4<f32>(-cs0.y, cs0.y, -cs1.y, cs1.y);
}

fn write_block(acc: array<vec4<f32>, 4>, m0: u32, n0: u32) {
  if (n0 >= params.n) { return; }
  let count = min(params.n - n0, 4u);
  var bias4 = vec4<f32>(0.0);
  if (HAS_BIAS) { bias4 = load_bias_block(n0, count); }
  let cols = vec4<u32>(n0, n0 + 1u, n0 + 2u, n0 + 3u);
  let heads = cols / vec4<u32>(params.head_dim);
  let d = cols - heads * params.head_dim;
  let col_at = heads * params.o_stride_h + d;
  for (var r = 0u; r < 4u; r++) {
    let m = m0 + r;
    if (m >= params.m) { break; }
    let b = m / params.rows_per_batch;
    let l = m - b * params.rows_per_batch;
    var value = acc[r] + bias4;
    if (HAS_ROTARY) { value = rotate(value, n0, d, l); }
    let base = params.o_offset + b * params.o_stride_b + l * params.o_stride_l;
    if (OUT_F16) {
      for (var j = 0u; j < count; j += 2u) {
        out[(base + col_at[j]) >> 1u] = f16_bits(value[j]) | (f16_bits(value[j + 1u]) << 16u);
      }
    } else {
      for (var j = 0u; j < count; j++) { out[base + col_at[j]] = bitcast<u32>(value[j]); }
    }
  }
}

// A 4 × 4 block of C: row r of the block in lane-vector r (lanes = the block's 4 columns).
struct Block {
  r0: vec4<f32>,
  r1: vec4<f32>,
  r2: vec4<f32>,
  r3: vec4<f32>,
}

// The 4 K-vec4s at k4 of x_tile rows 4·q … 4·q+3 (q = a row block of the tile).
fn x_rows(q: u32, k4: u32) -> Block {
  let at = q * 4u * K_STRIDE + k4;
  return Block(x_tile[at], x_tile[at + K_STRIDE], x_tile[at + 2u * K_STRIDE], x_tile[at + 3u * K_STRIDE]);
}

// The 4 K-vec4s at k4 of w_tile rows 4·q … 4·q+3 (slots q, q + TILE_N/4, …: see the header).
fn w_rows(q: u32, k4: u32) -> Block {
  let s = (TILE_N / 4u) * K_STRIDE;
  let at = q * K_STRIDE + k4;
  return Block(w_tile[at], w_tile[at + s], w_tile[at + 2u * s], w_tile[at + 3u * s]);
}

fn mac(acc: Block, xs: Block, ws: Block) -> Block {
  return Block(
    acc.r0 + vec4<f32>(dot(xs.r0, ws.r0), dot(xs.r0, ws.r1), dot(xs.r0, ws.r2), dot(xs.r0, ws.r3)),
    acc.r1 + vec4<f32>(dot(xs.r1, ws.r0), dot(xs.r1, ws.r1), dot(xs.r1, ws.r2), dot(xs.r1, ws.r3)),
    acc.r2 + vec4<f32>(dot(xs.r2, ws.r0), dot(xs.r2, ws.r1), dot(xs.r2, ws.r2), dot(xs.r2, ws.r3)),
    acc.r3 + vec4<f32>(dot(xs.r3, ws.r0), dot(xs.r3, ws.r1), dot(xs.r3, ws.r2), dot(xs.r3, ws.r3)),
  );
}

fn store(acc: Block, q_row: u32, q_col: u32, m_start: u32, n_start: u32) {
  write_block(array<vec4<f32>, 4>(acc.r0, acc.r1, acc.r2, acc.r3), m_start + q_row * 4u, n_start + q_col * 4u);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn linear_matmul(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let wid = wg.x + wg.y * params.groups_x;
  if (wid >= params.tiles) { return; }
  let m_start = (wid / params.tiles_n) * TILE_M;
  let n_start = (wid % params.tiles_n) * TILE_N;
  // Row blocks q_row and q_row + ROW_SPAN, column blocks q_col and q_col + COL_SPAN.
  let row_span = TILE_M / (4u * ROW_BLOCKS);
  let col_span = TILE_N / (4u * COL_BLOCKS);
  let q_row = tid / col_span;
  let q_col = tid % col_span;
  var b00 = Block();  // rows of block q_row, columns of block q_col
  var b01 = Block();  // q_row, q_col + col_span (COL_BLOCKS = 2)
  var b10 = Block();  // q_row + row_span, q_col (ROW_BLOCKS = 2)
  var b11 = Block();  // both (ROW_BLOCKS = COL_BLOCKS = 2)
  let k_tiles = (params.k + TILE_K - 1u) / TILE_K;
  for (var kt = 0u; kt < k_tiles; kt++) {
    load_tiles(m_start, n_start, kt * TILE_K, tid);
    workgroupBarrier();
    for (var k4 = 0u; k4 < TILE_K / 4u; k4++) {
      let x0 = x_rows(q_row, k4);
      let w0 = w_rows(q_col, k4);
      b00 = mac(b00, x0, w0);
      if (COL_BLOCKS == 2u) { b01 = mac(b01, x0, w_rows(q_col + col_span, k4)); }
      if (ROW_BLOCKS == 2u) {
        let x1 = x_rows(q_row + row_span, k4);
        b10 = mac(b10, x1, w0);
        if (COL_BLOCKS == 2u) { b11 = mac(b11, x1, w_rows(q_col + col_span, k4)); }
      }
    }
    workgroupBarrier();
  }
  store(b00, q_row, q_col, m_start, n_start);
  if (COL_BLOCKS == 2u) { store(b01, q_row, q_col + col_span, m_start, n_start); }
  if (ROW_BLOCKS == 2u) { store(b10, q_row + row_span, q_col, m_start, n_start); }
  if (ROW_BLOCKS == 2u && COL_BLOCKS == 2u) { store(b11, q_row + row_span, q_col + col_span, m_start, n_start); }
}
