/**
 * One multi-head-attention spec through the GPU layer and reference.multiHeadAttention: the output
 * [B, L, E] and (needWeights) the weights must agree.
 */
import fc from 'fast-check';
import {
  reference,
  type GpuMask,
  type GpuTensor,
  type HostResult,
  type MhaConfig,
  type MhaOutputs,
  type ReferenceMhaConfig,
  type ReferenceMhaOptions,
  type ReferenceMhaOutputs,
} from '../../../src/index';
import { assertAllAgree, compare, type Verdict } from './compare';
import { mhaHostCase, type MhaHostCase, type MhaSpec } from './mha-spec';
import { Scratch, take, type World } from './world';

type Host = { data: Float32Array | Uint8Array; shape: readonly number[] };
const isHost = (v: unknown): v is Host =>
  typeof v === 'object' && v !== null && 'data' in v && ArrayBuffer.isView((v as Host).data);

/** The host case with every host tensor uploaded (booleans as GpuMask). */
export function uploadMha(scratch: Scratch, c: MhaHostCase) {
  const up = (t: Host): GpuTensor | GpuMask => scratch.upload(t.data, t.shape);
  const weights = Object.fromEntries(Object.entries(c.config.weights).map(([n, t]) => [n, up(t)]));
  const config = { ...c.config, weights } as unknown as MhaConfig;
  const options = Object.fromEntries(Object.entries(c.options).map(([n, v]) => [n, isHost(v) ? up(v) : v]));
  const x = up(c.x) as GpuTensor;
  return { config, x, options };
}

export function describeMha(c: MhaHostCase, s: unknown): string {
  const shapes = (o: Record<string, unknown>) =>
    Object.entries(o)
      .map(([n, v]) =>
        isHost(v) ? `${n} [${v.shape}]${v.data instanceof Uint8Array ? ' bool' : ''}` : `${n} ${fc.stringify(v)}`,
      )
      .join(', ');
  const { weights, ...config } = c.config;
  return `multiHeadAttention ${fc.stringify(config)} weights { ${shapes(weights)} }\n  forward(x [${c.x.shape}], { ${shapes(c.options)} })\n  spec ${fc.stringify(s)}`;
}

export async function checkMha(w: World, s: MhaSpec): Promise<void> {
  const c = mhaHostCase(s);
  const layer = reference.multiHeadAttention(c.config as unknown as ReferenceMhaConfig);
  const want = layer.forward(c.x, c.options as ReferenceMhaOptions) as HostResult | ReferenceMhaOutputs;
  const wantOut = 'output' in want ? want.output : want;
  const wantWeights = 'output' in want ? want.weights : undefined;
  const line = describeMha(c, s);
  const scratch = new Scratch(w.attn);
  let got: { output: Float32Array; weights?: Float32Array };
  try {
    const u = uploadMha(scratch, c);
    const gpuLayer = w.attn.multiHeadAttention(u.config);
    try {
      const r = gpuLayer.forward(u.x, u.options) as GpuTensor | MhaOutputs;
      got =
        'output' in r ? { output: await take(r.output), weights: await take(r.weights) } : { output: await take(r) };
    } finally {
      gpuLayer.destroy();
    }
  } catch (error) {
    throw new Error(`${line}\n  the GPU layer threw: ${String(error)}`);
  } finally {
    scratch.destroy();
  }
  const verdicts: Record<string, Verdict | undefined> = {
    output: compare(got.output, wantOut.data, wantOut.shape, ['b', 'l', 'e']),
  };
  if (wantWeights) {
    const axes = wantWeights.shape.length === 3 ? ['b', 'l', 'j'] : ['b', 'h', 'l', 'j'];
    verdicts.weights = got.weights
      ? compare(got.weights, wantWeights.data, wantWeights.shape, axes)
      : { ok: false, count: 1, first: [{ index: -1, where: ' (missing)', got: NaN, expected: NaN }] };
  }
  assertAllAgree(line, verdicts);
}
