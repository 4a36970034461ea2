/**
 * The Node ring's per-file context with tracked tensors: made before a file's tests and destroyed
 * after them; a tensor passed to `own` is destroyed after each test, which then checks that every
 * pooled buffer came back (a leak fails the test that made it).
 * @example
 * const tracked = trackedContext();
 * it('…', () => { const t = tracked.own(tracked.attn.tensor([1, 2], [2])); … });
 */
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { createAttention, type AttentionContext, type GpuTensor } from '../../src/index';
import { nodeGpu } from './node-gpu';

export interface TrackedContext {
  /** Set once the file's beforeAll hooks have started (this helper's runs first). */
  attn: AttentionContext;
  own<T extends GpuTensor>(tensor: T): T;
}

export function trackedContext(): TrackedContext {
  const made: GpuTensor[] = [];
  const tracked: TrackedContext = {
    attn: undefined as unknown as AttentionContext,
    own: (tensor) => (made.push(tensor), tensor),
  };
  beforeAll(async () => {
    tracked.attn = await createAttention({ gpu: await nodeGpu() });
  });
  afterAll(() => tracked.attn?.destroy());
  afterEach(() => {
    made.splice(0).forEach((t) => t.destroy());
    expect(tracked.attn.stats.liveBuffers, 'every buffer back in the pool').toBe(0);
  });
  return tracked;
}
