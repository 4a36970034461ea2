// lanes-single.wgsl — prelude: every invocation is a lane group of one (no subgroups: the device
// lacks them, or the context was made with `subgroups: false`). The workgroup-memory path of a
// kernel that reduces over lane groups; see lanes-subgroup.wgsl for the subgroup twin.
const LANES_ARE_SUBGROUPS: bool = false;

fn lanes_elect() -> bool {
  return true;
}

fn lanes_broadcast_first(x: u32) -> u32 {
  return x;
}

fn lanes_index() -> u32 {
  return 0u;
}

fn lanes_count() -> u32 {
  return 1u;
}

fn lanes_max(x: vec4<f32>) -> vec4<f32> {
  return x;
}

fn lanes_sum(x: vec4<f32>) -> vec4<f32> {
  return x;
}

