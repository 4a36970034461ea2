/**
 * `attn.sdpa`: the tiled (flash) scaled-dot-product attention. validate → plan → encode.
 */
import type { GpuRuntime } from '../../gpu/runtime';
import { GpuTensor } from '../../tensor';
import { encodeFlash } from './encode';
import { chunkCalls, chunkDims, planCallChunks } from './chunked';
import { operandsOf } from './operands';
import { planSdpa, TOPK_MAX } from './plan';
import { tunedTile } from './tuning';
import type { SdpaDims } from '../../contract/sdpa';
import { sdpaNaive } from './sdpa-naive';
import { AttentionError } from '../../errors';
import { f16Tiles } from '../../gpu/kernel-features';
import { checkTile, validateAttentionCall, type SdpaOptions } from './validate';

/** What `attn.sdpa` returns with `returnLse: true`. */
export interface SdpaWithLse {
  output: GpuTensor;
  lse: GpuTensor;
}

/**
 * Runs the flash kernel. Returns the output, or `{ output, lse }` with `returnLse`.
 * @example
 * const o = sdpa(runtime, q, k, v, { causal: true });
 */
export function sdpa(
  runtime: GpuRuntime,
  q: unknown,
  k: unknown,
  v: unknown,
  options?: SdpaOptions,
): GpuTensor | SdpaWithLse {
  const call = validateAttentionCall(runtime, q, k, v, options);
  const tile = checkTile(options?.tile);
  const { variants } = call.options;
  // Top-k past the kernel's private lists runs on the materialised scores (refused where they cannot exist).
  if (variants.topK > TOPK_MAX) {
    const { tile: _tile, ...rest } = options ?? {};
    return sdpaNaive(runtime, q, k, v, rest) as GpuTensor | SdpaWithLse;
  }
  const limits = runtime.device.limits;
  const halfTiles = f16Tiles(
    runtime.features,
    [call.q, call.k, call.v].map((t) => t.dtype === 'f16'),
  );
  // Tensors past one binding run in chunks over batches or kv heads (chunks.ts), each planned here.
  const chunks = planCallChunks(operandsOf(call, { buffer: runtime.dummyOutput }), call.options.returnLse, limits);
  if (chunks.length > 1 && variants.blockMask) {
    throw new AttentionError(
      'options.blockMask',
      `a block mask on tensors past one buffer binding (${chunks.length} chunks)`,
      'tensors within maxStorageBufferBindingSize for block-sparse attention',
    );
  }
  // Without a tile of its own, the call takes its class's tuned tile (attn.tune), where that fits.
  const tuned = tile === undefined ? tunedTile(runtime, call.dims, call.options.causal) : undefined;
  const plan = (dims: SdpaDims) => {
    if (tuned) {
      try {
        return planSdpa(dims, limits, tuned, 'q', variants, halfTiles);
      } catch {
        // a tuned tile is a hint: the default plan below
      }
    }
    return planSdpa(dims, limits, tile, 'q', variants, halfTiles);
  };
  const plans = chunks.map((c) => plan(chunkDims(call.dims, c)));
  const { B, Hq, Lq, Dv } = call.dims;
  const { result, ready } = runtime.submit([call.q, call.k, call.v, call.mask?.mask], (scope) => {
    const out = scope.output(B * Hq * Lq * Dv * 4, 'sdpa output');
    const lse = call.options.returnLse ? scope.output(B * Hq * Lq * 4, 'sdpa lse') : null;
    const ops = operandsOf(call, out);
    const calls =
      chunks.length === 1 ? [{ ops, lse }] : chunkCalls(ops, lse, chunks, limits.minStorageBufferOffsetAlignment);
    const dispatches = calls.flatMap((c, n) => encodeFlash(runtime, c.ops, plans[n], c.lse));
    return { label: dispatches[0].pipeline.label, dispatches, result: { out, lse } };
  });
  const output = new GpuTensor(runtime, result.out.buffer, call.outputShape, 0, true, ready);
  if (!result.lse) return output;
  return { output, lse: new GpuTensor(runtime, result.lse.buffer, [B, Hq, Lq], 0, true, ready) };
}
