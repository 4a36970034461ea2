// sdpa-merge.wgsl — the second pass of split-K (flash decoding) for sdpa.wgsl: combines the partial
// results of the kv_splits workgroups that shared one block's key tiles, exactly.
//
// Split s of row r (r = (b·Hq + h)·Lq + i) left an unnormalised output O_s = Σ_j exp(s_j − m_s)·v_j
// over its keys, its running max m_s and sum l_s = Σ_j exp(s_j − m_s). With M = max_s m_s:
//   out = Σ_s exp(m_s − M)·O_s / L,   L = Σ_s exp(m_s − M)·l_s,   lse = M + ln L.
// A split that saw no key has m_s = −∞ and l_s = 0 and contributes nothing; a row with no key in
// any split outputs zeros and lse −∞. While every m_s is −∞, 0 is subtracted instead of M, so −∞ − (−∞)
// never makes a NaN; a NaN in a split (a NaN or +∞ logit) reaches the row: exp of a NaN need not
// be NaN on every device, so it is carried by its bits, as in sdpa.wgsl.
//
// One invocation per output element (r, c); the flat index is folded over x and y (groups_x).
// No workgroup memory. Index legend as in sdpa.wgsl; the output goes to
// o_offset + b·o_stride_b + h·o_stride_h + i·o_stride_s + c, the lse (WRITE_LSE) to [B, Hq, Lq] from
// element lse_offset.

override WORKGROUP_SIZE: u32 = 256;
override WRITE_LSE: bool = false;

const LOG2E: f32 = 1.4426950408889634;

struct SdpaMergeParams {
  rows: u32,            // B·Hq·Lq
  q_heads: u32,
  q_len: u32,
  value_dim: u32,
  kv_splits: u32,
  groups_x: u32,
  minus_infinity: f32,  // −∞, from the host: WGSL has no literal for it
  o_offset: u32, o_stride_b: u32, o_stride_h: u32, o_stride_s: u32,
  lse_offset: u32,      // element of lse where row 0's log-sum-exp goes
}

@group(0) @binding(0) var<uniform> params: SdpaMergeParams;
@group(0) @binding(1) var<storage, read> partial_out: array<f32>;    // [row][split][Dv]
@group(0) @binding(2) var<storage, read> partial_stats: array<f32>;  // [row][split][max, sum]
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;       // [B, Hq, Lq]

fn is_nan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

// exp2((x − shift)·log₂e), NaN kept (see the header).
fn rescale(x: f32, shift: f32) -> f32 {
  let d = x - shift;
  return select(exp2(d * LOG2E), d, is_nan(d));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sdpa_merge(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let index = (wg.x + wg.y * params.groups_x) * WORKGROUP_SIZE + lid;
  if (index >= params.rows * params.value_dim) { return; }
  let row = index / params.value_dim;
  let c = index % params.value_dim;
  let first = row * params.kv_splits;
  var peak = params.minus_infinity;
  for (var s = 0u; s < params.kv_splits; s++) { peak = max(peak, partial_stats[(first + s) * 2u]); }
  let shift = select(peak, 0.0, peak == params.minus_infinity);
  var sum = 0.0;
  var acc = 0.0;
  for (var s = 0u; s < params.kv_splits; s++) {
    let m = partial_stats[(first + s) * 2u];
    let l = partial_stats[(first + s) * 2u + 1u];
    // A split with no key (m = −∞, l = 0, O = 0) adds nothing; its weight is exp2(−∞) = 0.
    let w = select(rescale(m, shift), 0.0, l == 0.0 && m == params.minus_infinity);
    sum += w * l;
    acc += w * partial_out[(first + s) * params.value_dim + c];
  }
  var value = select(acc / sum, 0.0, sum == 0.0);
  value = select(value, sum, is_nan(sum));
  let i = row % params.q_len;
  let bh = row / params.q_len;
  let h = bh % params.q_heads;
  let b = bh / params.q_heads;
  out[params.o_offset + b * params.o_stride_b + h * params.o_stride_h + i * params.o_stride_s + c] = value;
  if (WRITE_LSE && c == 0u) {
    var total = select(shift + log(sum), params.minus_infinity, sum == 0.0);
    total = select(total, sum, is_nan(sum));
    lse[params.lse_offset + row] = total;
  }
}
