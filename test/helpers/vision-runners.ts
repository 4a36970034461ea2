/**
 * Cases of attention over feature maps and of attention rollout for every ring (engine-neutral,
 * like case-runners.ts): the `everyEngine` cases of test/vision-cases.ts (squeeze-excitation,
 * spatial k = 3, CBAM in both layouts, rollouts with and without discard) through the library
 * under test against the float64 reference.
 */
import { reference } from '../../src/index';
import type { HostTensor } from '../../src/contract/types';
import { compare, guarded, summarise, type Attention, type Lib, type Runnable } from './case-runners';
import {
  ROLLOUT_CASES,
  rolloutInputs,
  rolloutOptions,
  VISION_CASES,
  visionExpected,
  visionInputs,
  type RolloutCase,
  type VisionCase,
} from '../vision-cases';

type Tensor = ReturnType<Attention['tensor']>;

function runVision(lib: Lib, attn: Attention, c: VisionCase) {
  return guarded(lib, c.name, async (own) => {
    const upload = (t: HostTensor) => own(attn.tensor(Float32Array.from(t.data as ArrayLike<number>), [...t.shape]));
    const onGpu = (options: Record<string, unknown>): Record<string, unknown> =>
      Object.fromEntries(
        Object.entries(options).map(([key, v]) => {
          if (v && typeof v === 'object' && 'data' in v) return [key, upload(v as HostTensor)];
          return [key, v && typeof v === 'object' ? onGpu(v as Record<string, unknown>) : v];
        }),
      );
    const inputs = visionInputs(c);
    const op = attn[c.op] as (x: Tensor, options: unknown) => Tensor;
    const out = own(op.call(attn, upload(inputs.x), onGpu(inputs.options)));
    return summarise(c.name, [compare('output', await out.read(), visionExpected(c, inputs).data)], undefined);
  });
}

function runRollout(lib: Lib, attn: Attention, c: RolloutCase) {
  return guarded(lib, c.name, async (own) => {
    const layers = rolloutInputs(c);
    const weights = layers.map((t) => own(attn.tensor(t.data, [...t.shape])));
    const out = own(attn.attentionRollout(weights, rolloutOptions(c)));
    const want = reference.attentionRollout(layers, rolloutOptions(c));
    return summarise(c.name, [compare('output', await out.read(), want.data)], undefined);
  });
}

/** The cross-engine cases of channel, spatial and CBAM attention and of rollout, names as in test/vision-cases.ts. */
export const visionRunnables = (): Runnable[] => [
  ...VISION_CASES.filter((c) => c.everyEngine).map((c) => ({
    name: c.name,
    run: (lib: Lib, attn: Attention) => runVision(lib, attn, c),
  })),
  ...ROLLOUT_CASES.filter((c) => c.everyEngine).map((c) => ({
    name: c.name,
    run: (lib: Lib, attn: Attention) => runRollout(lib, attn, c),
  })),
];
