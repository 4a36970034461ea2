/**
 * One sdpa spec through a GPU kernel (flash or naive) and through the float64 reference, compared
 * element by element (compare.ts); a mismatch throws with the spec, the shapes and the first
 * differing elements, so fast-check's shrunk counterexample explains itself.
 */
import fc from 'fast-check';
import { reference, type GpuMask, type GpuTensor, type SdpaNaiveResult, type SdpaOptions } from '../../../src/index';
import { assertAllAgree, compare, logitSlack, type Verdict } from './compare';
import { ruleSdpa } from './rule';
import { sdpaHostCase, type SdpaHostCase, type SdpaSpec } from './sdpa-spec';
import { Scratch, take, type World } from './world';

export type SdpaKernel = 'flash' | 'naive';

export interface SdpaResults {
  output: ArrayLike<number>;
  lse?: ArrayLike<number>;
  weights?: ArrayLike<number>;
}

/** Axis names of the output in a layout, of lse and of the weights. */
export function outputAxes(c: SdpaHostCase): string[] {
  return c.options.layout === 'bshd' ? ['b', 'i', 'h', 'd'] : ['b', 'h', 'i', 'd'];
}
const LSE_AXES = ['b', 'h', 'i'];
const WEIGHT_AXES = ['b', 'h', 'i', 'j'];

/** The GPU options of a host case: the mask uploaded, returnWeights only for the naive kernel. */
export function gpuOptions(c: SdpaHostCase, kernel: SdpaKernel, mask: GpuTensor | GpuMask | undefined): SdpaOptions {
  const { returnWeights, ...rest } = c.options;
  const extra = kernel === 'naive' ? (returnWeights ? { returnWeights } : {}) : c.tile ? { tile: c.tile } : {};
  return { ...rest, ...(mask ? { mask } : {}), ...extra };
}

/** q, k, v and the mask of a host case uploaded (wrapped in one app buffer when the case says so). */
export function uploadSdpa(scratch: Scratch, c: SdpaHostCase) {
  const [q, k, v, mask] = scratch.uploadAll([c.q, c.k, c.v, ...(c.mask ? [c.mask] : [])], c.wrapAt);
  return { q: q as GpuTensor, k: k as GpuTensor, v: v as GpuTensor, mask };
}

/** Runs the call on the GPU; returns what it produced (everything read back and destroyed). */
export async function gpuSdpa(w: World, kernel: SdpaKernel, c: SdpaHostCase): Promise<SdpaResults> {
  const scratch = new Scratch(w.attn);
  try {
    const { q, k, v, mask } = uploadSdpa(scratch, c);
    const options = gpuOptions(c, kernel, mask);
    const result = kernel === 'flash' ? w.attn.sdpa(q, k, v, options) : w.attn.sdpaNaive(q, k, v, options);
    if (!('output' in result)) return { output: await take(result) };
    const r = result as SdpaNaiveResult;
    return {
      output: await take(r.output),
      lse: r.lse && (await take(r.lse)),
      weights: r.weights && (await take(r.weights)),
    };
  } finally {
    scratch.destroy();
  }
}

/** The float64 reference for the same call. */
export function referenceSdpa(c: SdpaHostCase, kernel: SdpaKernel): SdpaResults {
  const options = { ...c.options, ...(c.mask ? { mask: c.mask } : {}) };
  if (kernel === 'flash') delete options.returnWeights;
  const r = reference.sdpa(c.q, c.k, c.v, options);
  if (!('output' in r)) return { output: r.data };
  return { output: r.output.data, lse: r.lse?.data, weights: r.weights?.data };
}

function shapes(c: SdpaHostCase) {
  const [B, Hq] = [c.q.shape[0], c.Hq];
  const bshd = c.options.layout === 'bshd';
  const [Lq, Lk] = [bshd ? c.q.shape[1] : c.q.shape[2], bshd ? c.k.shape[1] : c.k.shape[2]];
  const Dv = c.v.shape[3];
  return { out: bshd ? [B, Lq, Hq, Dv] : [B, Hq, Lq, Dv], lse: [B, Hq, Lq], weights: [B, Hq, Lq, Lk] };
}

/**
 * The conditioning allowance per element of each output (docs/semantics.md §10): rows whose logits
 * are large (masks of ±1e4 …) cannot meet the plain tolerance in float32, ours or PyTorch's.
 */
