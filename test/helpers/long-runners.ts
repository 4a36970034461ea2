/**
 * Cases of attention for long inputs for every ring (engine-neutral, like case-runners.ts): the
 * `everyEngine` cases of test/long-cases.ts, linear attention (both feature maps, causal, f16) and
 * Linformer (f32 and f16), through the library under test against the float64 reference.
 */
import { reference } from '../../src/index';
import type { HostTensor } from '../../src/contract/types';
import { compare, guarded, summarise, type Attention, type Comparison, type Lib, type Runnable } from './case-runners';
import {
  LINEAR_ATTENTION_CASES,
  linearAttentionInputs,
  linearAttentionOptions,
  LINFORMER_CASES,
  linformerExpected,
  linformerInputs,
  linformerOptions,
  type LinearAttentionCase,
  type LinformerCase,
} from '../long-cases';

const upload = (attn: Attention, t: HostTensor, dtype: 'f32' | 'f16' = 'f32') =>
  attn.tensor(Float32Array.from(t.data as ArrayLike<number>), [...t.shape], { dtype });

function runLinearAttention(lib: Lib, attn: Attention, c: LinearAttentionCase) {
  return guarded(lib, c.name, async (own) => {
    const inputs = linearAttentionInputs(c);
    const [q, k, v] = [inputs.q, inputs.k, inputs.v].map((t) => own(upload(attn, t, c.dtype)));
    const out = own(attn.linearAttention(q, k, v, linearAttentionOptions(c)));
    const want = reference.linearAttention(inputs.q, inputs.k, inputs.v, linearAttentionOptions(c));
    return summarise(c.name, [compare('output', await out.read(), want.data)], undefined);
  });
}

function runLinformer(lib: Lib, attn: Attention, c: LinformerCase) {
  return guarded(lib, c.name, async (own) => {
    const inputs = linformerInputs(c);
    const [q, k, v, projectK, projectV] = [inputs.q, inputs.k, inputs.v, inputs.projectK, inputs.projectV].map((t) =>
      own(upload(attn, t, c.dtype)),
    );
    const mask = inputs.mask && own(attn.mask(inputs.mask.data, inputs.mask.shape));
    const result = attn.linformer(q, k, v, { projectK, projectV, mask, ...linformerOptions(c) });
    const { output, lse } = 'output' in result ? result : { output: result, lse: undefined };
    [output, lse].forEach((t) => t && own(t));
    const want = linformerExpected(c, inputs);
    const comparisons: Comparison[] = [compare('output', await output.read(), want.output.data)];
    if (want.lse)
      comparisons.push(
        lse ? compare('lse', await lse.read(), want.lse.data) : { maxErr: Infinity, failure: 'lse: not returned' },
      );
    return summarise(c.name, comparisons, undefined);
  });
}

/** The cross-engine cases of linear attention and Linformer, names as in test/long-cases.ts. */
export const longInputRunnables = (): Runnable[] => [
  ...LINEAR_ATTENTION_CASES.filter((c) => c.everyEngine).map((c) => ({
    name: c.name,
    run: (lib: Lib, attn: Attention) => runLinearAttention(lib, attn, c),
  })),
  ...LINFORMER_CASES.filter((c) => c.everyEngine).map((c) => ({
    name: c.name,
    run: (lib: Lib, attn: Attention) => runLinformer(lib, attn, c),
  })),
];
