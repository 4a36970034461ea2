/**
 * Node GPU ring for the paged KV cache (`attn.pagedKvCache`, `attn.sdpaPaged`): sequences that
 * grow in turns (so their pages interleave in the pool), are removed and give pages that others
 * reuse; every step's attention through the page tables equal, bit for bit, to `attn.sdpa` on the
 * same tokens laid out contiguously (same plan, same arithmetic: only the addresses differ), and
 * within tolerance of the float64 reference; split-K over a long sequence, GQA, bshd, lse, an empty
 * sequence, f16 pools; every bad input an AttentionError with the cache unchanged and nothing
 * submitted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAttention,
  reference,
  roundF16,
  type AttentionContext,
  type GpuTensor,
  type HostTensor,
  type PagedKvCache,
} from '../../src/index';
import { compareArrays } from '../helpers/compare';
import { tokens } from '../helpers/kv-cache';
import { nodeGpu } from '../helpers/node-gpu';
import { expectRejectedOn } from '../helpers/rejections';
import { random } from '../mha-cases';

let attn: AttentionContext;
let submits = 0;
beforeAll(async () => {
  attn = await createAttention({ gpu: await nodeGpu() });
  attn.runtime.onSubmit = () => submits++;
});
afterAll(() => attn?.destroy());

type Dtype = 'f32' | 'f16';
const upload = (t: HostTensor, dtype: Dtype = 'f32') => attn.tensor(t.data as Float32Array, [...t.shape], { dtype });

/** Row b of x [B, H, L, D] as [1, H, L, D]. */
function row(x: HostTensor, b: number): HostTensor & { data: Float32Array } {
  const [, H, L, D] = x.shape;
  const n = H * L * D;
  return { data: Float32Array.from(x.data).slice(b * n, (b + 1) * n), shape: [1, H, L, D] };
}

/** [1, H, L, D] (bhsd) as [1, L, H, D] (bshd). */
function toBshd(x: HostTensor): HostTensor & { data: Float32Array } {
  const [, H, L, D] = x.shape;
  const data = new Float32Array(H * L * D);
  for (let h = 0; h < H; h++)
    for (let l = 0; l < L; l++)
      for (let d = 0; d < D; d++) data[(l * H + h) * D + d] = x.data[(h * L + l) * D + d] as number;
  return { data, shape: [1, L, H, D] };
}

/** Host rows stacked: [B, H, L, D] from B tensors [1, H, L, D]. */
function stack(parts: HostTensor[]): HostTensor & { data: Float32Array } {
  const [, H, L, D] = parts[0].shape;
  const data = new Float32Array(parts.length * H * L * D);
  parts.forEach((p, b) => data.set(p.data as ArrayLike<number>, b * H * L * D));
  return { data, shape: [parts.length, H, L, D] };
}

/** A sequence's whole key and value streams, and how much of them the cache holds. */
interface Stream {
  id: number;
  k: HostTensor & { data: Float32Array };
  v: HostTensor & { data: Float32Array };
  held: number;
}

function newStream(cache: PagedKvCache, name: string, L: number, dtype: Dtype): Stream {
  const round = (t: HostTensor & { data: Float32Array }) =>
    dtype === 'f16' ? { ...t, data: t.data.map(roundF16) } : t;
  const k = round(random(`${name} k`, [1, cache.kvHeads, L, cache.headDim], 2));
  const v = round(random(`${name} v`, [1, cache.kvHeads, L, cache.valueDim]));
  return { id: cache.addSequence(), k, v, held: 0 };
}

/** Appends n tokens to each stream in one call. */
function appendAll(cache: PagedKvCache, streams: Stream[], n: number, dtype: Dtype): void {
  const part = (s: Stream, which: 'k' | 'v') => tokens(s[which], s.held, s.held + n);
  const [k, v] = [
    upload(stack(streams.map((s) => part(s, 'k'))), dtype),
    upload(stack(streams.map((s) => part(s, 'v'))), dtype),
  ];
  cache.append(
    streams.map((s) => s.id),
    k,
    v,
  );
  [k, v].forEach((t) => t.destroy());
  streams.forEach((s) => (s.held += n));
}

/**
 * sdpaPaged over the streams with q [B, Hq, Lq, D], against sdpa on each row's tokens held
 * contiguously (bit for bit) and the float64 reference.
 */
