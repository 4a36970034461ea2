/**
 * A kernel that Tint (Dawn: Chromium, Node's `webgpu`) compiles and naga (wgpu: Firefox, Deno)
 * rejects: a helper that takes a `ptr<workgroup, …>` parameter. WGSL allows that under the
 * `unrestricted_pointer_parameters` language feature, which Dawn implements (it is in
 * `navigator.gpu.wgslLanguageFeatures`) and naga 29 does not ("Argument 'values' at index 0 is a
 * pointer of space WorkGroup, which can't be passed into functions"). The wgpu ring compiles it
 * through the same check as the library's shaders and expects that check to fail, and compiles it
 * on Dawn expecting success: so a library kernel written this way would fail the ring.
 */
export const TINT_ONLY_ID = 'tint-only.wgsl';

export const TINT_ONLY_KERNEL = /* wgsl */ `
// One workgroup sums 64 values of x through a workgroup tile; the reduction is a helper that
// takes the tile by pointer.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

var<workgroup> tile: array<f32, 64>;

fn tree_sum(values: ptr<workgroup, array<f32, 64>>, tid: u32) {
  for (var stride = 32u; stride > 0u; stride = stride / 2u) {
    if (tid < stride) {
      (*values)[tid] = (*values)[tid] + (*values)[tid + stride];
    }
    workgroupBarrier();
  }
}

@compute @workgroup_size(64)
fn tint_only_sum(@builtin(local_invocation_index) tid: u32) {
  tile[tid] = x[tid];
  workgroupBarrier();
  tree_sum(&tile, tid);
  if (tid == 0u) {
    out[0] = tile[0];
  }
}
`;
