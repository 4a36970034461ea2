// lanes-subgroup.wgsl — prelude: a kernel's lane groups are the device's subgroups (feature
// `subgroups`). Prepended by src/shaders.ts (kernelSource) to a kernel that reduces over lane groups
// (sdpa.wgsl's row statistics); its twin lanes-single.wgsl makes every invocation a group of one.
//
// Nothing here assumes a subgroup size: the lane index and the group's size are counted over the
// invocations present (an exclusive and a full subgroup sum of 1), so every size a device may report
// (4 to 128, or a partial last subgroup when the workgroup is not a multiple of it) is handled alike.
// Callers keep every lane of a group on the same path up to each collective (their loops run on
// values broadcast from the group); WGSL's uniformity analysis works per workgroup and cannot see
// that: kernelSource() puts `enable subgroups;` and `diagnostic(off, subgroup_uniformity);` before
// this file (directives must open a module).

const LANES_ARE_SUBGROUPS: bool = true;

fn lanes_elect() -> bool {
  return subgroupElect();
}

fn lanes_broadcast_first(x: u32) -> u32 {
  return subgroupBroadcastFirst(x);
}

fn lanes_index() -> u32 {
  return subgroupExclusiveAdd(1u);
}

fn lanes_count() -> u32 {
  return subgroupAdd(1u);
}

fn lanes_max(x: vec4<f32>) -> vec4<f32> {
  return subgroupMax(x);
}

fn lanes_sum(x: vec4<f32>) -> vec4<f32> {
  return subgroupAdd(x);
}

