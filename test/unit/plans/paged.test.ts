/**
 * The paged cache's bookkeeping and plans without a device: pages handed out lowest first and only
 * when a sequence's last page is full, refused appends that change nothing, removal and reuse, the
 * copies an append makes (one per head and page touched, at the right bytes), and a flash plan per
 * batch row (split-K for a long sequence, one key for an empty one).
 */
import { describe, expect, it } from 'vitest';
import { PageBook, validatePagedAttentionOptions } from '../../../src/contract/paged';
import { AttentionError } from '../../../src/errors';
import { pageCopies, planPaged } from '../../../src/ops/paged/plan';
import { SWIFTSHADER } from '../../helpers/limits';

describe('PageBook', () => {
  it('hands out pages lowest first, a new one only when the last is full, and takes them back', () => {
    const book = new PageBook(6, 4);
    const [a, b] = [book.add(), book.add()];
    book.commit(book.planAppend([a], 5, 'k'), 5); // a: pages 0, 1
    book.commit(book.planAppend([a, b], 3, 'k'), 3); // a: 8 tokens, no new page; b: page 2
    book.commit(book.planAppend([b, a], 2, 'k'), 2); // b: 5 tokens → page 3; a: 10 → page 4
    expect([book.get('s', a).pages, book.get('s', b).pages]).toEqual([
      [0, 1, 4],
      [2, 3],
    ]);
    expect([book.get('s', a).length, book.get('s', b).length, book.freePages]).toEqual([10, 5, 1]);
    book.remove(a);
    expect(book.freePages).toBe(4);
    const c = book.add();
    book.commit(book.planAppend([c], 9, 'k'), 9);
    expect(book.get('s', c).pages).toEqual([0, 1, 4]);
    expect(c).toBe(2); // ids are never reused
  });

  it('refuses an append the free pages cannot hold, and changes nothing', () => {
    const book = new PageBook(2, 4);
    const [a, b] = [book.add(), book.add()];
    book.commit(book.planAppend([a], 4, 'k'), 4);
    expect(() => book.planAppend([a, b], 1, 'k')).toThrow(AttentionError);
    expect(() => book.planAppend([a, b], 1, 'k')).toThrow(/need 2 new pages.*at most 1/);
    expect([book.get('s', a).length, book.freePages]).toEqual([4, 1]);
    expect(() => book.checkIds('options.sequences', [a, a])).toThrow(/distinct/);
    expect(() => book.get('sequence', 7)).toThrow(/live sequence id/);
  });
});

describe('pageCopies', () => {
  it('one copy per head and page touched, at the byte where the token row lies', () => {
    // Two heads, pages of 4 rows of 2 f32; sequence at token 3 of page [5, 1] gets 3 tokens from batch row 1.
    const g = { kvHeads: 2, pageSize: 4, dim: 2, bytesPerElement: 4 };
    const copies = pageCopies([{ id: 0, row: 1, pages: [5, 1], from: 3 }], 3, 64, g);
    const row = 8; // bytes per token row
    const page = (p: number, h: number, slot: number) => ((p * 2 + h) * 4 + slot) * row;
    const source = (h: number, t: number) => 64 + ((1 * 2 + h) * 3 + t) * row;
    expect(copies).toEqual([
      { from: source(0, 0), to: page(5, 0, 3), bytes: row },
      { from: source(0, 1), to: page(1, 0, 0), bytes: 2 * row },
      { from: source(1, 0), to: page(5, 1, 3), bytes: row },
      { from: source(1, 1), to: page(1, 1, 0), bytes: 2 * row },
    ]);
  });
});

describe('planPaged', () => {
  it('plans each row for its own length: split-K for a long sequence and one query, one key for an empty one', () => {
    const book = new PageBook(300, 16);
    const [long, empty] = [book.add(), book.add()];
    book.commit(book.planAppend([long], 4000, 'k'), 4000);
    const dims = { B: 2, Hq: 8, Hkv: 2, Lq: 1, D: 64, Dv: 64 };
    const { rows } = validatePagedAttentionOptions({ sequences: [long, empty] }, book, dims);
    const steps = planPaged(rows, SWIFTSHADER);
    expect(rows.map((r) => r.dims.Lk)).toEqual([4000, 0]);
    expect(steps[0].flash.kvSplits).toBeGreaterThan(1);
    expect(steps[1].flash.kvSplits).toBe(1);
  });
});