async function checkStep(cache: PagedKvCache, streams: Stream[], Hq: number, Lq: number, dtype: Dtype, what: string) {
  const q = random(`${what} q`, [streams.length, Hq, Lq, cache.headDim]);
  const qT = upload(q);
  const options = { causal: true, alignment: 'lower-right' as const };
  const { output, lse } = attn.sdpaPaged(qT, cache, {
    sequences: streams.map((s) => s.id),
    ...options,
    returnLse: true,
  });
  const [got, gotLse] = [await output.read(), await lse.read()];
  const rowOut = cache.valueDim * Hq * Lq;
  for (const [b, s] of streams.entries()) {
    const [k, v] = [tokens(s.k, 0, s.held), tokens(s.v, 0, s.held)];
    const qRow = row(q, b);
    const [qb, kb, vb] = [upload(qRow), upload(k, dtype), upload(v, dtype)];
    const plain = attn.sdpa(qb, kb, vb, { ...options, returnLse: true });
    const gotRow = got.subarray(b * rowOut, (b + 1) * rowOut);
    expect(gotRow, `${what}: row ${b} equals sdpa on contiguous K/V`).toEqual(await plain.output.read());
    expect(gotLse.subarray(b * Hq * Lq, (b + 1) * Hq * Lq)).toEqual(await plain.lse.read());
    const ref = reference.sdpa(qRow, k, v, options);
    const r = compareArrays(gotRow, ref.data);
    expect(r.ok, `${what}: row ${b} vs reference: ${r.message}`).toBe(true);
    [qb, kb, vb, plain.output, plain.lse].forEach((t) => t.destroy());
  }
  [qT, output, lse].forEach((t) => t.destroy());
}

describe('paged attention equals contiguous attention', () => {
  for (const dtype of ['f32', 'f16'] as const) {
    it(`${dtype}: four sequences growing in turns (pages interleave), removal and reuse, GQA 8/2, Lq 1 and 5`, async () => {
      const cache = attn.pagedKvCache({ kvHeads: 2, headDim: 32, valueDim: 16, pageSize: 8, numPages: 64, dtype });
      const streams = ['a', 'b', 'c', 'd'].map((name) => newStream(cache, `${dtype} ${name}`, 200, dtype));
      appendAll(cache, [streams[0]], 13, dtype);
      appendAll(cache, [streams[1], streams[2]], 9, dtype);
      appendAll(cache, streams, 1, dtype);
      appendAll(cache, [streams[3], streams[0]], 20, dtype);
      await checkStep(cache, streams, 8, 1, dtype, `${dtype} decode`);
      await checkStep(cache, [streams[2], streams[0]], 8, 5, dtype, `${dtype} Lq 5`);
      // The tables interleave: a's pages are not one run.
      const table = cache.pageTable(streams[0].id);
      expect(table.length).toBe(Math.ceil(streams[0].held / 8));
      expect(table.some((p, i) => i > 0 && p !== table[i - 1] + 1)).toBe(true);
      // b's pages go back and e takes them.
      const free = cache.freePages;
      const bPages = cache.pageTable(streams[1].id);
      cache.removeSequence(streams[1].id);
      expect(cache.freePages).toBe(free + bPages.length);
      const e = newStream(cache, `${dtype} e`, 200, dtype);
      appendAll(cache, [e], 16, dtype); // two pages: b's two
      expect(cache.pageTable(e.id).every((p) => bPages.includes(p))).toBe(true);
      await checkStep(cache, [e, streams[3], streams[0]], 8, 1, dtype, `${dtype} after reuse`);
      cache.destroy();
    });
  }

  it('a long sequence decodes with split-K (Lk 3000, one query) beside a short one, and an empty one gives zeros and −∞', async () => {
    const cache = attn.pagedKvCache({ kvHeads: 1, headDim: 64, pageSize: 16, numPages: 200 });
    const long = newStream(cache, 'long', 3000, 'f32');
    const short = newStream(cache, 'short', 40, 'f32');
    appendAll(cache, [long], 1500, 'f32');
    appendAll(cache, [long, short], 3, 'f32');
    appendAll(cache, [long], 1497, 'f32');
    await checkStep(cache, [long, short], 4, 1, 'f32', 'split');
    const empty = cache.addSequence();
    const q = upload(random('empty q', [1, 4, 2, 64]));
    const { output, lse } = attn.sdpaPaged(q, cache, { sequences: [empty], returnLse: true });
    expect(Array.from(await output.read()).every((x) => x === 0)).toBe(true);
    expect(Array.from(await lse.read()).every((x) => x === -Infinity)).toBe(true);
    [q, output, lse].forEach((t) => t.destroy());
    cache.destroy();
  });

  it('q in layout bshd, ALiBi and a window, against sdpa on contiguous tokens', async () => {
    const cache = attn.pagedKvCache({ kvHeads: 2, headDim: 16, pageSize: 4, numPages: 40 });
    const [s0, s1] = [newStream(cache, 'w0', 60, 'f32'), newStream(cache, 'w1', 60, 'f32')];
    appendAll(cache, [s0, s1], 30, 'f32');
    appendAll(cache, [s1], 21, 'f32');
    const options = {
      causal: true,
      alignment: 'lower-right' as const,
      window: { left: 7, right: 0 },
      alibiSlopes: [0.5, 0.25, 0.125, 0.0625],
    };
    const q = random('bshd q', [2, 3, 4, 16]); // [B, Lq, Hq, D]
    const qT = upload(q);
    const o = attn.sdpaPaged(qT, cache, { sequences: [s0.id, s1.id], layout: 'bshd', ...options });
    expect(o.shape).toEqual([2, 3, 4, 16]);
    const got = await o.read();
    for (const [b, s] of [s0, s1].entries()) {
      const qb = upload(row(q, b));
      const [kb, vb] = [upload(toBshd(tokens(s.k, 0, s.held))), upload(toBshd(tokens(s.v, 0, s.held)))];
      const plain = attn.sdpa(qb, kb, vb, { ...options, layout: 'bshd' });
      expect(got.subarray(b * 192, (b + 1) * 192)).toEqual(await plain.read());
      [qb, kb, vb, plain].forEach((t) => t.destroy());
    }
    [qT, o].forEach((t) => t.destroy());
    cache.destroy();
  });
});