function slacks(c: SdpaHostCase) {
  const S = ruleSdpa(c).logitMagnitude;
  const bshd = c.options.layout === 'bshd';
  const [Hq, Dv] = [c.Hq, c.v.shape[3]];
  const [Lq, Lk] = bshd ? [c.q.shape[1], c.k.shape[1]] : [c.q.shape[2], c.k.shape[2]];
  const vMax = Math.max(0, ...Array.from(c.v.data, (x) => (Number.isFinite(x) ? Math.abs(x) : 0)));
  // The row (b·Hq + h)·Lq + i of an output element: bhsd tokens are rows already; bshd ones are (b·Lq + i)·Hq + h.
  const outputRow = (index: number) => {
    const token = Math.floor(index / Dv);
    if (!bshd) return token;
    const [b, i, h] = [Math.floor(token / (Lq * Hq)), Math.floor(token / Hq) % Lq, token % Hq];
    return (b * Hq + h) * Lq + i;
  };
  return {
    output: (index: number) => logitSlack(S[outputRow(index)], vMax),
    lse: (index: number) => logitSlack(S[index], 0.5),
    weights: (index: number) => logitSlack(S[Math.floor(index / Lk)], 1),
  };
}

/** Verdicts of results against expected ones (missing expected outputs are not compared). */
export function verdicts(c: SdpaHostCase, got: SdpaResults, want: SdpaResults): Record<string, Verdict | undefined> {
  const s = shapes(c);
  const slack = slacks(c);
  const missing = (name: string): Verdict => ({
    ok: false,
    count: 1,
    first: [{ index: -1, where: '', got: NaN, expected: NaN }],
  });
  const pair = (
    name: string,
    g: ArrayLike<number> | undefined,
    e: ArrayLike<number> | undefined,
    shape: number[],
    axes: string[],
    allowance: (index: number) => number,
  ) => (e === undefined ? undefined : g === undefined ? missing(name) : compare(g, e, shape, axes, 4, allowance));
  return {
    output: pair('output', got.output, want.output, s.out, outputAxes(c), slack.output),
    lse: pair('lse', got.lse, want.lse, s.lse, LSE_AXES, slack.lse),
    weights: pair('weights', got.weights, want.weights, s.weights, WEIGHT_AXES, slack.weights),
  };
}

/** What the §3 rule oracle says at the first differing output element (a hint in failure messages). */
function ruleHint(c: SdpaHostCase, v: Record<string, Verdict | undefined>): string {
  const first = v.output && !v.output.ok ? v.output.first[0] : undefined;
  if (!first || first.index < 0) return '';
  const rule = ruleSdpa(c);
  return `\n  (the §3 rule oracle, test/helpers/fuzz/rule.ts, gives output${first.where} = ${rule.output[first.index]})`;
}

/** Describes a case for a failure message: the spec and the shapes it made. */
export function caseLine(kernel: string, s: unknown, c: SdpaHostCase): string {
  const mask = c.mask ? ` mask ${c.mask.data instanceof Uint8Array ? 'bool' : 'float'} [${c.mask.shape}]` : '';
  const how = `${c.tile && kernel === 'flash' ? ` tile ${fc.stringify(c.tile)}` : ''}${c.wrapAt !== undefined ? ` (wrapped in one app buffer, wrapAt ${c.wrapAt})` : ''}`;
  return `${kernel}: q [${c.q.shape}] k [${c.k.shape}] v [${c.v.shape}]${mask} options ${fc.stringify(c.options)}${how}\n  spec ${fc.stringify(s)}`;
}

/** The property body: GPU and reference agree on every output the call returns. */
export async function checkSdpa(w: World, kernel: SdpaKernel, spec: SdpaSpec): Promise<void> {
  const c = sdpaHostCase(spec);
  const want = referenceSdpa(c, kernel);
  let got: SdpaResults;
  try {
    got = await gpuSdpa(w, kernel, c);
  } catch (error) {
    throw new Error(`${caseLine(kernel, spec, c)}\n  the GPU call threw: ${String(error)}`);
  }
  const v = verdicts(c, got, want);
  const bad = Object.values(v).some((x) => x && !x.ok);
  assertAllAgree(caseLine(kernel, spec, c) + (bad ? ruleHint(c, v) : ''), v);
}

/**
 * The reference itself against the rule oracle (rule.ts), on the CPU: the reference stands where the
 * GPU stands in the other properties, the oracle where the reference stands.
 */
export function checkReferenceRule(spec: SdpaSpec): void {
  const c = sdpaHostCase({ ...spec, returnLse: true, returnWeights: false });
  const ref = referenceSdpa(c, 'naive');
  const rule = ruleSdpa(c);
  const v = verdicts(c, ref, { output: rule.output, lse: rule.lse });
  assertAllAgree(
    `reference.sdpa (as "GPU") against the rule oracle (as "reference"):\n  ${caseLine('reference.sdpa', spec, c)}`,
    v,
  );
}
