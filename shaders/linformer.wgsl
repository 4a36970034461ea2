// linformer.wgsl — the sequence projection of Linformer (low-rank attention): for every (batch,
// head) of x (k or v) and a projection P [r, L] (E or F),
//   out[b, h, p, d] = Σ_j P[p, j] · x[b, h, j, d]        p < r, j < L, d < dim
// a GEMM per (batch, head) whose second operand is contiguous along d (not along j, the reduced
// index), which is why the attention GEMM of linear.wgsl (X · Wᵀ, both along K) cannot run it.
// The flash kernel then attends over the r projected rows.
//
// One workgroup owns a TILE_P × 4·TILE_D_VEC4 block of out for one (b, h). Per step of TILE_J
// positions:
//   load p_tile [TILE_P][TILE_J] of P and x_tile [TILE_J][TILE_D_VEC4] of x (zero past r, L, dim) ─ barrier
//   acc += p_tile · x_tile                                                                       ─ barrier
// Invocations: WORKGROUP_SIZE = (TILE_P / 4)·TILE_D_VEC4; invocation t owns rows 4·(t / TILE_D_VEC4)
// … +3 and column vec4 t % TILE_D_VEC4, as 4 vec4 accumulators. Neighbouring invocations read the
// same P entry (a broadcast) and neighbouring x vec4s.
//
// Workgroup memory (bytes) = 4·TILE_P·(TILE_J + 1)    (p_tile, rows padded by one against bank conflicts)
//                          + 16·TILE_J·TILE_D_VEC4    (x_tile)
// e.g. TILE_P = 32, TILE_J = 32, TILE_D_VEC4 = 16: 4224 + 8192 = 12416 ≤ 16384 (WebGPU's minimum).
//
// Index legend: B batch, H heads of x, L = length (the keys, Lk), r = rank, dim = D or Dv. x element
// (b, h, j, d) at x_offset + b·x_stride_b + h·x_stride_h + j·x_stride_s + d (bhsd or bshd); P
// element (p, j) at p_offset + p·L + j; out (b, h, p, d) at ((b·H + h)·r + p)·dim + d (bhsd, f32).
//
// Edge rules: rows p ≥ r and columns d ≥ dim are never written; tiles are zero past r, L and dim.
//
// Storage types: x and P are u32 words of f32 bits or, with X_F16 / P_F16, of two f16 halves
// (element e is half e % 2 of word e / 2), widened exactly with unpack2x16float; out is f32.

override TILE_P: u32 = 32;          // rows of out per workgroup, multiple of 4
override TILE_J: u32 = 32;          // positions per step
override TILE_D_VEC4: u32 = 16;     // column vec4s per workgroup
override WORKGROUP_SIZE: u32 = 128; // (TILE_P / 4)·TILE_D_VEC4
override X_F16: bool = false;
override P_F16: bool = false;

struct LinformerParams {
  heads: u32,
  rank: u32,            // r
  length: u32,          // L
  dim: u32,
  p_tiles: u32,         // ceil(r / TILE_P)
  d_tiles: u32,         // ceil(dim / (4·TILE_D_VEC4))
  workgroups: u32,      // B·H·p_tiles·d_tiles
  groups_x: u32,        // workgroups along x (the grid is folded into y past the x limit)
  x_offset: u32,
  x_stride_b: u32,
  x_stride_h: u32,
  x_stride_s: u32,
  p_offset: u32,
}

@group(0) @binding(0) var<uniform> params: LinformerParams;
@group(0) @binding(1) var<storage, read> x: array<u32>;           // f32 bits, or f16 halves (X_F16)
@group(0) @binding(2) var<storage, read> projection: array<u32>;  // f32 bits, or f16 halves (P_F16)
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

var<workgroup> p_tile: array<f32, TILE_P * (TILE_J + 1u)>;        // [p][j]
var<workgroup> x_tile: array<vec4<f32>, TILE_J * TILE_D_VEC4>;    // [j][d4]

fn half_at(word: u32, e: u32) -> f32 {
  let pair = unpack2x16float(word);
  return select(pair.x, pair.y, (e & 1u) == 1u);
}

// Element e of P, in its storage type.
fn projection_at(e: u32) -> f32 {
  if (P_F16) { return half_at(projection[e >> 1u], e); }
  return bitcast<f32>(projection[e]);
}

// 4 consecutive elements of x from element `at` (lanes at or past `count` are 0).
fn load_x4(at: u32, count: u32) -> vec4<f32> {
  var r = vec4<f32>(0.0);
  for (var c = 0u; c < min(count, 4u); c++) {
    if (X_F16) { r[c] = half_at(x[(at + c) >> 1u], at + c); } else { r[c] = bitcast<f32>(x[at + c]); }
  }
  return r;
}

fn load_tiles(bh: u32, p0: u32, d0: u32, j0: u32, tid: u32) {
  for (var idx = tid; idx < TILE_P * TILE_J; idx += WORKGROUP_SIZE) {
    let p = p0 + idx / TILE_J;
    let j = j0 + idx % TILE_J;
    var value = 0.0;
    if (p < params.rank && j < params.length) { value = projection_at(params.p_offset + p * params.length + j); }
    p_tile[(idx / TILE_J) * (TILE_J + 1u) + idx % TILE_J] = value;
  }
  let b = bh / params.heads;
  let h = bh % params.heads;
  for (var idx = tid; idx < TILE_J * TILE_D_VEC4; idx += WORKGROUP_SIZE) {
    let j = j0 + idx / TILE_D_VEC4;
    let d = d0 + (idx % TILE_D_VEC4) * 4u;
    var value = vec4<f32>(0.0);
    if (j < params.length && d < params.dim) {
      let at = params.x_offset + b * params.x_stride_b + h * params.x_stride_h + j * params.x_stride_s + d;
      value = load_x4(at, params.dim - d);
    }
    x_tile[idx] = value;
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn linformer_project(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let wid = wg.x + wg.y * params.groups_x;
  if (wid >= params.workgroups) { return; }
  let d_tile = wid % params.d_tiles;
  let p_tile_index = (wid / params.d_tiles) % params.p_tiles;
  let bh = wid / (params.d_tiles * params.p_tiles);
  let p0 = p_tile_index * TILE_P;
  let d0 = d_tile * TILE_D_VEC4 * 4u;
  let rp = tid / TILE_D_VEC4;
  let d4 = tid % TILE_D_VEC4;
  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);
  for (var j0 = 0u; j0 < params.length; j0 += TILE_J) {
    load_tiles(bh, p0, d0, j0, tid);
    workgroupBarrier();
    let row = 4u * rp * (TILE_J + 1u);
    for (var j = 0u; j < TILE_J; j++) {
      let xv = x_tile[j * TILE_D_VEC4 + d4];
      a0 += p_tile[row + j] * xv;
      a1 += p_tile[row + (TILE_J + 1u) + j] * xv;
      a2 += p_tile[row + 2u * (TILE_J + 1u) + j] * xv;
      a3 += p_tile[row + 3u * (TILE_J + 1u) + j] * xv;
    }
    workgroupBarrier();
  }
  let acc = array<vec4<f32>, 4>(a0, a1, a2, a3);
  let d = d0 + d4 * 4u;
  for (var r = 0u; r < 4u; r++) {
    let p = p0 + 4u * rp + r;
    if (p < params.rank && d < params.dim) {
      let at = (bh * params.rank + p) * params.dim + d;
      for (var c = 0u; c < min(params.dim - d, 4u); c++) { out[at + c] = acc[r][c]; }
    }
  }
}