describe('bad input to the paged cache', () => {
  /** An AttentionError on `argument`; free pages, lengths and submissions as before. */
  function expectRefused(cache: PagedKvCache, call: () => unknown, argument: string, ...fragments: string[]) {
    const before = [cache.freePages, cache.sequences.map((id) => cache.length(id)), submits];
    expectRejectedOn(attn, call, argument, ...fragments);
    expect([cache.freePages, cache.sequences.map((id) => cache.length(id)), submits]).toEqual(before);
  }

  it('refuses bad options, ids, shapes, dtypes, a full pool and sdpa options it cannot honour', () => {
    expectRejectedOn(
      attn,
      () => attn.pagedKvCache({ kvHeads: 2, headDim: 8, pageSize: 0, numPages: 4 }),
      'options.pageSize',
    );
    expectRejectedOn(
      attn,
      () => attn.pagedKvCache({ kvHeads: 2, headDim: 7, pageSize: 4, numPages: 4, dtype: 'f16' }),
      'options.headDim',
      'even',
    );
    const cache = attn.pagedKvCache({ kvHeads: 2, headDim: 8, pageSize: 4, numPages: 3 });
    const a = cache.addSequence();
    const b = cache.addSequence();
    const kv = (n: number, B = 1, dtype: Dtype = 'f32') => upload(random('bad', [B, 2, n, 8]), dtype);
    const [k1, v1] = [kv(5), kv(5)];
    cache.append([a], k1, v1); // two pages
    const q = upload(random('bad q', [1, 4, 1, 8]));
    const [k2, v2, k6, kHalf] = [kv(4, 2), kv(4, 2), kv(6), kv(5, 1, 'f16')];
    const qWide = upload(random('bad q6', [1, 4, 1, 6]));
    // a (5 tokens in 2 pages) would need a third page and b its first: 2 new pages, 1 free.
    expectRefused(cache, () => cache.append([a, b], k2, v2), 'k', 'free pages');
    expectRefused(cache, () => cache.append([a, a], k2, v2), 'sequences', 'distinct');
    expectRefused(cache, () => cache.append([7], k1, v1), 'sequences[0]', 'live sequence id');
    expectRefused(cache, () => cache.append([a], k1, k6), 'v', 'n = 5');
    expectRefused(cache, () => cache.append([a], kHalf, v1), 'k', 'f16 tensor for an f32 cache');
    expectRefused(cache, () => cache.append([a, b], k1, v1), 'k', '[2, 2, n, 8]');
    expectRefused(
      cache,
      () => attn.sdpaPaged(q, cache, { sequences: [a, b] }),
      'options.sequences',
      'one per batch row',
    );
    expectRefused(cache, () => attn.sdpaPaged(q, cache, { sequences: [9] }), 'options.sequences[0]');
    const withMask = { sequences: [a], mask: q } as unknown as { sequences: number[] };
    expectRefused(cache, () => attn.sdpaPaged(q, cache, withMask), 'options.mask');
    expectRefused(cache, () => attn.sdpaPaged(qWide, cache, { sequences: [a] }), 'q', 'head dim');
    expectRefused(cache, () => attn.sdpaPaged(q, {} as PagedKvCache, { sequences: [a] }), 'cache');
    [k1, v1, q, qWide, k2, v2, k6, kHalf].forEach((t: GpuTensor) => t.destroy());
    cache.destroy();
    expectRejectedOn(attn, () => cache.addSequence(), 'cache', 'destroyed');
  });
});
