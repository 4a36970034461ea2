/**
 * The dispatches of a Linformer call: k' = E·k and v' = F·v into scratch of the submission
 * ([B, Hkv, r, D] and [B, Hkv, r, Dv], f32, bhsd), then the flash kernel on q and the projected
 * k', v' through the sdpa family's internal entry (encodeFlash on attention views). Call inside
 * `runtime.submit`; encodeFlash may take scratch of its own (a key split's partials).
 */
import type { GpuRuntime, KernelDispatch } from '../../gpu/runtime';
import { SHADERS } from '../../shaders';
import type { GpuTensor } from '../../tensor';
import { encodeFlash } from '../sdpa/encode';
import { layoutStrides, tensorView, type AttentionOperands, type AttentionView } from '../sdpa/operands';
import type { LinformerPlan, ProjectionPlan } from './plan';
import type { ValidatedGpuLinformer } from './validate';

/** out [B·H, r, dim] = P · x[b, h] for every (b, h) of the view x (H heads, L positions). */
function encodeProjection(
  runtime: GpuRuntime,
  x: AttentionView,
  projection: GpuTensor,
  out: GPUBufferBinding,
  sizes: { heads: number; rank: number; length: number; dim: number },
  plan: ProjectionPlan,
): KernelDispatch {
  const p = projection.binding();
  const pipeline = runtime.pipelines.get(SHADERS.linformer, 'linformer_project', {
    TILE_P: plan.tileP,
    TILE_J: plan.tileJ,
    TILE_D_VEC4: plan.tileDVec4,
    WORKGROUP_SIZE: plan.workgroupSize,
    X_F16: x.f16 === true,
    P_F16: projection.dtype === 'f16',
  });
  const uniforms = {
    ...sizes,
    p_tiles: plan.pTiles,
    d_tiles: plan.dTiles,
    workgroups: plan.workgroupCount,
    groups_x: plan.workgroups[0],
    x_offset: x.elementOffset,
    x_stride_b: x.strides[0],
    x_stride_h: x.strides[1],
    x_stride_s: x.strides[2],
    p_offset: p.elementOffset,
  };
  return { pipeline, uniforms, buffers: { x: x.resource, projection: p.resource, out }, workgroups: plan.workgroups };
}

/**
 * Both projections and the flash kernel's dispatches, writing the output (in the call's layout)
 * from element 0 of `out` and, with returnLse, [B, Hq, Lq] into `lse`.
 * @example
 * const dispatches = encodeLinformer(runtime, call, planLinformer(call.dims, limits), out, null);
 */
export function encodeLinformer(
  runtime: GpuRuntime,
  call: ValidatedGpuLinformer,
  plan: LinformerPlan,
  out: GPUBufferBinding,
  lse: GPUBufferBinding | null,
): KernelDispatch[] {
  const { dims, options } = call;
  const { B, Hq, Hkv, Lq, Lk: r, D, Dv } = dims;
  const projected = (dim: number) =>
    runtime.scope.scratch(B * Hkv * r * dim * 4, `linformer projected [${B}, ${Hkv}, ${r}, ${dim}]`);
  const [kp, vp] = [projected(D), projected(Dv)];
  const heads = { heads: Hkv, rank: r, length: call.keys };
  const ops: AttentionOperands = {
    dims,
    options,
    q: tensorView(call.q, options.layout),
    k: { resource: kp, elementOffset: 0, strides: layoutStrides('bhsd', Hkv, r, D) },
    v: { resource: vp, elementOffset: 0, strides: layoutStrides('bhsd', Hkv, r, Dv) },
    out: { resource: out, elementOffset: 0, strides: layoutStrides(options.layout, Hq, Lq, Dv) },
    mask: call.mask,
    keyPadding: null,
  };
  return [
    encodeProjection(runtime, tensorView(call.k, options.layout), call.projectK, kp, { ...heads, dim: D }, plan.keys),
    encodeProjection(
      runtime,
      tensorView(call.v, options.layout),
      call.projectV,
      vp,
      { ...heads, dim: Dv },
      plan.values,
    ),
    ...encodeFlash(runtime, ops, plan.flash, lse),
  ];
}
